#!/usr/bin/env python3
"""Pushes a registration report for one server every second, as a cron job on a PBX would:
N contacts (default 5,000) taken from the database, 1% of them replaced by others each time.
Prints a summary on exit (SIGTERM or Ctrl-C): pushes, p50 and max of the request time alone
(building the report is not counted), statuses. With PUSH_LOG=FILE, one line per push there
(unix time, status, seconds)."""
import os, random, sqlite3, sys, time, urllib.error, urllib.request, signal

db, base, token, server = sys.argv[1:5]
n = int(os.environ.get("PUSH_CONTACTS", "5000"))
con = sqlite3.connect(db)
rows = [r[0] for r in con.execute(
    "SELECT r.endpoint FROM registrations r ORDER BY r.id LIMIT ?", (n * 2,))]
con.close()
current, reserve = rows[:n], rows[n:]
rng = random.Random(1)
times, statuses = [], {}

def dump(endpoints):
    out = ["", "  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>",
           " " + "=" * 90, ""]
    for i, e in enumerate(endpoints):
        out.append(f"  Contact:  {e}/sip:{e}@10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:5060 {i:010x} Avail        12.345")
    out += ["", f"Objects found: {len(endpoints)}", ""]
    return "\n".join(out).encode()

def summary(*_):
    times.sort()
    if times:
        print(f"pushes {len(times)}  p50 {times[len(times)//2]:.3f} s  max {times[-1]:.3f} s  statuses {statuses}")
    sys.exit(0)

signal.signal(signal.SIGTERM, summary)
signal.signal(signal.SIGINT, summary)
log = open(os.environ["PUSH_LOG"], "a") if os.environ.get("PUSH_LOG") else None
while True:
    tick = time.monotonic()
    for _ in range(n // 100):  # 1% of the contacts change
        i, j = rng.randrange(len(current)), rng.randrange(len(reserve))
        current[i], reserve[j] = reserve[j], current[i]
    req = urllib.request.Request(
        f"{base}/api/v1/servers/{server}/registrations?format=pjsip-contacts",
        data=dump(current), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status = res.status
    except urllib.error.HTTPError as e:
        status = e.code
    except (urllib.error.URLError, OSError) as e:  # refused, reset, timed out
        status = type(e).__name__
    elapsed = time.monotonic() - started
    times.append(elapsed)
    statuses[status] = statuses.get(status, 0) + 1
    if log:
        log.write(f"{time.time():.3f} {status} {elapsed:.4f}\n")
        log.flush()
    time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
