#!/usr/bin/env python3
"""Writes tests/fuzz/corpus/dns/: seed DNS payloads for dns_fuzz (run it again after changing it).

A query with EDNS0 and the DO bit, a response with compressed answers, a response cut inside a record, an
escaped name, the root, and the hostile shapes the parser must stop on: a pointer to itself, a loop through
a label, a forward pointer, an overlong name and an extended label type."""
import pathlib
import struct

out = pathlib.Path(__file__).resolve().parent / "corpus" / "dns"
out.mkdir(parents=True, exist_ok=True)


def header(ident, flags, qd, an=0, ns=0, ar=0):
    return struct.pack(">6H", ident, flags, qd, an, ns, ar)


def name(*labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def question(n, qtype=1):
    return n + struct.pack(">2H", qtype, 1)


OPT_DO = b"\0" + struct.pack(">HHIH", 41, 4096, 0x8000, 0)
answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 1])
seeds = {
    "query-edns-do": header(0xBEEF, 0x0100, 1, 0, 0, 1) + question(name(b"www", b"example", b"com"), 16) + OPT_DO,
    "response-compressed": header(7, 0x8180, 1, 2) + question(name(b"a", b"example", b"org")) + answer * 2,
    "response-cut": (header(9, 0x8180, 1, 1) + question(name(b"example", b"net"), 255) + b"\xc0\x0c"
                     + struct.pack(">HHIH", 46, 1, 60, 500) + b"\xab" * 40),
    "escaped-name": header(1, 0, 1) + question(name(b"<s>.\\ \0\xe9", b"com")),
    "root": header(1, 0, 1) + question(b"\0", 2),
    "pointer-self": header(1, 0, 1) + b"\xc0\x0c" + struct.pack(">2H", 1, 1),
    "pointer-loop": header(1, 0, 1) + b"\x01a\xc0\x0c" + struct.pack(">2H", 1, 1),
    "pointer-forward": header(1, 0, 1) + b"\xc0\x14" + struct.pack(">2H", 1, 1) + name(b"x"),
    "name-too-long": header(1, 0, 1) + question(name(*[b"a" * 63] * 5)),
    "label-type": header(1, 0, 1) + b"\x41abc",
}
for label, payload in seeds.items():
    (out / label).write_bytes(payload)
print(f"wrote {len(seeds)} seeds to {out}")
