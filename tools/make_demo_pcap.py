#!/usr/bin/env python3
"""Write a small darknet-like capture for the demo (scripts/demo.sh) and for trying darkscope by hand.

Classic pcap (little-endian, microseconds, Ethernet), timestamps ascending over two UTC days, towards the two
sensors of examples/sensors.toml (198.51.100.0/24 "tokyo-1", 203.0.113.0/24 "cloud-1") plus a little traffic to
addresses outside both (192.0.2.0/24 and 2001:db8::/32), which ingest counts as unattributed:

  ~70%  TCP SYN probes to 23, 445, 22, 80, 3389, 8728, 1433 from a heavy-tailed (Pareto) source population;
        some with ZMap's IP ID 54321, the Telnet ones partly Mirai-like (sequence number = destination address)
  ~8%   backscatter from a few DoS victims: SYN/ACK and RST/ACK from ports 80/443
  ~8%   DNS: queries to 53/UDP, and responses from source port 53 (QR bit set, one A record)
  ~6%   ICMP echo requests
  ~3%   ICMP port unreachable quoting the IPv4+UDP header of a packet "sent" from the darknet
  ~0.5% IPv4 fragments (first fragment with a UDP header, then a non-first one), ~0.3% IPv6 SYNs, a few ARP frames

Python 3 standard library only; the output depends only on the arguments (same seed, same bytes).
Usage: python3 tools/make_demo_pcap.py -o demo/demo.pcap [--packets 200000] [--seed 7] [--start 2024-10-01]
"""
import argparse
import calendar
import ipaddress
import os
import random
import struct
import sys
import time

ETH_DST = bytes.fromhex("02005e000001")  # the telescope's capture port
ETH_SRC = bytes.fromhex("02005e0000fe")  # upstream router
SENSORS = [ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("203.0.113.0/24")]
OUTSIDE_V4 = ipaddress.ip_network("192.0.2.0/24")
OUTSIDE_V6 = ipaddress.ip_network("2001:db8:beef::/64")
PROBE_PORTS = [(23, 30), (445, 20), (22, 15), (80, 12), (3389, 10), (8728, 7), (1433, 6)]
DNS_NAMES = ["example.com", "example.net", "example.org", "test.example", "isc.org", "version.bind"]


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: int, dst: int, proto: int, payload: bytes, ident: int, ttl: int = 64, frag: int = 0,
         total_len: int = 0) -> bytes:
    """IPv4 header + payload; frag = flags<<13 | offset in 8-byte units; total_len overrides (for fragments)."""
    length = total_len or 20 + len(payload)
    hdr = struct.pack("!BBHHHBBHII", 0x45, 0, length, ident, frag, ttl, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def l4_checksum(src: int, dst: int, proto: int, segment: bytes) -> int:
    return checksum(struct.pack("!IIBBH", src, dst, 0, proto, len(segment)) + segment)


def tcp(src: int, dst: int, sport: int, dport: int, seq: int, ack: int, flags: int, window: int = 1024) -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    return seg[:16] + struct.pack("!H", l4_checksum(src, dst, 6, seg)) + seg[18:]


def udp(src: int, dst: int, sport: int, dport: int, payload: bytes) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return seg[:6] + struct.pack("!H", l4_checksum(src, dst, 17, seg) or 0xFFFF) + seg[8:]


def icmp(icmp_type: int, code: int, rest: bytes, body: bytes) -> bytes:
    msg = struct.pack("!BBH", icmp_type, code, 0) + rest + body
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def dns_name(name: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"


def dns_message(ident: int, name: str, qtype: int, response: bool, answer_ip: int = 0) -> bytes:
    flags = 0x8180 if response else 0x0100  # QR|RD|RA (NOERROR) or RD
    msg = struct.pack("!HHHHHH", ident, flags, 1, 1 if response else 0, 0, 0)
    msg += dns_name(name) + struct.pack("!HH", qtype, 1)
    if response:  # one A record, name compressed to the question (offset 12)
        msg += struct.pack("!HHHIHI", 0xC00C, 1, 1, 300, 4, answer_ip)
    return msg


def eth(ethertype: int, payload: bytes) -> bytes:
    return ETH_DST + ETH_SRC + struct.pack("!H", ethertype) + payload


def public_ipv4(rng: random.Random) -> int:
    """A random unicast address outside private, loopback, multicast and the documentation/test ranges."""
    while True:
        a = rng.randrange(1, 224)
        if a in (10, 100, 127, 169, 172, 192, 198, 203):
            continue
        return a << 24 | rng.getrandbits(24)


class Generator:
    def __init__(self, seed: int, start: int, days: int):
        self.rng = random.Random(seed)
        self.start, self.span = start, days * 86400
        rng = self.rng
        # Heavy-tailed scanner population: a few sources send most of the probes.
        self.scanners = [public_ipv4(rng) for _ in range(20000)]
        weights = [rng.paretovariate(1.1) for _ in self.scanners]
        self.scanner_cum = list(_accumulate(weights))
        self.zmap = set(rng.sample(range(len(self.scanners)), 400))
        self.victims = [public_ipv4(rng) for _ in range(6)]
        self.resolvers = [public_ipv4(rng) for _ in range(300)]
        self.dns_clients = [public_ipv4(rng) for _ in range(2000)]
        self.ident = 0

    def darknet_dst(self) -> int:
        rng = self.rng
        if rng.random() < 0.02:
            return int(OUTSIDE_V4.network_address) + rng.randrange(1, 255)
        net = SENSORS[rng.random() < 0.45]  # tokyo-1 gets a little more than cloud-1
        return int(net.network_address) + rng.randrange(0, 256)

    def scanner(self) -> tuple:
        idx = self.rng.choices(range(len(self.scanners)), cum_weights=self.scanner_cum)[0]
        return self.scanners[idx], idx in self.zmap

    def next_id(self) -> int:
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    def syn_probe(self) -> bytes:
        rng = self.rng
        src, zmap = self.scanner()
        dst = self.darknet_dst()
        dport = rng.choices([p for p, _ in PROBE_PORTS], weights=[w for _, w in PROBE_PORTS])[0]
        seq = rng.getrandbits(32)
        if dport == 23 and rng.random() < 0.5:
            seq = dst  # Mirai's mark
        ident = 54321 if zmap else rng.getrandbits(16)
        seg = tcp(src, dst, rng.randrange(1024, 65536), dport, seq, 0, 0x02, rng.choice([1024, 29200, 65535]))
        return eth(0x0800, ipv4(src, dst, 6, seg, ident, ttl=rng.randrange(40, 250)))

    def backscatter(self) -> bytes:
        rng = self.rng
        victim = self.victims[min(int(rng.expovariate(0.8)), len(self.victims) - 1)]
        dst = self.darknet_dst()
        sport = rng.choice([80, 443])
        flags = 0x12 if rng.random() < 0.7 else 0x14  # SYN/ACK or RST/ACK
        seg = tcp(victim, dst, sport, rng.randrange(1024, 65536), rng.getrandbits(32), rng.getrandbits(32), flags,
                  window=0 if flags == 0x14 else 14600)
        return eth(0x0800, ipv4(victim, dst, 6, seg, self.next_id(), ttl=rng.randrange(45, 128)))

    def dns(self) -> bytes:
        rng = self.rng
        dst = self.darknet_dst()
        name = rng.choice(DNS_NAMES)
        if rng.random() < 0.55:  # query to the darknet (a scan for open resolvers, or spoofed amplification)
            src = rng.choice(self.dns_clients)
            qtype = rng.choice([1, 1, 1, 255, 16])
            payload = dns_message(rng.getrandbits(16), name, qtype, False)
            seg = udp(src, dst, rng.randrange(1024, 65536), 53, payload)
        else:  # response from source port 53: the darknet address was spoofed as the asker
            src = rng.choice(self.resolvers)
            payload = dns_message(rng.getrandbits(16), name, 1, True, public_ipv4(rng))
            seg = udp(src, dst, 53, rng.randrange(1024, 65536), payload)
        return eth(0x0800, ipv4(src, dst, 17, seg, self.next_id(), ttl=rng.randrange(40, 120)))

    def echo_request(self) -> bytes:
        rng = self.rng
        src, _ = self.scanner()
        dst = self.darknet_dst()
        msg = icmp(8, 0, struct.pack("!HH", rng.getrandbits(16), rng.randrange(1, 100)), b"\0" * 32)
        return eth(0x0800, ipv4(src, dst, 1, msg, self.next_id(), ttl=rng.randrange(40, 250)))

    def port_unreachable(self) -> bytes:
        """A host says "port unreachable" about a UDP packet that claimed to come from the darknet address."""
        rng = self.rng
        src = rng.choice(self.victims + self.resolvers[:20])
        dst = self.darknet_dst()
        inner_udp = udp(dst, src, rng.randrange(1024, 65536), rng.choice([53, 123, 161, 1900]), b"\0" * 12)
        quoted = ipv4(dst, src, 17, inner_udp, rng.getrandbits(16), ttl=rng.randrange(40, 64))[:28]
        msg = icmp(3, 3, b"\0\0\0\0", quoted)
        return eth(0x0800, ipv4(src, dst, 1, msg, self.next_id(), ttl=rng.randrange(40, 250)))

    def fragments(self) -> list:
        """A large DNS response in two IPv4 fragments: the first carries the UDP header, the second does not."""
        rng = self.rng
        src = rng.choice(self.resolvers)
        dst = self.darknet_dst()
        ident = self.next_id()
        # A DNSSEC-sized answer: one question, eight 200-byte TXT records (about 1.7 kB of UDP payload).
        name = rng.choice(DNS_NAMES)
        data = struct.pack("!HHHHHH", rng.getrandbits(16), 0x8180, 1, 8, 0, 0) + dns_name(name) + struct.pack("!HH", 16, 1)
        for _ in range(8):
            text = bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(199))
            data += struct.pack("!HHHIHB", 0xC00C, 16, 1, 300, 200, 199) + text
        seg = udp(src, dst, 53, rng.randrange(1024, 65536), data)
        first, rest = seg[:1480], seg[1480:]
        return [eth(0x0800, ipv4(src, dst, 17, first, ident, frag=0x2000)),
                eth(0x0800, ipv4(src, dst, 17, rest, ident, frag=1480 // 8))]

    def ipv6_syn(self) -> bytes:
        rng = self.rng
        src = ipaddress.ip_address("2001:db8:1::") + rng.getrandbits(32)
        dst = OUTSIDE_V6.network_address + rng.randrange(1, 1 << 16)
        sport, dport = rng.randrange(1024, 65536), rng.choice([22, 80, 443, 23])
        seg = struct.pack("!HHIIBBHHH", sport, dport, rng.getrandbits(32), 0, 5 << 4, 0x02, 1024, 0, 0)
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(seg), 6)
        seg = seg[:16] + struct.pack("!H", checksum(pseudo + seg)) + seg[18:]
        hdr = struct.pack("!IHBB", 6 << 28, len(seg), 6, 64) + src.packed + dst.packed
        return eth(0x86DD, hdr + seg)

    def arp(self) -> bytes:
        rng = self.rng
        target = int(SENSORS[0].network_address) + rng.randrange(1, 255)
        body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + ETH_SRC + struct.pack("!I", int(SENSORS[0].network_address) + 254)
        body += b"\0" * 6 + struct.pack("!I", target)
        return b"\xff" * 6 + ETH_SRC + b"\x08\x06" + body + b"\0" * 18  # padded to 60 bytes

    def packets(self, n: int):
        """Yields (timestamp in microseconds, frame) n times, then sorted by the caller."""
        rng = self.rng
        kinds = [(self.syn_probe, 70.0), (self.backscatter, 8.0), (self.dns, 8.0), (self.echo_request, 6.0),
                 (self.port_unreachable, 3.0), (None, 0.5), (self.ipv6_syn, 0.3), (self.arp, 0.01)]
        funcs = [k for k, _ in kinds]
        cum = list(_accumulate(w for _, w in kinds))
        made = 0
        while made < n:
            f = rng.choices(funcs, cum_weights=cum)[0]
            ts = self.start * 1_000_000 + rng.randrange(self.span * 1_000_000)
            frames = self.fragments() if f is None else [f()]
            for i, frame in enumerate(frames[: n - made]):
                yield ts + i, frame
            made += len(frames[: n - made])


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", required=True, help="pcap file to write (its folder is created)")
    ap.add_argument("-n", "--packets", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start", default="2024-10-01", help="first UTC day (YYYY-MM-DD)")
    ap.add_argument("--days", type=int, default=2)
    args = ap.parse_args()
    start = calendar.timegm(time.strptime(args.start, "%Y-%m-%d"))

    gen = Generator(args.seed, start, args.days)
    records = sorted(gen.packets(args.packets), key=lambda r: r[0])
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            out.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
            out.write(frame)
    os.replace(tmp, args.out)  # never leave a half-written capture under the final name
    print(f"{args.out}: {len(records)} packets, {args.start} + {args.days} days", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
