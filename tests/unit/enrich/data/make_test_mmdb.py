#!/usr/bin/env python3
"""Writes test-country.mmdb: a tiny MaxMind DB (format 2.0, https://maxmind.github.io/MaxMind-DB/) with the layout
of GeoLite2/DB-IP country databases, so that the tests check `--geoip` with a database that is not ip-location-db's.

  133.0.0.0/8      {"country": {"iso_code": "JP", "names": {"en": "Japan"}}}
  8.8.8.0/24       {"country": {"iso_code": "US"}}
  193.0.0.0/21     {"registered_country": {"iso_code": "NL"}}   (no "country": the lookup falls back)

IPv4 tree (ip_version 4), 24-bit records. Run: python3 make_test_mmdb.py > test-country.mmdb
"""
import ipaddress
import struct
import sys


def ctrl(type_, size):
    # Sizes up to 28 fit the control byte; up to 284 take one more byte (29 + n).
    assert size < 285
    small, extra = (size, b"") if size < 29 else (29, bytes([size - 29]))
    if type_ <= 7:
        return bytes([(type_ << 5) | small]) + extra
    return bytes([small, type_ - 7]) + extra  # extended type: the type byte comes before the size bytes


def enc(v):
    if isinstance(v, str):
        b = v.encode()
        return ctrl(2, len(b)) + b
    if isinstance(v, dict):
        out = ctrl(7, len(v))
        for k, x in v.items():
            out += enc(k) + enc(x)
        return out
    if isinstance(v, list):
        out = ctrl(11, len(v))
        for x in v:
            out += enc(x)
        return out
    if isinstance(v, tuple):  # (type, int): 5 uint16, 6 uint32, 9 uint64
        t, n = v
        b = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
        return ctrl(t, len(b)) + b
    raise TypeError(v)


NETWORKS = [
    ("133.0.0.0/8", {"country": {"iso_code": "JP", "names": {"en": "Japan"}}}),
    ("8.8.8.0/24", {"country": {"iso_code": "US"}}),
    ("193.0.0.0/21", {"registered_country": {"iso_code": "NL"}}),
]

data = b""
offsets = []
for _, record in NETWORKS:
    offsets.append(len(data))
    data += enc(record)

# Binary trie over the 32 address bits: node = [left, right], each a node index, ("data", i) or None.
nodes = [[None, None]]
for i, (cidr, _) in enumerate(NETWORKS):
    net = ipaddress.ip_network(cidr)
    bits = int(net.network_address)
    node = 0
    for depth in range(net.prefixlen):
        bit = (bits >> (31 - depth)) & 1
        if depth == net.prefixlen - 1:
            nodes[node][bit] = ("data", i)
        else:
            if nodes[node][bit] is None:
                nodes.append([None, None])
                nodes[node][bit] = len(nodes) - 1
            node = nodes[node][bit]
count = len(nodes)


def record(r):
    if r is None:
        return count  # no data
    if isinstance(r, tuple):
        return count + 16 + offsets[r[1]]
    return r


tree = b""
for left, right in nodes:
    tree += record(left).to_bytes(3, "big") + record(right).to_bytes(3, "big")

metadata = {
    "node_count": (6, count),
    "record_size": (5, 24),
    "ip_version": (5, 4),
    "database_type": "Test-Country",
    "languages": ["en"],
    "binary_format_major_version": (5, 2),
    "binary_format_minor_version": (5, 0),
    "build_epoch": (9, 1704067200),  # 2024-01-01
    "description": {"en": "darkscope test fixture (tests/unit/enrich/data/make_test_mmdb.py)"},
}
sys.stdout.buffer.write(tree + bytes(16) + data + b"\xab\xcd\xefMaxMind.com" + enc(metadata))
