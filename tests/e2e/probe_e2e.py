#!/usr/bin/env python3
"""End to end: `darkscope probe resolvers`, `probe import-resolvers` and `probe devices` against servers this test
starts on 127.0.0.x (two dnsmasq, one an open resolver for test.openresolver.com TXT and one that refuses; a TCP
listener with an OpenSSH banner), the recorded nmap XML of tests/unit/probe/data/nmap, and the store they write.

Every probe goes to 127.0.0.x only: addresses imported as open are documentation addresses, which the exclusion list
refuses. Exit 77 (skipped) when dnsmasq is missing; the nmap run is skipped (said, not failed) without nmap.
"""
import argparse
import csv
import ctypes
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--binary", required=True)
args = ap.parse_args()

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "probe", "data", "nmap")
dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
if not os.path.exists(dnsmasq):
    print("skip: dnsmasq absent (Debian dnsmasq-base)", file=sys.stderr)
    sys.exit(77)

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*argv, expect=0):
    p = subprocess.run([args.binary, *argv], capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        sys.exit(f"FAIL: {' '.join(argv)} exited {p.returncode}, expected {expect}:\n{p.stdout}\n{p.stderr}")
    return p


def loopback(k):
    return "127.0.0.%d" % (2 + (os.getpid() + 11 * k) % 250)


port = 20000 + (os.getpid() * 5) % 20000
ssh_port = port + 1 if port < 39999 else port - 1
OPEN, REFUSING, NOTHING = loopback(0), loopback(1), loopback(2)


def die_with_this_test():
    # The kernel sends dnsmasq SIGTERM when this test ends however it ends (a ctest timeout kills it outright, and
    # `finally` below never runs): otherwise the servers outlived it, holding their addresses and ports. dnsmasq's
    # --group=root keeps it in our group: its default switch to "dip" would clear this signal.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_dnsmasq(address, *extra):
    return subprocess.Popen([dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                             "--no-poll", "--bind-interfaces", f"--listen-address={address}", f"--port={port}",
                             "--pid-file", "--user=root", "--group=root", *extra], preexec_fn=die_with_this_test)


# A SIGTERM (ctest, a user) ends the test through `finally`, which stops the servers and removes the store.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def banner_server(address, port_, banner, stop):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, port_))
    s.listen(16)
    s.settimeout(0.1)

    def serve(c):
        try:
            c.sendall(banner)
            c.settimeout(5)
            c.recv(512)
        except OSError:
            pass
        c.close()

    def loop():
        while not stop.is_set():
            try:
                c, _ = s.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        s.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def rows(store, sql, *params):
    with sqlite3.connect(store) as db:
        return db.execute(sql, params).fetchall()


with tempfile.TemporaryDirectory() as tmp:
    store = os.path.join(tmp, "probe.db")
    servers = [start_dnsmasq(OPEN, "--txt-record=test.openresolver.com,open-resolver-detected"),
               start_dnsmasq(REFUSING)]
    stop = threading.Event()
    try:
        banner_server(OPEN, ssh_port, b"SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u1\r\n", stop)
        # dnsmasq takes a moment to listen.
        for _ in range(50):
            p = run("probe", "resolvers", "--store", os.path.join(tmp, "warmup.db"), "--allow-loopback", "--port",
                    str(port), "--timeout", "0.2", "--retries", "0", "--json", OPEN, REFUSING)
            if json.loads(p.stdout)["counts"]["no-answer"] == 0:
                break
            time.sleep(0.1)

        # --- probe resolvers ------------------------------------------------------------------------------
        p = run("probe", "resolvers", "--store", store, "--allow-loopback", "--port", str(port), "--timeout", "0.3",
                "--json", OPEN, REFUSING, NOTHING, "10.0.0.1", "192.0.2.1", OPEN)
        out = json.loads(p.stdout)
        check(out["counts"] == {"open": 1, "not-open": 1, "no-answer": 1, "refused": 2},
              f"resolvers: open 1, not-open 1, no-answer 1, refused 2 (got {out['counts']})")
        by = {r["address"]: r for r in out["results"]}
        check(by[OPEN]["detail"] == 'answer: "open-resolver-detected"', "resolvers: the open one's answer")
        check(by[REFUSING]["detail"] == "rcode REFUSED", "resolvers: the refusing one's rcode")
        check(by[NOTHING]["detail"] == "port unreachable (ICMP error to the query)", "resolvers: nothing listening")
        check({r["reason"] for r in out["refused"]} == {"10.0.0.0/8 private use (RFC 1918)",
                                                       "192.0.2.0/24 documentation (TEST-NET-1) (RFC 5737)"},
              "resolvers: refused targets listed with their RFC")
        stored = rows(store, "SELECT address, status, detail, origin FROM resolver_probes ORDER BY id")
        check(sorted(r[1] for r in stored) == ["no-answer", "not-open", "open"] and all(r[3] == "probe" for r in stored),
              "resolvers: three results stored with origin probe")
        check(len([ln for ln in p.stderr.splitlines() if ln.count("\t") == 4]) == 3,
              "resolvers: one tab-separated log line per probe on stderr")

        # Without --allow-loopback nothing is sent and nothing stored.
        p = run("probe", "resolvers", "--store", store, "--port", str(port), OPEN, REFUSING)
        check("refused by exclusion list           2" in p.stdout and "127.0.0.0/8 loopback (RFC 1122)" in p.stdout,
              "resolvers: loopback refused without --allow-loopback, listed")
        check(len(rows(store, "SELECT id FROM resolver_probes")) == 3, "resolvers: nothing stored for refused targets")

        # --exclude FILE and --log FILE.
        exclude = os.path.join(tmp, "exclude.txt")
        with open(exclude, "w") as f:
            f.write(f"# test\n{REFUSING}/32\n")
        log = os.path.join(tmp, "probes.tsv")
        p = run("probe", "resolvers", "--store", store, "--allow-loopback", "--port", str(port), "--timeout", "0.3",
                "--exclude", exclude, "--log", log, OPEN, REFUSING)
        check(f"excluded by {REFUSING}/32 (exclude.txt:2)" in p.stdout, "resolvers: --exclude names file:line")
        with open(log) as f:
            lines = f.read().splitlines()
        check(len(lines) == 1 and lines[0].split("\t")[1:3] == [OPEN, "open"], "resolvers: --log holds the probe line")

        # Rate: 10 targets at 5 per second take at least 1.8 s.
        start = time.monotonic()
        run("probe", "resolvers", "--store", os.path.join(tmp, "rate.db"), "--allow-loopback", "--port", str(port),
            "--rate", "5", "--timeout", "0.3", "--retries", "0", *[loopback(k) for k in range(10, 20)])
        elapsed = time.monotonic() - start
        check(elapsed >= 1.6, f"resolvers: --rate 5 holds ({elapsed:.2f} s for 10 targets)")

        # Bad arguments.
        check(run("probe", "resolvers", "--store", store, "45.33.32.0/24", expect=2).stderr.find("a network") > 0,
              "resolvers: a network is refused as a target")
        check(run("probe", "resolvers", "--store", store, expect=2).returncode == 2, "resolvers: no targets is usage")
        check(run("probe", "resolvers", "--store", store, "--type", "BOGUS", OPEN, expect=2).returncode == 2,
              "resolvers: a bad --type is usage")

        # --- probe import-resolvers -----------------------------------------------------------------------
        good = os.path.join(tmp, "list.csv")
        with open(good, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["address", "status", "detail"])
            w.writerow(["192.0.2.53", "open", 'answer: "open-resolver-detected", from a published list'])
            w.writerow(["198.51.100.7", "not-open", "rcode REFUSED"])
            w.writerow([NOTHING, "no-answer", "timeout"])
        bad = os.path.join(tmp, "bad.csv")
        with open(bad, "w") as f:
            f.write("address,status\n192.0.2.54,open\n192.0.2.55,perhaps\n")
        p = run("probe", "import-resolvers", "--store", store, good, bad, expect=1)
        check(f"{bad}:3: status 'perhaps'" in p.stderr, "import: bad line named with file:line")
        check("list.csv: 3 verdicts stored (open 1, not-open 1, no-answer 1)" in p.stdout, "import: good file stored")
        check(rows(store, "SELECT COUNT(*) FROM resolver_probes WHERE origin = 'import:bad.csv'")[0][0] == 0,
              "import: nothing stored from the file with an error")
        check(rows(store, "SELECT detail FROM resolver_probes WHERE origin = 'import:list.csv' AND status = 'open'")
              == [('answer: "open-resolver-detected", from a published list',)], "import: quoted detail kept")

        # The synthetic telescope's ground truth as verdicts: its open-resolver sources, imported (nothing sent).
        run("synth", "--scenario", "demo", "--scale", "0.02", "--quiet", "--out", os.path.join(tmp, "demo.pcap"))
        with open(os.path.join(tmp, "demo.truth.json")) as f:
            truth = json.load(f)
        open_truth = sorted({s["address"] for s in truth["sources"] if s.get("open_resolver")})
        truth_csv = os.path.join(tmp, "truth-resolvers.csv")
        with open(truth_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["address", "status", "detail"])
            for a in open_truth:
                w.writerow([a, "open", "synth truth: open_resolver"])
        truth_store = os.path.join(tmp, "truth.db")
        run("probe", "import-resolvers", "--store", truth_store, truth_csv)
        check(len(open_truth) > 0 and rows(truth_store, "SELECT COUNT(DISTINCT address) FROM resolver_probes WHERE "
                                                        "status = 'open' AND origin = 'import:truth-resolvers.csv'")[0][0]
              == len(open_truth), f"import: the synth truth's {len(open_truth)} open resolvers stored")

        # --period: the DNS sources of the ingested synth capture, every one refused by an --exclude of everything
        # (the synthetic sources are real-looking public addresses: nothing may be sent to them).
        run("ingest", "-q", "--store", truth_store, os.path.join(tmp, "demo.pcap"))
        everything = os.path.join(tmp, "everything.txt")
        with open(everything, "w") as f:
            f.write("0.0.0.0/0\n::/0\n")
        p = run("probe", "resolvers", "--store", truth_store, "--period", "2024-10", "--exclude", everything, "--json")
        out = json.loads(p.stdout)
        check(out["counts"]["refused"] > 0 and not out["results"] and
              all(r["reason"].startswith("excluded by ") or "RFC" in r["reason"] for r in out["refused"]),
              f"resolvers --period: {out['counts']['refused']} DNS sources of the period, all refused, none probed")

        # --- probe devices --nmap-xml -----------------------------------------------------------------------
        recorded = [os.path.join(FIXTURES, f) for f in sorted(os.listdir(FIXTURES))
                    if f.endswith(".xml") and f != "truncated.xml"]
        xml_args = [a for f in recorded for a in ("--nmap-xml", f)]
        p = run("probe", "devices", "--store", store, "--allow-loopback", "--json", *xml_args)
        out = json.loads(p.stdout)
        table = {r["class"]: r["count"] for r in out["table2"]}
        check(table == {"server": 2, "router": 1, "printer": 1, "network-camera": 1, "nas": 1, "dvr": 1,
                        "load-balancer": 1, "unknown": 1, "blocked": 4}, f"devices --nmap-xml: Table 2 ({table})")
        check([r["address"] for r in out["refused"]] == ["192.168.1.1"], "devices --nmap-xml: private host not stored")
        check(rows(store, "SELECT device_class, origin FROM device_probes WHERE address = '127.0.1.1'")
              == [("router", "import:mikrotik_router.xml")], "devices --nmap-xml: stored with origin import:<file>")
        p = run("probe", "devices", "--store", store, "--allow-loopback", "--nmap-xml", recorded[0])
        check("ルータ" in p.stdout or "Block" in p.stdout, "devices: Table 2 printed with the paper's labels")
        p = run("probe", "devices", "--store", store, "--nmap-xml", os.path.join(FIXTURES, "truncated.xml"), expect=1)
        check("not well-formed XML at byte" in p.stderr and "cut short" in p.stderr,
              "devices: truncated XML is a clear error")
        p = run("probe", "devices", "--store", store, "--nmap", "/nonexistent/nmap", "--allow-loopback", OPEN, expect=1)
        check("install the nmap package" in p.stderr, "devices: a missing nmap names the package")

        # --- probe devices --open-resolvers (a real nmap run on 127.0.0.x) -----------------------------------
        # Only the banner listener's port: nmap's version probes of dnsmasq's TCP port wait out their timeouts
        # (about 45 s), which the unit tests' nmap run and the recorded XML already stand in for.
        if shutil.which("nmap"):
            start = time.monotonic()
            p = run("probe", "devices", "--store", store, "--allow-loopback", "--open-resolvers", "--no-os",
                    "--ports", str(ssh_port), "--max-rate", "2000", "--timeout", "60", "--json")
            out = json.loads(p.stdout)
            hosts = {h["address"]: h for h in out["hosts"]}
            check(set(hosts) == {OPEN}, f"devices --open-resolvers: scanned the open resolver only ({set(hosts)})")
            check(hosts.get(OPEN, {}).get("class") == "server",
                  f"devices: OpenSSH on Linux is a server ({hosts.get(OPEN, {}).get('reason')})")
            check([r["address"] for r in out["refused"]] == ["192.0.2.53"],
                  "devices --open-resolvers: the imported documentation address refused")
            check(any(" -O" not in n and n.startswith("ran: ") for n in out["notes"]), "devices: ran nmap without -O")
            check(rows(store, "SELECT origin FROM device_probes WHERE address = ?", OPEN) == [("nmap",)],
                  "devices: stored with origin nmap")
            print(f"     nmap run took {time.monotonic() - start:.1f} s")
        else:
            print("skip devices run: nmap absent (Debian nmap)")
    finally:
        stop.set()
        for s in servers:
            s.terminate()
            s.wait()

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks passed")
