#!/usr/bin/env python3
"""The detectors' quality on ground truth (issue 6, docs/detectors.md).

For each built-in synth scenario: synthesize it, ingest it (the stream detectors run there), run
`darkscope detect` with each surge method, and set `darkscope events --json` against the scenario's
ground truth (NAME.truth.json). Prints, per scenario and method:

  recall    seeded events found / seeded events expected to be found (see EXPECTED below)
  in 1 h    of those found, how many with the detected start within one hour of the seeded start
  false     detected events that no seeded event explains, and that number per 30 days
  scans     scan events, and how many come from a source the truth lists as a prober

What explains a detection (the rules are deliberately plain, so that the figures can be checked by hand):
  - surge / new-service / dns-reflection: a seeded event (or, for worms, a population) whose window,
    widened by SLACK on each side, overlaps the detection's, and whose services or countries the
    detection's subject names ("23/TCP", "CN", "CN 23/TCP"; "53/UDP responses" names DNS responses);
  - backscatter: the subject is one of the seeded event's victims;
  - campaign: the subject is one of the seeded spoofed-DNS event's sources;
  - scan: the source is a prober in the truth (scanner, worm, DHT peer, DNS querier). Scans are what
    the background populations do, so they are counted apart, never as false events.
Seeded events that fall (shape ramp-down) are not expected: the surge detectors look for rises only.

Usage: bench/detect_eval.py [--bin build/release/darkscope] [--scale 1] [--scenarios demo,2014-02,...]
                            [--methods default,ewma,mad] [--work DIR] [--json OUT]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

SCENARIOS = ["demo", "2014-02", "2013Q1", "2024Q4", "2010Q2", "2016-11-dns"]
SLACK = timedelta(hours=1)
PROBER_ROLES = {"scanner", "worm", "bittorrent-peer", "dns-querier"}

# Seeded event kind -> detection kinds that find it.
EXPECTED = {
    "surge": {"surge", "new-service"},
    "new-service": {"new-service", "surge"},
    "scan": {"surge", "new-service"},
    "spoofed-dns": {"campaign"},
    "open-resolver": {"dns-reflection", "surge"},
    "dns-response": {"dns-reflection", "surge"},
    "backscatter": {"backscatter"},
    "water-torture": {"water-torture"},
    "worm": {"surge", "new-service"},
    "dht": {"surge", "new-service"},
}


def ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode not in (0, 3):
        sys.exit(f"detect_eval: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return r


def services_of(component):
    out = set()
    for key in component.get("breakdown", {}):
        first = key.split()[0]
        if "/" in first and first[0].isdigit():
            out.add(first)
        if key.startswith("source port "):
            out.add("53/UDP responses")
        for word in key.split():
            if "/" in word and word[0].isdigit():
                out.add(word)
    # Backscatter's ICMP errors are their own services.
    for key in component.get("breakdown", {}):
        if key.startswith("icmp-unreachable"):
            out.add("3/ICMP")
        if key.startswith("icmp-time-exceeded"):
            out.add("11/ICMP")
    if component.get("attacked_service"):
        out.add(component["attacked_service"])
    return out


def subject_matches(event, component):
    subject = event["subject"]
    services = services_of(component)
    countries = set(component.get("countries", {}))
    parts = subject.split(" ", 1)
    if subject in services:
        return True
    if subject == "53/UDP responses":
        return component["kind"] in ("open-resolver", "dns-response")
    if len(parts) == 1 and len(subject) == 2 and subject.isalpha():
        return subject in countries
    if len(parts) == 2 and len(parts[0]) == 2:
        return parts[0] in countries and parts[1] in services
    return False


def overlaps(event, component, slack):
    start, end = ts(component["window"]["start"]) - slack, ts(component["window"]["end"]) + slack
    return ts(event["start"]) < end and ts(event["end"]) >= start


def explains(event, component, slack):
    kind = event["kind"]
    if kind == "backscatter":
        return event["subject"] in component.get("victims", [])
    if kind == "campaign":
        return component["kind"] == "spoofed-dns" and event["subject"] in component.get("sources", [])
    if kind == "water-torture":
        return component["kind"] == "water-torture" and event["subject"] == component.get("zone") and \
            overlaps(event, component, slack)
    if kind in ("surge", "new-service", "dns-reflection"):
        # Any seeded event changes the series its services and countries are in (a DoS victim's country
        # rises with its backscatter); a background population does only where it begins or ends inside
        # the scenario.
        if component["type"] == "population" and not component.get("_bounded"):
            return False
    elif kind not in EXPECTED.get(component["kind"], set()):
        return False
    return overlaps(event, component, slack) and subject_matches(event, component)


def not_expected_reason(c, start, end):
    """Why a seeded event is outside what the detectors promise to find (docs/detectors.md), or None."""
    w0, w1 = ts(c["window"]["start"]), ts(c["window"]["end"])
    if c["shape"] == "ramp-down" or c["kind"] == "dht" and c["shape"] != "flat":
        return "a fall: the detectors look for rises"
    if c["shape"] == "flat" and w0 <= start and w1 >= end:
        return "steady from the first hour to the last: no change inside the scenario to detect"
    if c["kind"] == "backscatter":
        victims = max(1, len(c.get("victims", [])))
        peak = c["rate_per_hour"] / victims / 60
        if peak < 30:
            return f"backscatter of about {peak:.1f} packets/min per victim, below RS-DoS's 30 in a minute"
    if c["shape"] == "ramp-up" and w0 <= start:
        return "a trend from the first hour: no baseline before it (the report's comparison tables show it)"
    return None


def evaluate(truth, events):
    start, end = ts(truth["scenario"]["start"]), ts(truth["scenario"]["end"])
    months = max((end - start).days / 30.0, 1 / 30.0)
    probers = {s["address"] for s in truth["sources"] if s["role"] in PROBER_ROLES}
    components = truth["components"]
    for c in components:
        # A population changes inside the scenario where it begins or ends there, or where its shape moves
        # its rate (a daily factor table, a ramp, a spike): those rises are real, not false events.
        c["_bounded"] = (ts(c["window"]["start"]) > start or ts(c["window"]["end"]) < end
                         or c["shape"] not in ("flat",))
    seeded = [c for c in components if c["type"] == "event"]
    not_expected = {}
    for c in seeded:
        why = not_expected_reason(c, start, end)
        if why:
            not_expected[c["name"]] = why
    expected = [c for c in seeded if c["name"] not in not_expected]
    found, in_window, missed = [], 0, []
    for c in expected:
        hits = [e for e in events if e["kind"] in EXPECTED.get(c["kind"], set()) and explains(e, c, SLACK)]
        if not hits:
            # Daily series place an event on whole days: the window check below is what says how close.
            hits = [e for e in events if e["kind"] in EXPECTED.get(c["kind"], set()) and explains(e, c, timedelta(days=1))]
        if hits:
            first = min(hits, key=lambda e: ts(e["start"]))
            error = (ts(first["start"]) - ts(c["window"]["start"])).total_seconds()
            found.append({"event": c["name"], "kind": c["kind"], "detected_as": sorted({e["kind"] for e in hits}),
                          "detections": len(hits), "start_error_hours": round(error / 3600, 2)})
            in_window += abs(error) <= 3600
        else:
            missed.append({"event": c["name"], "kind": c["kind"], "window": c["window"]})
    false = []
    scans = [e for e in events if e["kind"] == "scan"]
    for e in events:
        if e["kind"] == "scan":
            continue
        if not any(explains(e, c, SLACK if e["kind"] != "surge" or "day" not in e["detector"] else timedelta(days=1))
                   for c in components):
            false.append({"kind": e["kind"], "subject": e["subject"], "start": e["start"], "detector": e["detector"]})
    unexpected = []
    for c in seeded:
        if c["name"] in not_expected:
            hit = any(e["kind"] in EXPECTED.get(c["kind"], set()) and explains(e, c, timedelta(days=1)) for e in events)
            unexpected.append({"event": c["name"], "why": not_expected[c["name"]], "found_anyway": hit})
    return {
        "not_expected": unexpected,
        "expected": len(expected), "found": len(found), "in_1h": in_window,
        "recall": round(len(found) / len(expected), 3) if expected else None,
        "false": len(false), "false_per_30_days": round(len(false) / months, 2),
        "scans": len(scans), "scans_by_probers": sum(e["subject"] in probers for e in scans),
        "events": len(events), "found_events": found, "missed": missed, "false_events": false,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "..", "build", "release", "darkscope"))
    ap.add_argument("--scale", default="1")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--methods", default="default,ewma,mad",
                    help="default: darkscope detect's own choice (hourly ewma and daily mad); ewma or mad: both "
                         "passes with that method")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--detect-args", default="", help="more arguments for darkscope detect, e.g. '--threshold 8'")
    ap.add_argument("--ingest-args", default="",
                    help="more arguments for darkscope ingest, e.g. '--detector-setting campaign.timeout=3600'")
    ap.add_argument("--work", help="keep captures and stores here (default: a temporary folder, removed)")
    ap.add_argument("--json", help="write every figure and every missed or false event here")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="detect-eval-")
    os.makedirs(work, exist_ok=True)
    results = []
    try:
        for name in args.scenarios.split(","):
            out = os.path.join(work, name)
            store = os.path.join(out, "store.db")
            if not os.path.exists(store):
                os.makedirs(out, exist_ok=True)
                # A capture already synthesized there is reused: only the store is made again.
                if not os.path.exists(os.path.join(out, f"{name}.truth.json")):
                    run([args.bin, "synth", "--scenario", name, "--scale", args.scale, "--out", out])
                t0 = time.time()
                run([args.bin, "ingest", "--quiet", "--threads", args.threads, "--store", store, "--sensors",
                     os.path.join(out, f"{name}.sensors.toml"), os.path.join(out, f"{name}.pcap")]
                    + args.ingest_args.split())
                ingest_s = time.time() - t0
            else:
                ingest_s = None
            truth = json.load(open(os.path.join(out, f"{name}.truth.json")))
            for method in args.methods.split(","):
                t0 = time.time()
                method_args = [] if method == "default" else ["--method", method]
                run([args.bin, "detect", "--store", store] + method_args + args.detect_args.split())
                detect_s = time.time() - t0
                events = json.loads(run([args.bin, "events", "--store", store, "--json"]).stdout)
                r = evaluate(truth, events)
                r.update({"scenario": name, "method": method, "scale": float(args.scale),
                          "ingest_seconds": ingest_s, "detect_seconds": round(detect_s, 2)})
                results.append(r)
                print(f"{name:12} {method:6} recall {r['found']}/{r['expected']}  in 1 h {r['in_1h']}/{r['found']}  "
                      f"false {r['false']} ({r['false_per_30_days']}/30 d)  scans {r['scans']} "
                      f"({r['scans_by_probers']} by probers)  detect {detect_s:.1f} s", flush=True)
                for m in r["not_expected"]:
                    print(f"    not expected: {m['event']}: {m['why']}{' (found anyway)' if m['found_anyway'] else ''}")
                for m in r["missed"]:
                    print(f"    missed: {m['event']} ({m['kind']}, {m['window']['start']} .. {m['window']['end']})")
                for f in r["false_events"][:8]:
                    print(f"    false: {f['kind']} {f['subject']} at {f['start']} ({f['detector']})")
                if len(r["false_events"]) > 8:
                    print(f"    ... {len(r['false_events']) - 8} more false events")
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
