#!/usr/bin/env python3
"""Writes a `pjsip show contacts` report of N contacts to standard output for benches/load.sh's
ingest rows: endpoints EXT-CODE for the tenants of DB (in id order, round robin), extensions
from EXT_BASE up, so that they match tenants but are phones no server has reported yet.

usage: dump.py DB N EXT_BASE > report.txt"""
import sqlite3, sys

db, n, ext_base = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
codes = [r[0] for r in con.execute("SELECT code FROM tenants ORDER BY id")]
con.close()
out = sys.stdout
out.write("\n  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>\n")
out.write(" " + "=" * 90 + "\n\n")
for i in range(n):
    e = f"{ext_base + i // len(codes)}-{codes[i % len(codes)]}"
    out.write(f"  Contact:  {e}/sip:{e}@10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:5060 {i:010x} Avail        12.345\n")
out.write(f"\nObjects found: {n}\n\n")
