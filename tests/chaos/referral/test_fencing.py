"""Fencing and database failures.

1. Fencing: another owner claims a partition (owner_epoch bumped in PostgreSQL, as a rebalance
   to another instance would) while referrald runs; referrald's next commit on that partition
   must write nothing (0 rows on the compare-and-set, rolled back, counted as fenced). After a
   restart it claims the partition again and every input gets exactly one effect.
2. Connection loss: the daemon's PostgreSQL backend is terminated repeatedly under load; each
   failure is transient (no dead letters), the daemon reconnects with backoff and resumes from
   the stored offset; in the end every input has exactly one effect.
"""
import random
import threading
import time

from ccs_it import (Env, check, check_eq, end_offsets, finish, log, psql, scalar, wait_until)
from ccs_samples import envelope, referral
from ccs_chaos import metric

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"

env = Env("fence")
try:
    rng = random.Random(99)
    db = env.db("referral")
    d = env.daemon("referral").start()
    d.wait_ready()

    # --- fencing ---------------------------------------------------------------------------
    first = [envelope(referral(rng)) for _ in range(30)]
    env.submit(IN, first)
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == "30", 60), "first batch applied")
    psql(db, "UPDATE consumer_offsets SET owner_epoch = owner_epoch + 1, owner = 'usurper'")
    fenced_batch = [envelope(referral(rng)) for _ in range(30)]
    env.submit(IN, fenced_batch)
    check(wait_until(lambda: (metric(d, "transactions_total", 'result="fenced"') or 0) >= 1, 30),
          "the fenced instance's commit was refused")
    time.sleep(2)
    check_eq(scalar(db, "SELECT count(*) FROM referrals"), "30", "a fenced instance writes nothing")
    status, body = d.get("/readyz")
    check(status == 503 and "fenced" in body, "a fenced instance reports not ready: %s" % body.replace("\n", "; "))
    d.kill9()
    d.start()
    d.wait_ready()
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == "60", 60),
          "after restart the partitions are reclaimed and the rest applied")

    # --- connection loss ---------------------------------------------------------------------
    load = [envelope(referral(rng)) for _ in range(1500)]
    stop = threading.Event()
    kills = [0]

    def killer():
        while not stop.is_set():
            time.sleep(rng.uniform(0.3, 0.8))
            rows = psql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            " AND application_name <> 'psql'")
            kills[0] += len(rows)
    t = threading.Thread(target=killer)
    t.start()
    for i in range(0, len(load), 300):
        env.submit(IN, load[i:i + 300])
        time.sleep(0.5)
    time.sleep(2)
    stop.set()
    t.join()
    total = 60 + len(load)
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == str(total), 120),
          "every referral applied despite %d terminated connections" % kills[0])
    ends = end_offsets(env, IN)
    got = {int(p): int(o) for p, o in psql(db, "SELECT partition, next_offset FROM consumer_offsets")}
    check_eq(got, ends, "stored offsets equal end offsets")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 60), "outbox empty")
    check_eq(scalar(db, "SELECT count(*) FROM (SELECT event_id FROM referrals GROUP BY 1 HAVING count(*) > 1) x"), "0",
             "no input applied twice")
    dlq = env.tail(IN + ".dlq", idle=2)
    check_eq(len(dlq), 0, "transient failures never produce dead letters")
    decisions = env.tail(OUT, idle=3, expect=total)
    check_eq(len({m["headers"]["ce_id"] for m in decisions}), total, "one distinct decision per referral")
    log("figures: terminated_connections=%d transient_errors=%s" % (kills[0], metric(d, "transient_errors_total", 'source="postgresql"')))
    check(d.get("/readyz")[0] == 200, "ready again after the failures")
finally:
    env.cleanup()
finish()
