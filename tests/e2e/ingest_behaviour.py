#!/usr/bin/env python3
"""End-to-end checks of ingest's promises that do not need real captures:

- the same content twice counts once (exit status 3 the second time);
- a kill -9 in the middle of a file leaves the store exactly as before that file;
- a corrupt file is reported with its name and byte offset, what came before is kept,
  and the other files of the run go on (exit status 1);
- an unsupported link type and a file that is not a capture are named and skipped;
- directories and glob patterns expand, and files are read in time order.

Captures are written here with the standard library (a classic pcap of SYN probes).
Usage: ingest_behaviour.py --binary build/release/darkscope
"""
import argparse
import json
import lzma
import os
import random
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def checksum(data):
    s = 0
    for i in range(0, len(data), 2):
        s += (data[i] << 8) + (data[i + 1] if i + 1 < len(data) else 0)
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def syn_frame(src, dst, dport):
    tcp = struct.pack('!HHIIBBHHH', 40000 + (src & 0xFFF), dport, src * 7919 & 0xFFFFFFFF, 0, 5 << 4, 0x02,
                      1024, 0, 0)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40, 54321, 0, 64, 6, 0, struct.pack('!I', src),
                     struct.pack('!I', dst))
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    eth = b'\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00'
    return eth + ip + tcp


def write_pcap(path, packets, start=1734480000, linktype=1, per_second=1000):
    """packets: list of (src, dst, dport) or an int count for generated SYNs; per_second of them a second."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        if isinstance(packets, int):
            rng = random.Random(7)
            packets = [(0x0A000000 + rng.randrange(1 << 16), 0xC6336400 + rng.randrange(256),
                        rng.choice((23, 445, 22, 80))) for _ in range(packets)]
        for i, (src, dst, dport) in enumerate(packets):
            frame = syn_frame(src, dst, dport)
            ts = start + i // per_second
            f.write(struct.pack('<IIII', ts, (i % per_second) * (1000000 // per_second), len(frame), len(frame)))
            f.write(frame)


def pcapng_two_sections(path, second_linktype):
    """Section 1: an Ethernet interface and one SYN; section 2: an interface of second_linktype and one SYN
    (raw IP when it is 101)."""
    def block(btype, body):
        body += b'\0' * (-len(body) % 4)
        length = 12 + len(body)
        return struct.pack('<II', btype, length) + body + struct.pack('<I', length)
    shb = block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1))
    out = b''
    for linktype in (1, second_linktype):
        frame = syn_frame(0x0A000077, 0xC6336477, 8080)
        if linktype == 101:
            frame = frame[14:]  # raw IP: no Ethernet header
        us = 1734800000 * 1000000
        epb = struct.pack('<IIIII', 0, us >> 32, us & 0xFFFFFFFF, len(frame), len(frame)) + frame
        out += shb + block(1, struct.pack('<HHI', linktype, 0, 65535)) + block(6, epb)
    with open(path, 'wb') as f:
        f.write(out)


def run(binary, *args, timeout=120):
    p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def summary(binary, store):
    rc, out, err = run(binary, 'summary', '--store', store, '--by', 'service', '--top', '0', '--json')
    if rc != 0:
        raise RuntimeError('summary failed: ' + err)
    s = json.loads(out)
    s.pop('store', None)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--binary', required=True)
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix='darkscope-e2e-')
    try:
        store = os.path.join(work, 't.db')
        a = os.path.join(work, 'a.pcap')
        write_pcap(a, [(0x0A000001, 0xC6336401, 445), (0x0A000002, 0xC6336402, 445), (0x0A000001, 0xC6336403, 23)])

        # Idempotence
        rc, _, err = run(binary, 'ingest', '--store', store, a)
        check(rc == 0, 'first ingest exits 0 (%d: %s)' % (rc, err.strip()[-200:]))
        before = summary(binary, store)
        check(before['totals']['packets'] == 3, 'three packets stored')
        rows = {r['key']: r for r in before['rows']}
        check(rows.get('445/TCP', {}).get('unique_sources') == 2, '445/TCP has two unique sources')
        check(before['monitored_addresses'] == 3, 'implicit sensor counts 3 distinct destinations')
        copy = os.path.join(work, 'a-copy.cap')
        shutil.copy(a, copy)
        rc, _, err = run(binary, 'ingest', '--store', store, copy)
        check(rc == 3, 'same content under another name exits 3 (got %d)' % rc)
        check('already ingested' in err, 'duplicate is named: ' + err.strip().splitlines()[-2:][0] if err else '')
        check(summary(binary, store) == before, 'duplicate changes nothing')

        # Corrupt file among good ones: the other files go on, the earlier packets are kept.
        good = os.path.join(work, 'good.pcap')
        write_pcap(good, [(0x0A000009, 0xC6336409, 80)], start=1734490000)
        bad = os.path.join(work, 'bad.pcap')
        write_pcap(bad, [(0x0A00000A + i, 0xC633640A, 22) for i in range(10)], start=1734500000)
        with open(bad, 'r+b') as f:
            # Record 6's header: 24 + 5 * (16 + 54); make its length absurd.
            f.seek(24 + 5 * 70 + 8)
            f.write(struct.pack('<II', 0x7FFFFFFF, 0x7FFFFFFF))
        rc, _, err = run(binary, 'ingest', '--store', store, bad, good)
        check(rc == 1, 'corrupt file makes exit status 1 (got %d)' % rc)
        check('bad.pcap' in err and 'offset %d' % (24 + 5 * 70) in err,
              'error names the file and the offset: ' + ' | '.join(l for l in err.splitlines() if 'bad.pcap' in l))
        check('5 earlier packets' in err, 'error says what was kept')
        s = summary(binary, store)
        rows = {r['key']: r for r in s['rows']}
        check(rows.get('22/TCP', {}).get('packets') == 5, 'the five packets before the fault are kept')
        check(rows.get('80/TCP', {}).get('packets') == 1, 'the good file after it is ingested')

        # Unsupported link type, and a file that is not a capture at all.
        odd = os.path.join(work, 'odd.pcap')
        write_pcap(odd, 2, linktype=160)
        text = os.path.join(work, 'notes.pcap')
        with open(text, 'w') as f:
            f.write('this is not a capture\n')
        before = summary(binary, store)
        rc, _, err = run(binary, 'ingest', '--store', store, odd, text)
        check(rc == 1, 'unsupported inputs make exit status 1 (got %d)' % rc)
        check('160' in err and 'odd.pcap' in err, 'unsupported link type is named')
        check('notes.pcap' in err and 'not a pcap' in err, 'non-capture file is named')
        check(summary(binary, store) == before, 'skipped files change nothing')

        # An unsupported link type in a later pcapng section skips the whole file, not just that section.
        mixed = os.path.join(work, 'mixed.pcapng')
        pcapng_two_sections(mixed, 160)
        rc, _, err = run(binary, 'ingest', '--store', store, mixed)
        check(rc == 1 and '160' in err and 'nothing stored' in err,
              'unsupported link type in section 2 skips the file: ' + ' '.join(l for l in err.splitlines() if 'mixed' in l))
        check(summary(binary, store) == before, 'nothing of that file is stored')
        fine = os.path.join(work, 'fine.pcapng')
        pcapng_two_sections(fine, 101)
        rc, _, err = run(binary, 'ingest', '--store', store, fine)
        s = summary(binary, store)
        check(rc == 0 and s['totals']['packets'] == before['totals']['packets'] + 2,
              'two sections with supported link types both count (%d)' % rc)
        before = s

        # Directories and globs.
        d = os.path.join(work, 'dir', 'sub')
        os.makedirs(d)
        write_pcap(os.path.join(d, 'h1.pcap'), [(0x0A0000F1, 0xC63364F1, 5000)], start=1734600000)
        write_pcap(os.path.join(work, 'dir', 'h0.pcap'), [(0x0A0000F0, 0xC63364F0, 5000)], start=1734500000)
        store2 = os.path.join(work, 'dir.db')
        rc, _, err = run(binary, 'ingest', '--store', store2, os.path.join(work, 'dir'))
        check(rc == 0, 'directory input ingests (%d)' % rc)
        check(summary(binary, store2)['totals']['packets'] == 2, 'both files found under the directory')
        store3 = os.path.join(work, 'glob.db')
        rc, _, err = run(binary, 'ingest', '--store', store3, os.path.join(work, 'dir', '*.pcap'))
        check(rc == 0 and summary(binary, store3)['totals']['packets'] == 1, 'glob input expands')

        # The store holds the same bytes whatever the number of aggregation threads: sources are
        # sharded across workers and every merge is exact. Three hours over a day boundary, with
        # sensors, so that hourly, daily, per-source and destination rows are all compared; and a few
        # scanners among the other sources, so that the stream detectors' events are compared too (they
        # once depended on which sources shared a worker).
        spread = os.path.join(work, 'spread.pcap')
        rng = random.Random(11)
        packets = [(0x0A000000 + rng.randrange(5000), 0xC6336400 + rng.randrange(512),
                    rng.choice((23, 445, 22, 80, 8080))) for _ in range(30000)]
        for scanner in range(6):
            at = sorted(rng.sample(range(len(packets)), 400))
            for k, i in enumerate(at):
                packets[i] = (0x0B000000 + scanner, 0xC6336400 + (k * 7 + scanner) % 512, 23 + scanner % 2)
        write_pcap(spread, packets, start=1734562800 - 3600, per_second=3)
        sensors_file = os.path.join(work, 'sensors.toml')
        with open(sensors_file, 'w') as f:
            f.write('[[sensor]]\nname = "a"\nnetworks = ["198.51.100.0/24"]\n')
        for sensors_args in (['--sensors', sensors_file], []):  # named sensors, then the implicit one
            dumps = {}
            for threads in ('0', '1', '3'):
                db = os.path.join(work, 'threads-%s-%d.db' % (threads, len(sensors_args)))
                rc, _, err = run(binary, 'ingest', '--threads', threads, *sensors_args, '--store', db, spread)
                check(rc == 0, 'ingest --threads %s (%d: %s)' % (threads, rc, err.strip()))
                with sqlite3.connect(db) as con:
                    dumps[threads] = {t: con.execute('SELECT * FROM %s ORDER BY 1, 2, 3, 4' % t).fetchall()
                                      for t in ('counters_hourly', 'counters_daily', 'source_daily',
                                                'decode_events', 'sensor_destinations')}
                    # Without ids: the workers' events are stored in the order the workers hand them back.
                    dumps[threads]['detected_events'] = con.execute(
                        'SELECT origin, kind, detector, subject, start_ns, end_ns, magnitude, packets, detail '
                        'FROM detected_events ORDER BY kind, subject, detector, start_ns, end_ns').fetchall()
            check(len(dumps['0']['counters_hourly']) > 0 and len(dumps['0']['source_daily']) > 0 and
                  (sensors_args or len(dumps['0']['sensor_destinations']) > 0) and
                  len(dumps['0']['detected_events']) > 0,
                  'the thread comparison has rows to compare')
            for threads in ('1', '3'):
                for table, rows in dumps['0'].items():
                    check(dumps[threads][table] == rows, 'table %s is the same with --threads %s as with 0 (%s)'
                          % (table, threads, 'named sensors' if sensors_args else 'implicit sensor'))

        # The same packets cut into files that share days (as hourly rotated captures do): later files
        # write their share of a day as parts, folded at the end of the run. Two runs, so that a day
        # stored by an earlier run takes parts too. The stored rows must be those of the one file.
        spread_packets = packets  # spread.pcap's
        start = 1734562800 - 3600
        cut_dir = os.path.join(work, 'cut')
        os.makedirs(cut_dir)
        cuts = [0, 6999, 12999, 21000, 30000]  # 3 packets a second (multiples of 3 keep each time): 39-50 minutes each
        for i in range(len(cuts) - 1):
            write_pcap(os.path.join(cut_dir if i < 3 else work, 'cut-%d.pcap' % i),
                       spread_packets[cuts[i]:cuts[i + 1]], start=start + cuts[i] // 3, per_second=3)
        cut_db = os.path.join(work, 'cut.db')
        rc, _, err = run(binary, 'ingest', '--threads', '2', '--sensors', sensors_file, '--store', cut_db, cut_dir)
        check(rc == 0, 'ingest of the cut files (%d: %s)' % (rc, err.strip()))
        rc, _, err = run(binary, 'ingest', '--threads', '2', '--store', cut_db, os.path.join(work, 'cut-3.pcap'))
        check(rc == 0, 'ingest of the last cut file in a second run (%d: %s)' % (rc, err.strip()))
        whole_db = os.path.join(work, 'threads-0-2.db')  # the one file, --threads 0, named sensors
        with sqlite3.connect(cut_db) as con, sqlite3.connect(whole_db) as whole:
            for table in ('counters_hourly', 'counters_daily', 'source_daily'):
                q = 'SELECT * FROM %s ORDER BY 1, 2, 3, 4' % table
                check(con.execute(q).fetchall() == whole.execute(q).fetchall(),
                      'table %s from four files (two runs) is the one file\'s' % table)
            left = con.execute('SELECT (SELECT count(*) FROM counters_daily_parts) + '
                               '(SELECT count(*) FROM source_daily_parts)').fetchone()[0]
            check(left == 0, 'no day parts left after the runs (%d)' % left)

        # kill -9 in the middle of a file: nothing of it may remain. xz makes the file slow to read
        # so that the kill lands inside it.
        big = os.path.join(work, 'big.pcap')
        write_pcap(big, 400000, start=1734700000)
        with open(big, 'rb') as f, lzma.open(big + '.xz', 'wb', preset=0) as out:
            shutil.copyfileobj(f, out)
        os.remove(big)
        # Time the file's read in an ingest into a scratch store, then kill a real one half-way through it. The
        # time is until the file's line (printed once it commits), not until the run ends: the end of a run
        # adds its own work (the detectors' open states, the days), and half of the whole landed after the commit.
        t0 = time.monotonic()
        scratch = subprocess.Popen([binary, 'ingest', '--store', os.path.join(work, 'scratch.db'), '--no-progress',
                                    big + '.xz'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        full = None
        for line in scratch.stderr:
            if full is None and '400000 packets' in line:
                full = time.monotonic() - t0
        scratch.wait()
        if full is None:
            full = time.monotonic() - t0
        before = summary(binary, store)
        p = subprocess.Popen([binary, 'ingest', '--store', store, '--quiet', big + '.xz'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full / 2)
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
            p.wait()
            check(summary(binary, store) == before, 'kill -9 half-way (%.2f s of %.2f s) leaves the store as it was'
                  % (full / 2, full))
            rc, _, err = run(binary, 'ingest', '--store', store, big + '.xz')
            after = summary(binary, store)
            check(rc == 0 and after['totals']['packets'] == before['totals']['packets'] + 400000,
                  'the killed file ingests in full afterwards (%d)' % rc)
        else:
            check(False, 'ingest finished before the kill (full ingest took %.3f s)' % full)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print('%d check(s) failed' % len(FAILURES))
        return 1
    print('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
