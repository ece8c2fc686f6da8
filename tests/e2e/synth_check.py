#!/usr/bin/env python3
"""darkscope synth end to end: the capture it writes is what its ground truth says (tests/e2e/README.md).

  1. darkscope synth --scenario demo --scale S --out TMP/a   (twice: the bytes must be identical; a third time with
     --format pcapng --compress zst --rotate hourly, which must count the same)
  2. tshark (when installed) reads every frame with IP/TCP/UDP/ICMP checksum validation on and finds no malformed
     frame, no expert error or warning (but "Connection reset" on RSTs) and no bad checksum, and as many frames as the ground truth says
  3. darkscope ingest --sensors TMP/a/demo.sensors.toml; then darkscope summary --json by service, by sensor:
     per-service and per-sensor packet counts, total packets, frame bytes and unique sources equal the ground truth
  4. statistics, with a tolerance: every component's packet count lies within 5 standard deviations of its Poisson
     mean (expected_packets); for the busy sources of steady components (flat shape over the whole scenario, no
     daily cycle), darkscope's mean gap (summary --by source) is 3600 / rate_per_hour within 25% (at 400 packets or
     more the standard error of a mean exponential gap is 5% at most)

Exit status: 0 passed; 1 a difference; 77 skipped: everything but the tshark part passed and tshark is not installed.
Python 3 standard library only.
"""
import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SKIP = 77


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        sys.exit(f"FAIL: {' '.join(map(str, cmd))} exited {res.returncode}:\n{res.stderr}")
    return res.stdout


def digest(folder):
    h = hashlib.sha256()
    for f in sorted(Path(folder).iterdir()):
        if f.name.endswith(".truth.json") or f.suffix in (".pcap", ".pcapng", ".zst", ".gz", ".toml"):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def summary(binary, store, by):
    out = run([binary, "summary", "--store", store, "--by", by, "--top", "0", "--json"])
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--scenario", default="demo")
    ap.add_argument("--scale", default="0.05")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="darkscope_synth_e2e_"))
    failures = []
    try:
        base = [a.binary, "synth", "--scenario", a.scenario, "--scale", a.scale, "--quiet"]
        run(base + ["--out", tmp / "a"])
        run(base + ["--out", tmp / "b"])
        if digest(tmp / "a") != digest(tmp / "b"):
            failures.append("two runs with the same seed wrote different bytes")
        run(base + ["--out", tmp / "c", "--format", "pcapng", "--compress", "zst", "--rotate", "hourly"])

        truth = json.loads(next((tmp / "a").glob("*.truth.json")).read_text())
        capture = tmp / "a" / truth["files"][0]
        sensors = next((tmp / "a").glob("*.sensors.toml"))
        want_services = truth["totals"]["services"]
        want_packets = truth["totals"]["packets"]
        want_sources = sum(1 for s in truth["sources"] if s["packets"] > 0)
        want_sensors = {}
        for comp in truth["components"]:
            for name, n in comp["sensors"].items():
                want_sensors[name] = want_sensors.get(name, 0) + n
        print(f"{a.scenario} at scale {a.scale}: {want_packets} packets, {len(want_services)} services, "
              f"{want_sources} sources")

        for label, inputs in (("pcap", [str(capture)]), ("pcapng.zst hourly", [str(tmp / "c" / "*.pcapng.zst")])):
            store = str(tmp / f"{label.split()[0]}.db")
            run([a.binary, "ingest", "--quiet", "--sensors", str(sensors), "--store", store] + inputs)
            by_service = summary(a.binary, store, "service")
            got = {row["key"]: row["packets"] for row in by_service["rows"]}
            for key in sorted(set(got) | set(want_services)):
                if got.get(key, 0) != want_services.get(key, 0):
                    failures.append(f"{label}: {key}: darkscope {got.get(key, 0)}, truth {want_services.get(key, 0)}")
            totals = by_service["totals"]
            if totals["packets"] != want_packets:
                failures.append(f"{label}: total packets: darkscope {totals['packets']}, truth {want_packets}")
            if totals["bytes"] != truth["totals"]["frame_bytes"]:
                failures.append(f"{label}: bytes: darkscope {totals['bytes']}, truth {truth['totals']['frame_bytes']}")
            if totals["unique_sources"] != want_sources:
                failures.append(f"{label}: unique sources: darkscope {totals['unique_sources']}, truth {want_sources}")
            if totals["unattributed_packets"] != 0:
                failures.append(f"{label}: {totals['unattributed_packets']} packets to no sensor")
            got_sensors = {row["key"]: row["packets"] for row in summary(a.binary, store, "sensor")["rows"]}
            if got_sensors != want_sensors:
                failures.append(f"{label}: per sensor: darkscope {got_sensors}, truth {want_sensors}")

        # Statistics: counts around their Poisson means, per-source gaps around 1 / rate.
        for comp in truth["components"]:
            mean = comp["expected_packets"]
            if abs(comp["packets"] - mean) > 5 * max(mean, 1) ** 0.5 + 1:
                failures.append(f"component {comp['name']}: {comp['packets']} packets, Poisson mean {mean}")
        steady = {c["name"] for c in truth["components"]
                  if c["shape"] == "flat" and c["diurnal"] == 0 and not c["every_sensor"] and c["lifetime_hours"] == 0
                  and c["window"] == {"start": truth["scenario"]["start"], "end": truth["scenario"]["end"]}}
        gaps = {row["key"]: row for row in summary(a.binary, str(tmp / "pcap.db"), "source")["rows"]}
        checked = 0
        for src in truth["sources"]:
            if src["component"] not in steady or src["packets"] < 400:
                continue
            want = 3600.0 / src["rate_per_hour"]
            got = gaps[src["address"]]["mean_interarrival_s"]
            checked += 1
            if abs(got / want - 1) > 0.25:
                failures.append(f"source {src['address']} ({src['component']}): mean gap {got:.3f} s, "
                                f"expected {want:.3f} s")
        print(f"statistics: {len(truth['components'])} component counts, mean gaps of {checked} sources")

        tshark = shutil.which("tshark")
        if tshark:
            # Expert warnings flag RSTs as such ("Connection reset"): backscatter is made of them, so they are allowed.
            # tshark dissects UDP by port: a DHT query from or to a port some protocol owns (5072 is AYIYA's, 1900
            # SSDP's) is taken for that protocol and found broken. DHT frames are bencode whatever the port (the unit
            # tests check them): they are left out of the protocol complaints, not of the checksum checks.
            # Expert warnings flag RSTs as such ("Connection reset"): backscatter is made of them, so they are allowed.
            bad_filter = ("((_ws.malformed || _ws.expert.severity >= error || "
                          "(_ws.expert.severity == warning && !tcp.flags.reset)) && !(frame contains \"d1:ad2:id20:\")) "
                          "|| ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || "
                          "icmp.checksum.status == 0 || icmpv6.checksum.status == 0")
            prefs = ["-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"]
            out = run([tshark, "-n", "-r", str(capture), *prefs, "-Y", bad_filter,
                       "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Protocol", "-e", "_ws.expert.message"])
            bad = [line for line in out.splitlines() if line.strip()]
            for line in bad[:10]:
                failures.append(f"tshark: {line}")
            if len(bad) > 10:
                failures.append(f"tshark: ... {len(bad) - 10} more frames flagged")
            frames = run([tshark, "-n", "-r", str(capture), "-T", "fields", "-e", "frame.number"]).split()
            if len(frames) != want_packets:
                failures.append(f"tshark read {len(frames)} frames, truth says {want_packets}")
            dns = run([tshark, "-n", "-r", str(capture), "-Y", "dns", "-T", "fields", "-e", "frame.number"]).split()
            print(f"tshark: {len(frames)} frames, {len(dns)} DNS messages, {len(bad)} flagged")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        return 1
    if not shutil.which("tshark"):
        print("SKIP: tshark is not installed (apt-get install tshark); every other check passed")
        return SKIP
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
