#!/usr/bin/env python3
"""The HTML report renders in a real browser: headless Chromium opens it offline and draws every chart.

Usage:
  tests/e2e/report_render.py REPORT.html [--screenshot OUT.png] [--min-charts N] [--chromium PATH]

  REPORT.html   a page written by `darkscope report --format html` (src/report/html.cpp)
  --screenshot  also save a PNG of the first A4-sized screen (1240x1754) as a test artifact
  --min-charts  fail unless the page has at least N chart containers (default 1)

What it checks:
  1. the page names no external resource (no src/href to http(s):// or //, no @import, no url(http...)):
     the report must open offline;
  2. `chromium --headless --no-sandbox --disable-gpu --dump-dom --virtual-time-budget=5000 file://...` runs the
     page's scripts; the page itself records, on <body>, data-charts-expected and data-charts-rendered (set by
     its chart script once drawn) and data-errors (every window.onerror, the chart library's included); the
     test wants no error, rendered == expected >= --min-charts, and an <svg> inside every .chart-box
     (the charts use ECharts' SVG renderer); console errors on Chromium's stderr ("Uncaught ...") fail it too;
  3. with --screenshot, `--screenshot=OUT.png --window-size=1240,1754` saves what a reader sees.

Exit status: 0 passed; 1 a failure; 77 skipped: no Chromium (apt-get install chromium; scripts/setup.sh --test).
Python 3 standard library only. Not registered with CTest on its own: a test that writes a real report runs it.
"""
import argparse
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP = 77
BUDGET_MS = 5000
WINDOW = "1240,1754"  # A4 at 150 dpi
EXTERNAL = [
    re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I),
]


def find_chromium(explicit):
    if explicit:
        return explicit if Path(explicit).exists() or shutil.which(explicit) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DomCheck(html.parser.HTMLParser):
    """Finds <body>'s data attributes and whether each .chart-box holds an <svg>."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.body = {}
        self.boxes = []  # [id, has_svg]
        self.stack = []  # open elements: (tag, index into boxes or None)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        if tag == "svg":
            for _, box in self.stack:
                if box is not None:
                    self.boxes[box][1] = True
        if tag in self.VOID:
            return
        box = None
        if tag == "div" and "chart-box" in (attrs.get("class") or "").split():
            self.boxes.append([attrs.get("id") or attrs.get("data-chart") or "?", False])
            box = len(self.boxes) - 1
        self.stack.append((tag, box))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return


def chromium_run(chromium, profile, extra, url):
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--no-default-browser-check", f"--user-data-dir={profile}", f"--virtual-time-budget={BUDGET_MS}"]
    return subprocess.run(cmd + extra + [url], capture_output=True, text=True, timeout=180)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html")
    ap.add_argument("--screenshot")
    ap.add_argument("--min-charts", type=int, default=1)
    ap.add_argument("--chromium")
    args = ap.parse_args()

    page = Path(args.html).resolve()
    if not page.is_file():
        print(f"report_render: {page}: no such file", file=sys.stderr)
        return 1
    chromium = find_chromium(args.chromium)
    if not chromium:
        print("report_render: SKIP: no Chromium found (apt-get install chromium, or scripts/setup.sh --test)")
        return SKIP

    failures = []
    text = page.read_text(encoding="utf-8", errors="replace")
    for pattern in EXTERNAL:
        for m in pattern.finditer(text):
            failures.append(f"external resource at offset {m.start()}: {text[m.start():m.start() + 80]!r}")

    with tempfile.TemporaryDirectory(prefix="darkscope-chromium-") as profile:
        run = chromium_run(chromium, profile, ["--enable-logging=stderr", "--v=0", "--dump-dom"], page.as_uri())
        if run.returncode != 0:
            failures.append(f"chromium --dump-dom exited {run.returncode}: {run.stderr[-2000:]}")
        for line in run.stderr.splitlines():
            if "CONSOLE" in line and ("Uncaught" in line or "Error" in line):
                failures.append(f"console: {line.strip()}")
        dom = DomCheck()
        dom.feed(run.stdout)
        errors = dom.body.get("data-errors")
        expected = dom.body.get("data-charts-expected")
        rendered = dom.body.get("data-charts-rendered")
        if errors:
            failures.append(f"script errors recorded by the page: {errors}")
        if expected is None or rendered is None:
            failures.append("the chart script did not finish (no data-charts-expected/-rendered on <body>)")
        elif expected != rendered:
            failures.append(f"{rendered} of {expected} charts rendered")
        if len(dom.boxes) < args.min_charts:
            failures.append(f"{len(dom.boxes)} chart containers, fewer than --min-charts {args.min_charts}")
        for box_id, has_svg in dom.boxes:
            if not has_svg:
                failures.append(f"chart {box_id}: no <svg> inside")

        if args.screenshot:
            shot = Path(args.screenshot).resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            if shot.exists():
                shot.unlink()
            run = chromium_run(chromium, profile, [f"--screenshot={shot}", f"--window-size={WINDOW}"], page.as_uri())
            if run.returncode != 0 or not shot.is_file() or shot.stat().st_size == 0:
                failures.append(f"no screenshot written ({run.returncode}): {run.stderr[-1000:]}")

    for f in failures:
        print(f"report_render: FAIL: {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"report_render: ok: {rendered} charts drawn as SVG, no script error"
          + (f"; screenshot {args.screenshot}" if args.screenshot else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
