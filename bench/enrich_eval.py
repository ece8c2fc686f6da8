#!/usr/bin/env python3
"""Precision and recall of darkscope's per-source labels against synth's ground truth.

Writes a synthetic capture (`darkscope synth`, docs/synth.md, truth schema 1) unless --dir holds one, ingests it,
optionally resolves the sources' PTR names from a local dnsmasq loaded with the truth's `rdns` names (so that
reverse-DNS research labels are tested end to end, with no query leaving 127.0.0.x), and compares, per source:

  tag zmap-old       truth tool zmap-old
  tag masscan        truth tool masscan or masscan-mss
  tag mirai          truth tool mirai
  tag irregular-syn  truth tool zmap-old, zmap-new, masscan, masscan-mss or mirai (no options / TTL 255)
  tag bogon          none expected (synth never sends from reserved space)
  research           truth `research` set
  country            truth `country` (accuracy; synth's per-country blocks against the pinned data)

A tag needs 3 consistent packets (docs/enrichment.md#fingerprints; `summary --by source`, read here, decides on
the period's counts), and the SYN rules (masscan, mirai, irregular-syn) count TCP SYN probes only: recall is printed
over every labelled source and over the "eligible" ones, which sent at least 3 packets the rule applies to (truth
`syn_probes` for the SYN rules, `packets` for zmap-old, whose IP ID is on every packet). Exits 0 when every
precision and eligible recall is >= 0.99.

  bench/enrich_eval.py --binary build/release/darkscope [--synth-binary PATH] [--scenario demo] [--rdns]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--binary", required=True, help="darkscope with enrichment")
ap.add_argument("--synth-binary", help="darkscope with `synth` (default: --binary)")
ap.add_argument("--scenario", default="demo")
ap.add_argument("--seed", type=int)
ap.add_argument("--scale", type=float, help="synth --scale (packet volume factor)")
ap.add_argument("--dir", help="working folder (default: a temporary one); reuses a capture already there")
ap.add_argument("--rdns", action="store_true", help="also resolve PTR names from a local dnsmasq (127.0.0.x)")
ap.add_argument("--threshold", type=float, default=0.99)
args = ap.parse_args()

work = args.dir or tempfile.mkdtemp(prefix="darkscope-enrich-eval-")
os.makedirs(work, exist_ok=True)
name = os.path.splitext(os.path.basename(args.scenario))[0]
capture = os.path.join(work, name + ".pcap")
truth_path = os.path.join(work, name + ".truth.json")
sensors = os.path.join(work, name + ".sensors.toml")
if not os.path.exists(truth_path):
    cmd = [args.synth_binary or args.binary, "synth", "--scenario", args.scenario, "--out", work, "-q"]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if args.scale is not None:
        cmd += ["--scale", str(args.scale)]
    if subprocess.run(cmd).returncode != 0:
        sys.exit("enrich_eval: synth failed (is `synth` in this binary? give --synth-binary)")
truth = json.load(open(truth_path))
if truth.get("schema") != 1:
    sys.exit(f"enrich_eval: truth schema {truth.get('schema')}, this script reads schema 1")

store = os.path.join(work, "eval.db")
for suffix in ("", "-wal", "-shm"):
    if os.path.exists(store + suffix):
        os.remove(store + suffix)
t0 = time.time()
subprocess.run([args.binary, "ingest", "-q", "--no-progress", "--sensors", sensors, "--store", store, capture],
               check=True)
print(f"ingested {capture} in {time.time() - t0:.1f} s")

if args.rdns:
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not os.path.exists(dnsmasq):
        sys.exit("enrich_eval: --rdns needs dnsmasq (Debian dnsmasq-base)")
    import ipaddress
    records = [f"--ptr-record={ipaddress.ip_address(s['address']).reverse_pointer},{s['rdns']}"
               for s in truth["sources"] if s.get("rdns")]
    address, port = "127.0.0.%d" % (100 + os.getpid() % 100), 20000 + os.getpid() % 20000
    resolver = subprocess.Popen([dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                                 "--no-hosts", "--no-poll", "--bind-interfaces", f"--listen-address={address}",
                                 f"--port={port}", "--pid-file", "--user=root", *records])
    try:
        time.sleep(0.5)
        subprocess.run([args.binary, "enrich", "rdns", "--store", store, "--resolver", f"{address}:{port}",
                        "--rate", "2000", "--concurrency", "256", "--timeout-ms", "300"], check=True)
    finally:
        resolver.terminate()
        resolver.wait()

out = subprocess.run([args.binary, "summary", "--store", store, "--by", "source", "--json", "--top", "0"],
                     capture_output=True, text=True, check=True)
rows = {r["key"]: r for r in json.loads(out.stdout)["rows"]}

truth_sources = {s["address"]: s for s in truth["sources"] if s.get("packets", 0) > 0}
seen = [a for a in truth_sources if a in rows]
print(f"sources: {len(truth_sources)} in the truth with packets, {len(rows)} in the store, {len(seen)} in both")


def tags_of(row):
    return {t.split(" ")[0] for t in row.get("tags", [])}


TAG_TRUTH = {
    "zmap-old": {"zmap-old"},
    "masscan": {"masscan", "masscan-mss"},
    "mirai": {"mirai"},
    "irregular-syn": {"zmap-old", "zmap-new", "masscan", "masscan-mss", "mirai"},
    "bogon": set(),
}
labels = {tag: (lambda s, tools=tools: s.get("tool") in tools,
                lambda r, tag=tag: tag in tags_of(r)) for tag, tools in TAG_TRUTH.items()}
labels["research"] = (lambda s: bool(s.get("research")), lambda r: bool(r.get("research")))
SYN_RULE_TAGS = {"masscan", "mirai", "irregular-syn"}


def eligible(label, s):
    """Whether the label's rule could decide for the source: 3 packets it applies to (research: always)."""
    if label == "research":
        return True
    if label in SYN_RULE_TAGS and "syn_probes" in s:
        return s["syn_probes"] >= 3
    return s.get("packets", 0) >= 3


ok = True
print(f"\n{'label':<15} {'truth':>6} {'found':>6} {'tp':>6} {'precision':>9} {'recall':>7} {'eligible':>8} {'recall(eligible)':>17}")
for label, (is_true, is_found) in labels.items():
    tp = fp = fn = fn_eligible = pos = pos_eligible = 0
    for a in seen:
        s, r = truth_sources[a], rows[a]
        t, f = is_true(s), is_found(r)
        pos += t
        can = eligible(label, s)
        pos_eligible += t and can
        tp += t and f
        fp += f and not t
        fn += t and not f
        fn_eligible += t and not f and can
    found = tp + fp
    precision = tp / found if found else 1.0
    recall = tp / pos if pos else 1.0
    recall_eligible = (pos_eligible - fn_eligible) / pos_eligible if pos_eligible else 1.0
    good = precision >= args.threshold and recall_eligible >= args.threshold
    ok &= good
    print(f"{label:<15} {pos:>6} {found:>6} {tp:>6} {precision:>9.4f} {recall:>7.4f} {pos_eligible:>8} {recall_eligible:>17.4f}"
          f"{'' if good else '   < ' + str(args.threshold)}")

agree = known = 0
for a in seen:
    want = truth_sources[a].get("country")
    got = rows[a].get("origin", "").split(" ")[0] if rows[a].get("origin", "").split(" ")[0][:2].isalpha() else "??"
    if want:
        known += 1
        agree += got == want
print(f"\ncountry agrees with the truth for {agree}/{known} sources ({agree / max(1, known):.4f})")
print(f"work folder: {work}")
sys.exit(0 if ok else 1)
