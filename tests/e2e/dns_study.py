#!/usr/bin/env python3
"""The DNS study (issue 8) end to end: `darkscope synth`, `ingest`, `probe import-resolvers` and `dns`.

Usage:
  tests/e2e/dns_study.py --binary build/release/darkscope [--data ../shared/data] [--work DIR] [--artifacts DIR]

What it checks:
  1. The 2016-11 scenario (seed 004's Table 4 as populations): with the truth's open/non-open verdicts imported,
     every cell of Table 4 (queries and responses per day, open and non-open) and of Table 3 (packets and unique
     sources per month) equals the ground truth; research scanners query too and are non-open, and
     --exclude-research takes out exactly the sources ingest labelled research.
  2. A name holding markup (a query for `<script>alert(1)</script>.evil.example`, in a capture this test
     writes) comes out escaped in every format: no raw `<script>` in the HTML or Markdown, none in the CSV,
     and the HTML page renders its charts in headless Chromium without errors (tests/e2e/report_render.py;
     skipped without Chromium).
  3. On the real DNS captures of ../shared/data, the query/response split equals tshark's
     dns.flags.response split of the same frames (UDP, reassembly off, as darkscope reads fragments).
     Without the data folder or tshark that part is skipped, and the exit status says so (77) if nothing
     else ran.

Exit status: 0 passed; 1 a failure; 77 skipped (only when no check could run).
"""
import argparse
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent
REAL_CAPTURES = [
    "pcap/attacks/stopddos__amp.dns.RRSIG.fragmented.pcap",
    "pcap/edge/ndpi__dns_fragmented.pcap",
    "pcap/edge/ndpi__malformed_dns.pcap",
    "pcap/edge/tcpdump__dns-badcookie.pcap",
    "pcap/edge/zeek__dns-corrupt.pcap",
    "pcap/edge/zeek__ipv6-fragmented-dns.pcap",
    "suricata-verify/dns__dns-rcode/input.pcap",
    "suricata-verify/dns-opcode/dns-notify.pcap",
]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}\n{p.stderr}")
    return p.stdout


def synth_tables(binary, work):
    cap = work / "dns16.pcap"
    run([binary, "synth", "--scenario", "2016-11-dns", "--quiet", "--out", cap])
    truth = json.loads((work / "dns16.truth.json").read_text())
    store = work / "dns16.db"
    run([binary, "ingest", "--quiet", "--sensors", work / "dns16.sensors.toml", "--store", store, cap])
    verdicts = work / "verdicts.csv"
    with verdicts.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["address", "status", "detail"])
        for s in truth["sources"]:
            w.writerow([s["address"], "open" if s["open_resolver"] else "not-open", "synth ground truth"])
    run([binary, "probe", "import-resolvers", "--store", store, verdicts])
    study = json.loads(run([binary, "dns", "--store", store, "--period", "2016-11", "--format", "json"]))

    comps = {c["name"]: c for c in truth["components"]}
    research = [c["name"] for c in truth["components"] if c["name"] not in
                ("query-non-open", "query-open", "response-non-open", "response-open")]
    columns = {"query_non_open": ["query-non-open"] + research, "query_open": ["query-open"],
               "response_non_open": ["response-non-open"], "response_open": ["response-open"]}
    bad = []
    for row in study["table4"]:
        for col, names in columns.items():
            want = sum(comps[n]["packets_by_day"].get(row["day"], 0) for n in names)
            if row[col] != want:
                bad.append(f"{row['day']} {col}: {row[col]} != {want}")
    check(len(study["table4"]) == 30 and not bad, f"2016-11 Table 4: 30 days x 4 cells equal the truth {bad[:3]}")

    senders = {}
    for s in truth["sources"]:
        if s["packets"]:
            senders.setdefault(s["component"], set()).add(s["address"])
    open_names = ["query-open", "response-open"]
    non_names = ["query-non-open", "response-non-open"] + research
    want3 = {"month": "2016-11",
             "open_total": sum(comps[n]["packets"] for n in open_names),
             "non_open_total": sum(comps[n]["packets"] for n in non_names),
             "open_unique": len(set().union(*(senders.get(n, set()) for n in open_names))),
             "non_open_unique": len(set().union(*(senders.get(n, set()) for n in non_names)))}
    check(study["table3"] == [want3], f"2016-11 Table 3 equals the truth: {study['table3']} vs {want3}")
    check(study["probes"]["not probed"] == 0 and study["totals"]["by_port"] == 0,
          "every DNS source has a verdict, every payload parsed")

    excluded = json.loads(run([binary, "dns", "--store", store, "--period", "2016-11", "--format", "json",
                               "--exclude-research"]))
    research_sources = set().union(*(senders.get(n, set()) for n in research))
    labelled = excluded["research"]["excluded_sources"]
    check(0 < labelled <= len(research_sources) and
          excluded["totals"]["packets"] + excluded["research"]["excluded_packets"] == study["totals"]["packets"],
          f"--exclude-research leaves out {labelled} of {len(research_sources)} research sources (the rest need "
          "reverse DNS) and nothing else")


def pcap_with_markup(path):
    """One DNS query whose first label holds markup, to an address of the implicit sensor."""
    name = [b"<script>alert(1)</script>", b"evil", b"example"]
    q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l for l in name) + b"\x00" + struct.pack("!HH", 1, 1)
    udp = struct.pack("!HHHH", 40000, 53, 8 + len(q), 0) + q
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([203, 0, 113, 9]), bytes([198, 51, 100, 1])) + udp
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for ts in (1478000000, 1478000030):
            f.write(struct.pack("<IIII", ts, 0, len(ip), len(ip)) + ip)


def markup_escaped(binary, work, artifacts):
    cap = work / "markup.pcap"
    pcap_with_markup(cap)
    store = work / "markup.db"
    run([binary, "ingest", "--quiet", "--store", store, cap])
    out = {}
    for fmt in ("html", "md", "text"):
        out[fmt] = run([binary, "dns", "--store", store, "--format", fmt])
    csv_dir = work / "markup-csv"
    run([binary, "dns", "--store", store, "--format", "csv", "-o", csv_dir])
    check("<script>alert" not in out["html"] and "&lt;script&gt;alert" in out["html"],
          "HTML: the name's markup is escaped")
    check("<script>alert" not in out["md"], "Markdown: the name's markup is escaped")
    check("<script>alert(1)</script>.evil.example" in out["text"], "text: the name is shown as parsed")
    zones = (csv_dir / "zones.csv").read_text()
    check("evil.example" in zones and "sources.csv" in os.listdir(csv_dir), "CSV: zones and sources written")
    # The report's DNS section lists the zones with their example names.
    report_html = run([binary, "report", "--store", store, "--period", "2016-11", "--format", "html"])
    report_md = run([binary, "report", "--store", store, "--period", "2016-11", "--format", "md"])
    check("<script>alert" not in report_html and "&lt;script&gt;alert(1)&lt;/script&gt;.evil.example" in report_html,
          "report HTML: the zone table's name is escaped")
    check("<script>alert" not in report_md and "evil.example" in report_md, "report Markdown: the name is escaped")
    page = work / "dns.html"
    page.write_text(out["html"])
    render = [sys.executable, HERE / "report_render.py", page, "--min-charts", "4"]
    if artifacts:
        render += ["--screenshot", Path(artifacts) / "dns-study.png"]
    p = subprocess.run([str(c) for c in render], capture_output=True, text=True)
    if p.returncode == SKIP:
        print("skip  HTML rendering: no Chromium")
    else:
        check(p.returncode == 0, f"HTML renders its charts in headless Chromium\n{p.stdout}{p.stderr}")


def real_split(binary, data, work):
    if not data.is_dir():
        print(f"skip  real captures: {data} is absent")
        return False
    tshark = shutil.which("tshark")
    if not tshark:
        print("skip  real captures: no tshark")
        return False
    ran = False
    for rel in REAL_CAPTURES:
        cap = data / rel
        if not cap.exists():
            print(f"skip  {rel}: absent")
            continue
        ran = True
        store = work / (cap.stem + ".db")
        subprocess.run([str(binary), "ingest", "--quiet", "--no-enrich", "--store", str(store), str(cap)],
                       capture_output=True, text=True)
        study = json.loads(run([binary, "dns", "--store", store, "--format", "json"])) if store.exists() else None
        fields = run([tshark, "-r", cap, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
                      "-Y", "udp.port == 53 && dns", "-T", "fields", "-e", "dns.flags.response"])
        values = [l.split(",")[0] for l in fields.split()]
        q, r = values.count("0") + values.count("False"), values.count("1") + values.count("True")
        got = (study["totals"]["queries"], study["totals"]["responses"]) if study else (0, 0)
        by_port = study["totals"]["by_port"] if study else 0
        # Frames tshark does not dissect as DNS at all are the ones darkscope splits by port.
        check(got == (q, r) or (by_port and got[0] + got[1] == q + r + by_port),
              f"{rel}: queries/responses {got} (by port {by_port}) vs tshark {(q, r)}")
    return ran


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--data", default=os.environ.get("DARKSCOPE_SHARED_DATA", str(HERE.parents[2] / "shared" / "data")))
    ap.add_argument("--work")
    ap.add_argument("--artifacts")
    args = ap.parse_args()
    binary = Path(args.binary).resolve()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="dns_study_"))
    work.mkdir(parents=True, exist_ok=True)
    synth_tables(binary, work)
    markup_escaped(binary, work, args.artifacts)
    real_split(binary, Path(args.data), work)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
