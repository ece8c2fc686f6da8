#!/usr/bin/env python3
"""Writes the seed corpus of rule_parser_fuzz into tests/fuzz/corpus/rule_parser/.

Every seed is written here or taken from our own rules/darkscope.rules (no third-party rule file is
committed): each default rule alone, every keyword with valid and malformed arguments, nested
address and port lists with negation and variables, line continuations, and rules the parser must
skip (sessions, application-layer buffers).
Usage: python3 tests/fuzz/make_rule_corpus.py
"""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'rule_parser')
RULES = os.path.join(HERE, '..', '..', 'rules', 'darkscope.rules')

SEEDS = [
    'alert tcp any any -> any 445 (msg:"x"; flags:S,12; sid:1;)',
    'alert udp $HOME_NET any -> ![10.0.0.0/8,!10.1.0.0/16] [53,1024:2048,!1500] (content:"|00 01|a"; offset:2; depth:9; sid:2;)',
    'alert ip any any <> 2001:db8::/32 any (content:!"abc"; nocase; sid:3;)',
    'alert udp any any -> any any (content:"a"; content:"b"; distance:-1; within:3; content:"c"; distance:0; sid:4;)',
    'alert udp any any -> any any (content:"ab"; startswith; content:"yz"; endswith; sid:5;)',
    'alert udp any any -> any any (pcre:"/^a.{2,}b/Ri"; sid:6;)',
    'alert udp any any -> any any (content:"x"; byte_test:2,!&,0x80,0,relative,little; byte_test:3,>=,100,1,string,dec; sid:7;)',
    'alert udp any any -> any any (isdataat:!10,relative; dsize:5<>100; sid:8;)',
    'alert icmp any any -> any any (itype:>7; icode:!0; icmp_id:1; icmp_seq:<9; sid:9;)',
    'alert tcp any any -> any any (seq:0; ack:!1; window:1024; ttl:<65; id:54321; ip_proto:!udp; fragbits:D+; sid:10;)',
    'alert tcp any any -> any any (flags:*SF; threshold:type both, track by_dst, count 2, seconds 60; sid:11;)',
    'alert tcp any any -> any any (detection_filter:track by_src, count 20, seconds 60; metadata:darkscope_category Scan; sid:12;)',
    'alert tcp any any -> any any (flags:S; detection_filter:track by_dst, count 1, seconds 60, unique_on dst_port; sid:25;)',
    'alert tcp any any -> any 80 (flow:established,to_server; http.uri; content:"x"; sid:13;)',
    'alert http any any -> any any (content:"x"; sid:14;)',
    'alert udp any any -> any any (msg:"two \\\n lines"; sid:15;)',
    'alert udp any any -> any any (content:"|4|"; sid:16;)',
    'alert udp any any -> any any (content:"a\\;b\\"c"; sid:17;)',
    'alert udp [[[[1.2.3.4]]]] any -> any any (sid:18;)',
    'alert udp any any -> any any (content:"a"; fast_pattern; content:"bcdef"; classtype:attempted-dos; sid:19;)',
    'alert tcp-pkt any any -> any any (tcp.flags:R,A; content:"x"; sid:20;)',
    'alert udp any any -> any any (content:"abc"; offset:1; distance:1; sid:21;)',
    'alert udp any any -> any any (sid:22; sid:23;)',
    '# alert udp any any -> any any (sid:24;)\n\nalert udp any any -> any any (content:"a"\n',
]


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = list(SEEDS)
    with open(RULES) as f:
        seeds += [line.strip() for line in f if line.startswith('alert')]
    seeds.append(open(RULES).read())
    for seed in seeds:
        data = seed.encode()
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(OUT, name + '.rules'), 'wb') as f:
            f.write(data)
    print(f'{len(seeds)} seeds in {OUT}')


if __name__ == '__main__':
    main()
