#!/usr/bin/env python3
"""Writes N generated content rules (Suricata syntax) for the signature benchmark: random 6-16 byte
patterns, text or |hex|, some nocase, some anchored with offset/depth, some with a second relative
content; UDP, TCP or IP; a destination port from common darknet targets or any. Deterministic by
seed. Random patterns almost never occur in real payloads: the rules cost what a large rule set
costs (prefilter scans and candidate checks) without flooding the hit counts.

    bench/gen_rules.py -n 3000 -o bench/out/generated-3000.rules
"""
import argparse
import random
import string

PORTS = ["any", "53", "123", "161", "1434", "1900", "5060", "[1024:]", "[80,8080]", "445", "23", "[27015,27016]"]


def pattern(rng):
    n = rng.randint(6, 16)
    if rng.random() < 0.5:
        alphabet = string.ascii_letters + string.digits + "-_/.="
        return "".join(rng.choice(alphabet) for _ in range(n)), True
    return "|" + " ".join(f"{rng.randrange(256):02x}" for _ in range(n)) + "|", False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-sid", type=int, default=3000000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w") as f:
        f.write(f"# {args.n} generated content rules (bench/gen_rules.py --seed {args.seed})\n")
        for i in range(args.n):
            r = rng.random()
            proto = "udp" if r < 0.5 else "tcp" if r < 0.9 else "ip"
            port = rng.choice(PORTS) if proto != "ip" else "any"
            text, is_text = pattern(rng)
            opts = [f'msg:"BENCH generated rule {i}"', f'content:"{text}"']
            if is_text and rng.random() < 0.3:
                opts.append("nocase")
            if rng.random() < 0.3:
                opts.append(f"offset:{rng.randint(0, 8)}")
                opts.append(f"depth:{rng.randint(24, 200)}")
            if rng.random() < 0.3:
                second, _ = pattern(rng)
                opts += [f'content:"{second}"', "distance:0", f"within:{rng.randint(40, 400)}"]
            if rng.random() < 0.2:
                opts.append(f"dsize:>{rng.randint(8, 64)}")
            opts.append(f"classtype:{rng.choice(['attempted-recon', 'trojan-activity', 'misc-activity'])}")
            opts.append(f"sid:{args.first_sid + i}")
            opts.append("rev:1")
            f.write(f"alert {proto} any any -> any {port} ({'; '.join(opts)};)\n")


if __name__ == "__main__":
    main()
