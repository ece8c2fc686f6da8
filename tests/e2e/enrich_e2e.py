#!/usr/bin/env python3
"""End to end: ingest real scanner captures, tag them, resolve their sources' PTR names from a local resolver the
test starts (dnsmasq on 127.0.0.x, no upstream, records written here), and check what summary says: the research
source found by reverse DNS stays in the counts of the days ingested before (and summary says exactly how much), and
a re-ingest into a fresh store with `ingest --rdns-from` counts without it.

Exit 77 (skipped) when ../shared/data or dnsmasq is missing. Queries go to the local resolver only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--binary", required=True)
ap.add_argument("--data", required=True)
args = ap.parse_args()

masscan = os.path.join(args.data, "pcap", "attacks", "esnet__tcp_0_1000_20190821.pcap")
nmap = os.path.join(args.data, "pcap", "attacks", "esnet__nmap_80_all.pcap")
dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
if not (os.path.exists(masscan) and os.path.exists(nmap)):
    print("skip: shared captures absent", file=sys.stderr)
    sys.exit(77)
if not os.path.exists(dnsmasq):
    print("skip: dnsmasq absent (Debian dnsmasq-base)", file=sys.stderr)
    sys.exit(77)


def run(*argv, check=True):
    p = subprocess.run([args.binary, *argv], capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(argv)} exited {p.returncode}:\n{p.stderr}")
    return p


def summary(store, *extra):
    return json.loads(run("summary", "--store", store, "--json", "--top", "0", *extra).stdout)


failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "e.db")
    run("ingest", "-q", "--store", store, masscan, nmap)

    tags = {r["key"]: r for r in summary(store, "--by", "tag")["rows"]}
    check(tags.get("masscan", {}).get("unique_sources") == 1, "masscan capture: one source tagged masscan")
    check("1001 packets" in tags.get("masscan", {}).get("evidence", ""), "masscan evidence: 1001 matching packets")
    check("mirai" not in tags and "zmap-old" not in tags, "no mirai or zmap-old tag on masscan/nmap captures")

    address = "127.0.0.%d" % (100 + os.getpid() % 100)
    port = 20000 + os.getpid() % 20000
    resolver = subprocess.Popen([dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                                 "--no-poll", "--bind-interfaces", f"--listen-address={address}", f"--port={port}",
                                 "--pid-file", "--user=root",
                                 "--ptr-record=103.223.211.130.in-addr.arpa,census3.shodan.io"])
    try:
        time.sleep(0.5)
        p = run("enrich", "rdns", "--store", store, "--resolver", f"{address}:{port}", "--rate", "50",
                "--timeout-ms", "500")
        check("Shodan" in p.stdout, "enrich rdns: the Shodan pattern matched the PTR name")
        check("special-purpose skipped" in p.stderr, "enrich rdns: private sources not queried")
    finally:
        resolver.terminate()
        resolver.wait()

    rows = {r["key"]: r for r in summary(store, "--by", "source")["rows"]}
    check(rows.get("130.211.223.103", {}).get("research") == "Shodan (reverse DNS)", "summary --by source: research label")
    check(any("masscan" in t for t in rows.get("172.31.15.102", {}).get("tags", [])), "summary --by source: masscan tag")
    excluded = {r["key"] for r in summary(store, "--by", "source", "--exclude-research")["rows"]}
    check("130.211.223.103" not in excluded and "172.31.15.102" in excluded, "--exclude-research drops the research source")

    # The counters of the days ingested before `enrich rdns` still hold the Shodan source: summary says exactly how
    # much, and a re-ingest into a fresh store that copies the names (--rdns-from) counts without it.
    shodan_packets = rows.get("130.211.223.103", {}).get("packets", 0)
    before = summary(store, "--by", "service", "--exclude-research")
    residual = before.get("research_not_excluded", {})
    check(residual.get("rdns_sources") == 1 and residual.get("packets") == shodan_packets > 0,
          f"--exclude-research reports the Shodan source's {shodan_packets} packets as still counted: {residual}")
    check("--rdns-from" in residual.get("fix", ""), "the residual names its fix")
    text = run("summary", "--store", store, "--exclude-research").stdout
    check("research scanners NOT excluded" in text, "the terminal summary says so too")
    mtime = os.stat(store).st_mtime_ns
    fresh = os.path.join(tmp, "fresh.db")
    p = run("ingest", "--no-progress", "--store", fresh, "--rdns-from", store, masscan, nmap)
    check("research scanners: 1 source labelled" in p.stderr, "ingest --rdns-from: the copied name labels one source")
    check(os.stat(store).st_mtime_ns == mtime, "ingest --rdns-from does not write to the other store")
    after = summary(fresh, "--by", "service", "--exclude-research")
    check(after["research_not_excluded"]["packets"] == 0, "fresh store: nothing of the research source stays counted")
    check(after["totals"]["packets"] == before["totals"]["packets"] - shodan_packets
          and after["totals"]["unique_sources"] == before["totals"]["unique_sources"] - 1,
          "fresh store: totals without the Shodan source's packets and address, exactly")
    by_key = lambda s: {r["key"]: r["packets"] for r in s["rows"]}
    b, a = by_key(before), by_key(after)
    check(sum(b.values()) - sum(a.values()) == shodan_packets and all(a.get(k, 0) <= n for k, n in b.items()),
          "fresh store: per service, only the Shodan source's packets left")
    same = run("ingest", "-q", "--store", fresh, "--rdns-from", fresh, masscan, check=False)
    check(same.returncode == 2 and "the store being ingested into" in same.stderr, "--rdns-from the store itself is refused")

    s = summary(store, "--by", "country")
    check(len(s["enrichment"]) >= 1, "summary names the data that decided the regions: " + "; ".join(s["enrichment"]))
    countries = {r["key"] for r in s["rows"]}
    check("??" in countries, "special-purpose sources have no country")

sys.exit(1 if failures else 0)
