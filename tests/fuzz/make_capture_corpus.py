#!/usr/bin/env python3
"""Writes the seed corpus of capture_reader_fuzz into tests/fuzz/corpus/capture_reader/.

Every seed is generated here (no third-party capture is committed): classic pcap in both byte orders with micro-
and nanosecond timestamps, the old 2.0 format, a file cut inside a record, pcapng with sections of both byte orders,
several interfaces with different link types, snaplens and if_tsresol, every packet block type and blocks the reader
must skip; and gzip, xz and zstd copies so that the fuzzer reaches the decompressors. When ../shared/data is
present, scripts/test.sh adds its real captures as a second, read-only seed folder.
Usage: python3 tests/fuzz/make_capture_corpus.py   (zstd seeds need the zstd command)
"""
import gzip
import lzma
import os
import shutil
import struct
import subprocess

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'capture_reader')

# An Ethernet + IPv4 + TCP SYN frame (54 bytes) and the same without Ethernet.
IP_SYN = bytes.fromhex('45000028d4310000400600000a000001c6336401'
                       '9c4001bd00000001000000005002040000000000')
ETH_SYN = bytes.fromhex('020000000001020000000002' '0800') + IP_SYN


def pcap(order, nano=False, version=(2, 4), linktype=1, frames=(ETH_SYN,), snaplen=65535):
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = struct.pack(order + 'IHHiIII', magic, version[0], version[1], 0, 0, snaplen, linktype)
    for i, f in enumerate(frames):
        lens = (len(f), len(f) + 4) if version >= (2, 3) else (len(f) + 4, len(f))  # 2.0: swapped
        out += struct.pack(order + 'IIII', 1734480000 + i, i * 1000, *lens) + f
    return out


def block(order, btype, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(order + 'II', btype, n) + body + struct.pack(order + 'I', n)


def option(order, code, value):
    return struct.pack(order + 'HH', code, len(value)) + value + b'\0' * (-len(value) % 4)


def pcapng_section(order, interfaces, packets, extra=b''):
    """interfaces: [(linktype, snaplen, tsresol or None)]; packets: [(kind, iface, frame)]."""
    out = block(order, 0x0A0D0D0A, struct.pack(order + 'IHHq', 0x1A2B3C4D, 1, 0, -1))
    for linktype, snaplen, tsresol in interfaces:
        opts = option(order, 9, bytes([tsresol])) + option(order, 0, b'') if tsresol is not None else b''
        out += block(order, 1, struct.pack(order + 'HHI', linktype, 0, snaplen) + opts)
    out += extra
    for kind, iface, frame in packets:
        ts = 1734480000 * 1000000
        if kind == 'epb':
            out += block(order, 6, struct.pack(order + 'IIIII', iface, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                               len(frame)) + frame)
        elif kind == 'spb':
            out += block(order, 3, struct.pack(order + 'I', len(frame)) + frame)
        else:  # obsolete packet block
            out += block(order, 2, struct.pack(order + 'HHIIII', iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                               len(frame)) + frame)
    return out


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    seeds = {
        'pcap_le_usec.pcap': pcap('<'),
        'pcap_be_nsec.pcap': pcap('>', nano=True, frames=(ETH_SYN, ETH_SYN[:30])),
        'pcap_v2.0_swapped_lengths.pcap': pcap('<', version=(2, 0)),
        'pcap_raw_ip.pcap': pcap('<', linktype=101, frames=(IP_SYN,)),
        'pcap_cut_inside_record.pcap': pcap('<', frames=(ETH_SYN, ETH_SYN))[:-20],
        'pcap_header_only.pcap': pcap('<', frames=()),
        'pcapng_le_two_interfaces.pcapng': pcapng_section(
            '<', [(1, 65535, 6), (101, 128, 9)], [('epb', 0, ETH_SYN), ('epb', 1, IP_SYN), ('pb', 0, ETH_SYN)],
            extra=block('<', 4, struct.pack('<HH', 0, 0)) + block('<', 0x40000BAD, b'custom')),
        'pcapng_be_spb.pcapng': pcapng_section('>', [(1, 64, 0x80 | 20)], [('spb', 0, ETH_SYN)]),
        'pcapng_two_sections_both_orders.pcapng': (
            pcapng_section('<', [(1, 65535, None)], [('epb', 0, ETH_SYN)])
            + pcapng_section('>', [(228, 65535, None)], [('epb', 0, IP_SYN)])),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
    with open(os.path.join(OUT, 'pcap_le_usec.pcap.gz'), 'wb') as f:
        f.write(gzip.compress(seeds['pcap_le_usec.pcap'], mtime=0))
    with open(os.path.join(OUT, 'pcapng_be_spb.pcapng.xz'), 'wb') as f:
        f.write(lzma.compress(seeds['pcapng_be_spb.pcapng']))
    if shutil.which('zstd'):
        zst = subprocess.run(['zstd', '-c', '-q'], input=seeds['pcapng_le_two_interfaces.pcapng'],
                             capture_output=True, check=True).stdout
        with open(os.path.join(OUT, 'pcapng_le_two_interfaces.pcapng.zst'), 'wb') as f:
            f.write(zst)
    print('wrote %d seeds to %s' % (len(os.listdir(OUT)), OUT))


if __name__ == '__main__':
    main()
