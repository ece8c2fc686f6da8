#!/usr/bin/env python3
"""Derives data/iana/*.tsv, the IANA names that the reports show, from the IANA registry CSVs.

    python3 scripts/gen_iana_tables.py [IANA_DIR]           # writes data/iana/{services,icmp-types,protocols}.tsv
    python3 scripts/gen_iana_tables.py --check [IANA_DIR]   # exit 1 if the committed tables differ from a fresh run

IANA_DIR defaults to ../shared/data/iana beside the repository. The CSVs are read as real CSV (quoted fields span
lines, ports come as ranges such as 225-241, some records have no service name or no protocol). The output is
deterministic: the same CSVs give the same bytes, so the committed tables can be checked against a fresh run. The
tables are compiled into darkscope (src/report/iana_tables.cpp.in), so a user's machine needs none of these files.
"""

import argparse
import csv
import hashlib
import io
import os
import re
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IANA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data", "iana")
OUT_DIR = os.path.join(REPO_ROOT, "data", "iana")
RAW_STRING_END = ')darkscope_iana"'
COMMAND = "python3 scripts/gen_iana_tables.py [IANA_DIR, default ../shared/data/iana]"

# Where each CSV came from, as shared/data/PROVENANCE.md records it ("iana - registries").
PROVENANCE = {
    "service-names-port-numbers.csv": (
        "trottling/Network-ports-dictionary",
        "service-names-port-numbers.csv",
        "c1dad51ecdb33f91bd3d62e5231cd31aaea6472b",
    ),
    "icmp-parameters-types.csv": (
        "IndustrialDonut/ethernet-analysis",
        "protocol_tables/icmp-parameters-types.csv",
        "9d8d5636377d4a2cabc34d4bad9a8c728da5012d",
    ),
    "protocol-numbers-1.csv": (
        "IndustrialDonut/ethernet-analysis",
        "protocol_tables/protocol-numbers-1.csv",
        "9d8d5636377d4a2cabc34d4bad9a8c728da5012d",
    ),
}

# TCP and UDP only: the reports' service keys have no SCTP or DCCP kind (those show as "proto 132", "proto 33").
KEPT_PROTOCOLS = ("tcp", "udp")


def clean(text):
    """One line of text: the CSVs' embedded newlines, tabs and runs of spaces become one space."""
    return re.sub(r"\s+", " ", text).strip()


def expand(number_field, limit):
    """'225-241' -> 225..241, '53' -> [53]; None for an empty or malformed field."""
    field = number_field.strip()
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", field)
    if not match:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if first > last or last > limit:
        return None
    return range(first, last + 1)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        raw = f.read()
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    return rows, hashlib.sha256(raw.encode("utf-8")).hexdigest()


def header(title, source_file, sha256, newest_date, notes, columns):
    repo, path, commit = PROVENANCE[source_file]
    lines = [
        f"# {title}",
        f"# Source: {source_file} (sha256 {sha256}), copied from {repo}: {path} at commit {commit}",
        "#   (shared/data/PROVENANCE.md); IANA registries are freely usable public data.",
        f"# Newest registration or modification date in the source: {newest_date}",
        f"# Regenerate: {COMMAND}",
    ]
    lines += [f"# {note}" for note in notes]
    lines.append("# Columns: " + "<TAB>".join(columns))
    return "\n".join(lines) + "\n"


def services_table(iana_dir):
    source = "service-names-port-numbers.csv"
    rows, sha256 = read_csv(os.path.join(iana_dir, source))
    first = {}  # (port, proto) -> (name, description), the first named record in file order
    no_protocol = {}  # the same for records that name no protocol (e.g. swx 7300-7359): a fallback for both
    dropped = 0
    bad = 0
    for row in rows:
        name = clean(row["Service Name"] or "")
        proto = clean(row["Transport Protocol"] or "").lower()
        if not name or (proto and proto not in KEPT_PROTOCOLS):
            continue
        ports = expand(row["Port Number"] or "", 65535)
        if ports is None:  # an empty port: a service name registered without a port (e.g. arp)
            bad += 1 if (row["Port Number"] or "").strip() else 0
            continue
        description = clean(row["Description"] or "")
        table = first if proto else no_protocol
        for port in ports:
            for key in [(port, proto)] if proto else [(port, p) for p in KEPT_PROTOCOLS]:
                if key in table:
                    dropped += 1
                else:
                    table[key] = (name, description)
    filled = 0
    for key, value in no_protocol.items():
        if key not in first:
            first[key] = value
            filled += 1
    if bad:
        print(f"{source}: {bad} named records with an unreadable port number skipped", file=sys.stderr)
    # The registry's newest change, registration or modification (dates are YYYY-MM-DD or YYYY-MM).
    dates = [clean(row[column] or "") for row in rows for column in ("Registration Date", "Modification Date")]
    newest = max((d for d in dates if d), default="none given")
    notes = [
        "TCP and UDP records with a service name; a port range (225-241) is one line per port. A named record",
        f"  without a protocol fills tcp and udp where no record names that protocol ({filled} lines).",
        "Where IANA lists several service names for one port and protocol, the first in file order is kept",
        f"  ({dropped} later names dropped).",
    ]
    out = header("IANA Service Name and Transport Protocol Port Number Registry: TCP and UDP service names.",
                 source, sha256, newest, notes, ["port", "proto", "service name", "description"])
    for (port, proto) in sorted(first, key=lambda k: (k[0], KEPT_PROTOCOLS.index(k[1]))):
        name, description = first[(port, proto)]
        out += f"{port}\t{proto}\t{name}\t{description}\n"
    return out


def by_number(rows, number_column, fields):
    """{number: fields(row)} for the rows where fields gives a tuple; ranges expanded; the first row wins."""
    table = {}
    for row in rows:
        values = fields(row)
        numbers = expand(row[number_column] or "", 255)
        if values is None or numbers is None:
            continue
        for number in numbers:
            table.setdefault(number, values)
    return table


def tsv_lines(table):
    return "".join(f"{number}\t" + "\t".join(values) + "\n" for number, values in sorted(table.items()))


def icmp_type_fields(row):
    name = clean(row["Name"] or "")
    return None if not name or name == "Unassigned" or name.startswith("Reserved") else (name,)


def protocol_fields(row):
    keyword = clean(row["Keyword"] or "")
    description = clean(row["Protocol"] or "")
    if keyword == "Reserved" or (not keyword and description in ("", "Unassigned")):
        return None
    return (keyword, description)


def icmp_types_table(iana_dir):
    source = "icmp-parameters-types.csv"
    rows, sha256 = read_csv(os.path.join(iana_dir, source))
    notes = ["Named ICMP types; ranges expanded; Unassigned and Reserved entries left out."]
    out = header("IANA ICMP Type Numbers (Internet Control Message Protocol (ICMP) Parameters).",
                 source, sha256, "none given", notes, ["type", "name"])
    return out + tsv_lines(by_number(rows, "Type", icmp_type_fields))


def protocols_table(iana_dir):
    source = "protocol-numbers-1.csv"
    rows, sha256 = read_csv(os.path.join(iana_dir, source))
    notes = [
        "Assigned IP protocol numbers; Unassigned and Reserved entries left out. Some assigned numbers",
        "  (e.g. 61 'any host internal protocol', 253 and 254 for experiments) have no keyword in IANA's table.",
    ]
    out = header("IANA Assigned Internet Protocol Numbers.",
                 source, sha256, "none given", notes, ["number", "keyword", "description"])
    return out + tsv_lines(by_number(rows, "Decimal", protocol_fields))


TABLES = {
    "services.tsv": services_table,
    "icmp-types.tsv": icmp_types_table,
    "protocols.tsv": protocols_table,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iana_dir", nargs="?", default=DEFAULT_IANA_DIR, help="folder with the IANA CSVs")
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed data/iana/*.tsv instead of writing them")
    args = parser.parse_args()
    if not os.path.isdir(args.iana_dir):
        print(f"{args.iana_dir}: no such folder; pass the folder that holds the IANA CSVs "
              "(service-names-port-numbers.csv, icmp-parameters-types.csv, protocol-numbers-1.csv)",
              file=sys.stderr)
        return 2
    stale = []
    for file_name, make in TABLES.items():
        text = make(args.iana_dir)
        if RAW_STRING_END in text:  # src/report/iana_tables.cpp.in holds each table in a raw string
            print(f"{file_name}: contains {RAW_STRING_END}, the raw string's end; change the delimiter",
                  file=sys.stderr)
            return 2
        path = os.path.join(OUT_DIR, file_name)
        if args.check:
            try:
                with open(path, encoding="utf-8", newline="") as f:
                    committed = f.read()
            except FileNotFoundError:
                committed = None
            if committed != text:
                stale.append(path)
            continue
        os.makedirs(OUT_DIR, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({len(text.encode('utf-8'))} bytes)")
    if stale:
        for path in stale:
            print(f"{os.path.relpath(path, REPO_ROOT)}: differs from a fresh run of {COMMAND}", file=sys.stderr)
        return 1
    if args.check:
        print("data/iana/*.tsv match a fresh run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
