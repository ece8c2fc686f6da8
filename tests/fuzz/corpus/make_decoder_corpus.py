#!/usr/bin/env python3
# Usage: make_decoder_corpus.py tests/fuzz/corpus/decoder
# Writes the decoder seed corpus: selector byte (index into LINK_TYPES in decoder_fuzz.cpp) + frame.
import os, struct, sys
out = sys.argv[1]
ETH, RAW, SLL, SLL2, NULL, LOOP, IPV4, IPV6 = 0, 1, 2, 3, 4, 5, 6, 7
def eth(t): return bytes.fromhex('001122334455' '66778899aabb') + struct.pack('>H', t)
def ip4(proto, plen, frag=0, ihl=5):
    h = struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, ihl*4 + plen, 0x1234, frag, 64, proto, 0, bytes([198,51,100,7]), bytes([192,0,2,1]))
    return h + b'\x01\x01\x01\x00' * (ihl - 5)
def ip6(nh, plen): return struct.pack('>IHBB', 0x60000000, plen, nh, 64) + bytes.fromhex('20010db8000000000000000000000007') + bytes.fromhex('20010db8ffff00000000000000000001')
def tcp(dport, flags, opts=b''): return struct.pack('>HHIIBBHHH', 40000, dport, 0x01020304, 0, (5 + len(opts)//4) << 4, flags, 1024, 0, 0) + opts
def udp(sp, dp, pl): return struct.pack('>HHHH', sp, dp, 8 + len(pl), 0) + pl
dns_q = bytes.fromhex('abcd01000001000000000000') + b'\x07example\x03com\x00\x00\x01\x00\x01'
syn_opts = bytes.fromhex('020405b4' '0402' '080a0000000100000000' '01' '030307')
quoted = ip4(6, 8) + struct.pack('>HHI', 50000, 80, 1)
seeds = {
  'eth_ipv4_tcp_syn': bytes([ETH]) + eth(0x800) + ip4(6, 40) + tcp(23, 2, syn_opts),
  'eth_qinq_ipv4_udp_dns': bytes([ETH]) + eth(0x88a8) + b'\x00\x64\x81\x00' + b'\x00\xc8\x08\x00' + ip4(17, 8 + len(dns_q)) + udp(5353, 53, dns_q),
  'eth_mpls_ipv6_udp': bytes([ETH]) + eth(0x8847) + b'\x00\x01\x01\x40' + ip6(17, 12) + udp(1, 161, b'abcd'),
  'eth_snap_ipv4_icmp_echo': bytes([ETH]) + eth(36) + bytes.fromhex('aaaa03000000' '0800') + ip4(1, 8) + struct.pack('>BBHHH', 8, 0, 0, 1, 1),
  'raw_ipv4_icmp_unreach_tcp': bytes([RAW]) + ip4(1, 8 + len(quoted)) + struct.pack('>BBHI', 3, 3, 0, 0) + quoted,
  'raw_ipv4_frag_later': bytes([RAW]) + ip4(17, 16, 0x00b9) + b'\xee' * 16,
  'raw_ipv4_options_gre': bytes([RAW]) + ip4(47, 4, 0, 6) + b'\x00\x00\x08\x00',
  'raw_ipv6_ext_chain_frag_udp': bytes([RAW]) + ip6(0, 8 + 8 + 16) + bytes([43, 0, 1, 4, 0, 0, 0, 0]) + bytes([44, 0, 4, 0, 0, 0, 0, 0]) + bytes([17, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe]) + udp(53, 33000, b''),
  'raw_ipv6_icmpv6_unreach_udp': bytes([RAW]) + ip6(58, 8 + 48) + bytes([1, 4, 0, 0, 0, 0, 0, 0]) + ip6(17, 8) + udp(33434, 5353, b''),
  'raw_ipv6_jumbo': bytes([RAW]) + ip6(0, 0) + bytes([17, 0, 0xc2, 4, 0, 0, 0, 24]) + udp(1, 2, b'abcdefgh'),
  'sll_ipv4_tcp_rst': bytes([SLL]) + bytes.fromhex('0000000100066677889900aabb000800') + ip4(6, 20) + tcp(80, 0x14),
  'sll2_ipv6_tcp_synack': bytes([SLL2]) + bytes.fromhex('86dd0000000000020001000666778899aabb0000') + ip6(6, 20) + tcp(443, 0x12),
  'null_le_ipv4_udp': bytes([NULL]) + b'\x02\x00\x00\x00' + ip4(17, 8) + udp(53, 4444, b''),
  'loop_ipv6_icmpv6_echo': bytes([LOOP]) + b'\x00\x00\x00\x1e' + ip6(58, 8) + bytes([128, 0, 0, 0, 0, 1, 0, 1]),
  'ipv4_link_with_ipv6': bytes([IPV4]) + ip6(59, 0),
  'ipv6_link_ipv4_truncated': bytes([IPV6 | 0x80]) + ip4(6, 20)[:18],
}
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    open(os.path.join(out, name), 'wb').write(data)
