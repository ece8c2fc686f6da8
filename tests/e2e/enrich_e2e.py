#!/usr/bin/env python3
"""End to end: ingest real scanner captures, tag them, resolve their sources' PTR names from a local resolver the
test starts (dnsmasq on 127.0.0.x, no upstream, records written here), and check what summary says.

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
    s = summary(store, "--by", "country")
    check(len(s["enrichment"]) >= 1, "summary names the data that decided the regions: " + "; ".join(s["enrichment"]))
    countries = {r["key"] for r in s["rows"]}
    check("??" in countries, "special-purpose sources have no country")

sys.exit(1 if failures else 0)
