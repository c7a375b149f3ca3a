"""Broker restart: the Kafka broker goes down while referrald works and comes back.

The daemon must not crash or dead-letter anything: its consumer waits, its relay keeps
decisions in the outbox until the broker acknowledges them, /readyz reports Kafka down and
then ready again. Afterwards every referral has exactly one effect and one decision id.
Runs only against the broker deploy/dev/kafka.sh started (exit 77 otherwise).
"""
import os
import random
import subprocess
import time

from ccs_it import (SRC, Env, check, check_eq, end_offsets, finish, log, psql, scalar, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
KAFKA_SH = os.path.join(SRC, "deploy/dev/kafka.sh")

status = subprocess.run([KAFKA_SH, "status"], capture_output=True, text=True)
if os.environ.get("CCS_KAFKA_BOOTSTRAP_EXTERNAL") or "pid" not in status.stdout or "mock" in status.stdout:
    log("not our own real broker (%s): skipping" % status.stdout.strip())
    raise SystemExit(77)

env = Env("brk")
try:
    rng = random.Random(5)
    db = env.db("referral")
    d = env.daemon("referral").start()
    d.wait_ready()
    first = [envelope(referral(rng)) for _ in range(800)]
    env.submit(IN, first)
    time.sleep(0.3)  # stop the broker while the batch is being processed and published
    t0 = time.time()
    subprocess.run([KAFKA_SH, "down"], check=True, capture_output=True)
    down_at = time.time()
    check(wait_until(lambda: d.get("/readyz")[0] == 503, 30), "readyz reports not ready while the broker is down")
    check(d.proc.poll() is None, "daemon still running with the broker down")
    time.sleep(float(os.environ.get("CCS_BROKER_DOWN_SECONDS", "3")))
    up = subprocess.run([KAFKA_SH, "up"], capture_output=True, text=True)
    check_eq(up.returncode, 0, "broker back up")
    log("broker down for %.1fs (restart took %.1fs)" % (time.time() - down_at, time.time() - t0))
    ready = wait_until(lambda: d.get("/readyz")[0] == 200, 120)
    check(ready, "ready again after the broker returns (readyz: %s)" % d.get("/readyz")[1].replace("\n", "; "))
    second = [envelope(referral(rng)) for _ in range(200)]
    env.submit(IN, second)
    total = len(first) + len(second)
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == str(total), 120),
          "every referral applied exactly once")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 120), "outbox drained after the outage")
    ends = end_offsets(env, IN)
    got = {int(p): int(o) for p, o in psql(db, "SELECT partition, next_offset FROM consumer_offsets")}
    check_eq(got, ends, "stored offsets equal end offsets")
    decisions = env.tail(OUT, idle=3, expect=total, timeout=120)
    ids = [m["headers"]["ce_id"] for m in decisions]
    check_eq(len(set(ids)), total, "one distinct decision per referral")
    expected = {r[0] for r in psql(db, "SELECT decision_id FROM referrals")}
    check_eq(set(ids), expected, "decision ids on the wire equal the stored ones")
    check_eq(len(env.tail(IN + ".dlq", idle=2)), 0, "a broker outage produces no dead letters")
    log("figures: referrals=%d wire=%d duplicates=%d publish_errors=%s" % (
        total, len(ids), len(ids) - len(set(ids)), d.metric("outbox_publish_errors_total")))
    check_eq(d.stop(), 0, "drains and exits 0 afterwards")
finally:
    subprocess.run([KAFKA_SH, "up"], capture_output=True)
    env.cleanup()
finish()
