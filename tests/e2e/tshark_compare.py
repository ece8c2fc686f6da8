#!/usr/bin/env python3
"""Compare darkscope's per-service counts with tshark's on real captures (see tests/e2e/README.md).

For each capture (a path relative to the shared data folder):
  1. darkscope ingest --store TMP/x.db FILE            (no sensors file: one implicit sensor)
     darkscope summary --store TMP/x.db --by service --top 0 --json
  2. tshark -r FILE -T fields ...                     (reassembly off; outermost header of each frame)
     mapped to darkscope's service notation: 445/TCP, 53/UDP, 8/ICMP, 128/ICMPv6, proto 47, ?/TCP ...
  3. per service: packets and unique sources must be equal, unless known_differences.json lists the difference
     (each entry has a reason, explained in KNOWN_DIFFERENCES.md). An undocumented difference fails.

Exit status: 0 all equal (or documented), 1 a difference or an error, 77 skipped (no data folder, no tshark,
or none of the requested captures present), 2 usage.
Python 3 standard library only.
"""
import argparse
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent

# Pseudo-rows compared beside the services (names can appear in known_differences.json).
TOTAL = "(all IP)"      # packets and unique sources over all IP frames: totals.unique_sources
NON_IP = "(non-IP)"     # frames without IP (ARP, LLC, MPLS, ...): totals.non_ip_frames
NO_SERVICE = "?/IP"     # IP frames whose protocol cannot be read (IP header or IPv6 extension chain cut short)

# Link-layer protocols (tshark's names in frame.protocols) that darkscope follows to reach IP (LLC/SNAP and MPLS
# included). Anything else before the first ip/ipv6 (ppp, nflog, ...) makes the frame non-IP for darkscope.
LINK_PATH = {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "raw", "llc", "mpls"}

# IPv6 extension headers darkscope walks, and the tshark field holding each one's next-header value.
IPV6_EXT_NEXT = {0: "ipv6.hopopts.nxt", 43: "ipv6.routing.nxt", 44: "ipv6.fraghdr.nxt", 60: "ipv6.dstopts.nxt"}

FIELDS = [
    "frame.number", "frame.protocols",
    "ip.src", "ip.proto", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.nxt", *IPV6_EXT_NEXT.values(), "ipv6.fraghdr.offset",
    "tcp.dstport", "tcp.urgent_pointer",   # urgent pointer = last field of the 20-byte header: header complete
    "udp.dstport", "udp.checksum",         # checksum = last field of the 8-byte header
    "icmp.type", "icmp.checksum",          # type + code + checksum: the 4 bytes every ICMP message has
    "icmpv6.type", "icmpv6.checksum",
]

# Reassembly off: darkscope counts each frame as captured, it never reassembles.
TSHARK_PREFS = [
    "ip.defragment:FALSE", "ipv6.defragment:FALSE", "tcp.desegment_tcp_streams:FALSE",
    "tcp.analyze_sequence_numbers:FALSE", "udp.try_heuristic_first:FALSE",
]


class Tally:
    """packets and distinct sources per key"""

    def __init__(self):
        self.packets = defaultdict(int)
        self.sources = defaultdict(set)

    def add(self, key, src):
        self.packets[key] += 1
        if src is not None:
            self.sources[key].add(src)


def first(values, name, index=0):
    """index-th occurrence of a field (tshark repeats fields for tunnels and ICMP quotes; 0 = outermost)"""
    v = values.get(name)
    if not v:
        return None
    parts = v.split(",")
    return parts[index] if index < len(parts) and parts[index] != "" else None


def as_int(text):
    if text is None:
        return None
    try:
        return int(text, 0)
    except ValueError:
        return None


def norm_addr(text):
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def proto_key(proto, transport_ok, value):
    """darkscope's notation for an IP protocol number with (maybe) a readable transport header."""
    names = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}
    if proto not in names:
        return f"proto {proto}"
    if not transport_ok or value is None:
        return f"?/{names[proto]}"
    return f"{value}/{names[proto]}"


def transport(values, proto):
    """(service readable, dst port or type) of the outermost transport header. darkscope names the service as
    soon as the ports (TCP/UDP, first 4 bytes) or the ICMP type were captured, even if the rest of the header
    is cut (the packet is then in class malformed): so the field's presence is what counts here."""
    field = {6: "tcp.dstport", 17: "udp.dstport", 1: "icmp.type", 58: "icmpv6.type"}.get(proto)
    if field is None:
        return True, None
    value = as_int(first(values, field))
    return value is not None, value


def classify(values):
    """(service key, source address) of one frame, or (NON_IP, None)."""
    protos = (values.get("frame.protocols") or "").split(":")
    idx = next((i for i, p in enumerate(protos) if p in ("ip", "ipv6")), None)
    if idx is None or any(p not in LINK_PATH for p in protos[:idx]):
        return NON_IP, None
    version = protos[idx]
    # tshark's IPv4 dissector hands a version-6 header to IPv6 ("ip:ipv6" on a LINKTYPE_IPV4 file).
    if version == "ip" and first(values, "ip.src") is None and protos[idx + 1:idx + 2] == ["ipv6"]:
        version = "ipv6"

    if version == "ip":
        src = norm_addr(first(values, "ip.src"))
        proto = as_int(first(values, "ip.proto"))
        if proto is None:
            return NO_SERVICE, src
        if (as_int(first(values, "ip.frag_offset")) or 0) > 0:  # non-first fragment: no transport header
            return proto_key(proto, False, None) if proto in (6, 17, 1) else f"proto {proto}", src
        if proto == 58:
            return f"proto {proto}", src  # ICMPv6 inside IPv4 is not ICMPv6 for darkscope
        ok, value = transport(values, proto)
        return proto_key(proto, ok, value), src

    src = norm_addr(first(values, "ipv6.src"))
    nxt = as_int(first(values, "ipv6.nxt"))
    seen = defaultdict(int)  # occurrences used per extension field (outermost chain first)
    non_first_fragment = False
    for _ in range(16):
        if nxt not in IPV6_EXT_NEXT:
            break
        field = IPV6_EXT_NEXT[nxt]
        if nxt == 44 and (as_int(first(values, "ipv6.fraghdr.offset", seen[field])) or 0) > 0:
            non_first_fragment = True
        nxt = as_int(first(values, field, seen[field]))
        seen[field] += 1
    if nxt is None or nxt in IPV6_EXT_NEXT:
        return NO_SERVICE, src
    if nxt == 1:
        return f"proto {nxt}", src  # ICMP (v4) inside IPv6
    if non_first_fragment:
        return proto_key(nxt, False, None) if nxt in (6, 17, 58) else f"proto {nxt}", src
    ok, value = transport(values, nxt)
    return proto_key(nxt, ok, value), src


def tshark_counts(tshark, capture):
    cmd = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=,"]
    for pref in TSHARK_PREFS:
        cmd += ["-o", pref]
    for field in FIELDS:
        cmd += ["-e", field]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    stderr = "\n".join(l for l in proc.stderr.splitlines() if "Running as user" not in l)
    if proc.returncode != 0 and not proc.stdout:
        raise RuntimeError(f"tshark failed ({proc.returncode}): {stderr.strip()[:500]}")
    tally = Tally()
    non_ip = 0
    frames = 0
    for line in proc.stdout.splitlines():
        cols = line.split("\t")
        values = dict(zip(FIELDS, cols + [""] * (len(FIELDS) - len(cols))))
        frames += 1
        key, src = classify(values)
        if key == NON_IP:
            non_ip += 1
            continue
        tally.add(key, src)
        tally.add(TOTAL, src)
    tally.packets[NON_IP] = non_ip
    return tally, frames, stderr


def darkscope_counts(binary, capture, workdir):
    store = workdir / "x.db"
    for p in workdir.glob("x.db*"):
        p.unlink()
    ingest = subprocess.run([str(binary), "ingest", "--store", str(store), str(capture)], capture_output=True,
                            text=True, errors="replace")
    if ingest.returncode != 0:
        return None, f"ingest exited {ingest.returncode}: {(ingest.stderr or ingest.stdout).strip()[:800]}"
    summ = subprocess.run([str(binary), "summary", "--store", str(store), "--by", "service", "--top", "0", "--json"],
                          capture_output=True, text=True, errors="replace")
    if summ.returncode != 0:
        return None, f"summary exited {summ.returncode}: {(summ.stderr or summ.stdout).strip()[:800]}"
    try:
        doc = json.loads(summ.stdout)
    except json.JSONDecodeError as e:
        return None, f"summary --json printed no JSON ({e}): {summ.stdout[:300]!r}"
    tally = Tally()
    try:
        for row in doc.get("rows") or []:
            key = str(row["key"])
            tally.packets[key] += int(row.get("packets", 0))
            tally.sources[key] = int(row.get("unique_sources", 0))  # a number here, a set on the tshark side
        totals = doc.get("totals") or {}
        tally.packets[TOTAL] = sum(v for k, v in tally.packets.items() if k != TOTAL)
        if "unique_sources" in totals:
            tally.sources[TOTAL] = int(totals["unique_sources"])
        tally.packets[NON_IP] = int(totals.get("non_ip_frames", 0))
    except (KeyError, TypeError, ValueError) as e:
        return None, f"summary JSON has an unexpected shape ({e}): {summ.stdout[:300]!r}"
    return (tally, doc.get("decode_events") or {}), None


def load_known(path):
    if not path or not Path(path).exists():
        return {}
    try:
        with open(path) as f:
            files = json.load(f).get("files", {})
        if not isinstance(files, dict):
            raise ValueError('"files" must be an object keyed by capture path')
        return files
    except (ValueError, AttributeError) as e:  # json.JSONDecodeError is a ValueError
        raise SystemExit(f"FAIL: {path}: {e}") from None


def compare(case, mine, theirs, known):
    """rows for the table and a list of problems"""
    entry = known.get(case, {})
    documented = entry.get("services", {})
    keys = sorted(set(theirs.packets) | set(mine.packets), key=sort_key)
    rows, problems, stale = [], [], []
    for key in keys:
        t_pk, d_pk = theirs.packets.get(key, 0), mine.packets.get(key, 0)
        t_src = len(theirs.sources.get(key, ()))
        d_src = mine.sources.get(key)  # None when darkscope gives no figure (non-IP row, no totals)
        if key == NON_IP:
            t_src = d_src = None
        if t_pk == 0 and d_pk == 0:
            continue
        equal = t_pk == d_pk and (d_src is None or t_src == d_src)
        note = ""
        doc = documented.get(key)
        if not equal:
            if doc is None:
                note = "DIFFERENT (undocumented)"
                problems.append(f"{key}: darkscope {d_pk} packets / {d_src} sources, tshark {t_pk} / {t_src}")
            else:
                reason = str(doc.get("reason", "")).strip()
                # Figures the entry states must still hold, on both sides (a new tshark may decode differently).
                want, want_t = doc.get("darkscope", {}), doc.get("tshark", {})
                mismatch = [f for f, got in (("packets", d_pk), ("unique_sources", d_src))
                            if f in want and want[f] != got]
                mismatch += [f"tshark {f}" for f, got in (("packets", t_pk), ("unique_sources", t_src))
                             if f in want_t and want_t[f] != got]
                if not reason or reason.upper().startswith("TODO"):
                    note = "DIFFERENT (entry has no reason)"
                    problems.append(f"{key}: known_differences.json entry needs a reason")
                elif mismatch:
                    note = "DIFFERENT (not as documented)"
                    problems.append(f"{key}: documented darkscope {want} / tshark {want_t}; got darkscope {d_pk} "
                                    f"packets / {d_src} sources, tshark {t_pk} / {t_src}")
                else:
                    note = "known: " + reason
        elif doc is not None:
            note = "equal (stale known-difference entry)"
            stale.append(key)
        rows.append((key, d_pk, d_src, t_pk, t_src, note))
    return rows, problems, stale


def sort_key(key):
    if key in (TOTAL, NON_IP):
        return (0, key)
    head, _, proto = key.partition("/")
    return (1, proto, int(head) if head.isdigit() else -1, key)


def print_table(case, rows):
    print(f"\n{case}")
    print(f"  {'service':<14} {'darkscope pkts':>14} {'srcs':>7} {'tshark pkts':>12} {'srcs':>7}  note")
    for key, d_pk, d_src, t_pk, t_src, note in rows:
        fmt = lambda v: "-" if v is None else str(v)
        print(f"  {key:<14} {d_pk:>14} {fmt(d_src):>7} {t_pk:>12} {fmt(t_src):>7}  {note}")


def read_cases(path):
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases", nargs="*", help="captures relative to --data (default: every line of --cases)")
    ap.add_argument("--binary", help="the darkscope executable (not needed with --tshark-only)")
    ap.add_argument("--data", default=str(HERE.parent.parent.parent / "shared" / "data"),
                    help="shared data folder (env DARKSCOPE_SHARED_DATA overrides)")
    ap.add_argument("--cases-file", default=str(HERE / "cases.txt"))
    ap.add_argument("--known", default=str(HERE / "known_differences.json"))
    ap.add_argument("--tshark", default=os.environ.get("TSHARK", "tshark"))
    ap.add_argument("--tmp", help="work folder for the stores (default: a fresh temporary one)")
    ap.add_argument("--tshark-only", action="store_true", help="print tshark's counts only (no darkscope)")
    ap.add_argument("--record", action="store_true",
                    help="add every undocumented difference to --known with reason TODO (still fails until "
                         "each TODO is replaced by a reason documented in KNOWN_DIFFERENCES.md)")
    args = ap.parse_args()

    # Relative cases are under the shared data folder; an absolute one (a capture the build generated) is not.
    cases = args.cases or read_cases(args.cases_file)
    data = Path(os.environ.get("DARKSCOPE_SHARED_DATA") or args.data)
    if any(not Path(c).is_absolute() for c in cases) and not data.is_dir():
        print(f"SKIP: shared data folder {data} not found (set DARKSCOPE_SHARED_DATA to run these tests)")
        return SKIP
    for c in cases:
        if Path(c).is_absolute() and not Path(c).is_file():
            print(f"FAIL: {c} not found")
            return 1
    tshark = shutil.which(args.tshark)
    if not tshark:
        print(f"SKIP: {args.tshark} not found (apt-get install tshark, or run scripts/setup.sh --test)")
        return SKIP
    if not args.tshark_only:
        if not args.binary:
            print("tshark_compare.py: --binary is required (or --tshark-only)", file=sys.stderr)
            return 2
        if not Path(args.binary).is_file():
            print(f"FAIL: darkscope binary {args.binary} not found (build it first)")
            return 1

    present = [c for c in cases if (data / c).is_file()]  # data / an absolute path is that path
    for c in cases:
        if c not in present:
            print(f"note: {data / c} is missing; not checked")
    if not present:
        print(f"SKIP: none of the {len(cases)} captures is in {data}")
        return SKIP

    known = load_known(args.known)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="darkscope-e2e-") if not args.tmp else None
    workdir = Path(args.tmp or tmp_ctx.name)
    workdir.mkdir(parents=True, exist_ok=True)
    failed, recorded = [], {}
    try:
        for capture_arg in present:
            capture = data / capture_arg
            case = Path(capture_arg).name if Path(capture_arg).is_absolute() else capture_arg
            try:
                theirs, frames, t_err = tshark_counts(tshark, capture)
            except RuntimeError as e:
                print(f"\n{case}\n  FAIL: {e}")
                failed.append(case)
                continue
            if args.tshark_only:
                rows = [(k, 0, None, theirs.packets[k], len(theirs.sources.get(k, ())) if k != NON_IP else None, "")
                        for k in sorted(theirs.packets, key=sort_key) if theirs.packets[k]]
                print(f"\n{case} ({frames} frames; tshark: {t_err or 'no warnings'})")
                print(f"  {'service':<14} {'packets':>10} {'sources':>8}")
                for key, _, _, pk, src, _ in rows:
                    print(f"  {key:<14} {pk:>10} {'-' if src is None else src:>8}")
                continue
            entry = known.get(case, {})
            result, err = darkscope_counts(Path(args.binary).resolve(), capture, workdir)
            if err:
                if entry.get("ingest_fails"):
                    print(f"\n{case}\n  known: darkscope does not read it ({entry.get('reason', '')}): {err}")
                    continue
                print(f"\n{case}\n  FAIL: {err}")
                failed.append(case)
                continue
            mine, events = result
            rows, problems, stale = compare(case, mine, theirs, known)
            print_table(case, rows)
            if events:
                ev = ", ".join(f"{k}={v}" for k, v in sorted(events.items()) if v)
                if ev:
                    print(f"  decode events: {ev}")
            for s in stale:
                print(f"  note: {s} is listed in known_differences.json but now equal: remove the entry")
            if problems:
                failed.append(case)
                for p in problems:
                    print(f"  FAIL: {p}")
                if args.record:
                    recorded[case] = {key: {"darkscope": {"packets": d_pk, "unique_sources": d_src},
                                            "tshark": {"packets": t_pk, "unique_sources": t_src},
                                            "reason": "TODO: explain in KNOWN_DIFFERENCES.md"}
                                      for key, d_pk, d_src, t_pk, t_src, note in rows if note.startswith("DIFF")}
    finally:
        if tmp_ctx:
            tmp_ctx.cleanup()

    if recorded:
        doc = json.loads(Path(args.known).read_text()) if Path(args.known).exists() else {"files": {}}
        for case, services in recorded.items():
            doc.setdefault("files", {}).setdefault(case, {}).setdefault("services", {}).update(services)
        Path(args.known).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        print(f"\nrecorded {sum(len(s) for s in recorded.values())} difference(s) in {args.known}: give each a reason")

    checked = len(present)
    if failed:
        print(f"\nFAILED: {len(failed)} of {checked} capture(s): {', '.join(failed)}")
        return 1
    print(f"\nOK: {checked} capture(s) {'counted' if args.tshark_only else 'equal to tshark or documented'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
