"""PostgreSQL `pg_ctl restart -m immediate` under load, on a cluster the test owns (issue 7).

The test makes its own throwaway cluster (initdb as the postgres user, free port, fsync=off),
never the shared server. All three daemons keep their databases there. While chunks of inputs
flow, the cluster is restarted with `-m immediate` (every backend killed, crash recovery on
start) three times, and once stopped immediately and held down for a few seconds. Every
daemon must stay up (a lost connection is transient: roll back, back off, reconnect, resume
from the stored offset), never dead-letter, and be ready again; afterwards, for every daemon:
inputs == effects, decision ids UUIDv5(input, kind) equal to the recorded ones
(re-publications counted), outboxes empty, stored offsets == end offsets.

CCS_CHAOS_CHUNK (500 inputs per restart) scales it.
"""
import os
import random
import time

from ccs_it import Env, check, finish, log
from ccs_chaos import (Pipeline, PrivatePostgres, figures, need_binaries, scheduling_invariants, skip, use_pg)

CHUNK = int(os.environ.get("CCS_CHAOS_CHUNK", "500"))
FAULTS = [("restart", 0), ("restart", 0), ("stop", 4.0), ("restart", 0)]

need_binaries()
pg = PrivatePostgres()
if not pg.available():
    skip("no PostgreSQL server binaries (initdb) or no non-root user to run them")
env = None
try:
    t0 = time.time()
    pg.init().start()
    log("private PostgreSQL cluster on port %d ready in %.1fs" % (pg.port, time.time() - t0))
    use_pg(pg.url)
    env = Env("ppg")
    rng = random.Random(4242)
    pipe = Pipeline(env, {"referral": 1, "eligibility": 1, "scheduling": 1})
    pipe.start_all()
    t_all = time.time()
    pipe.submit_poison(rng, 3)
    for i, (how, hold) in enumerate(FAULTS):
        pipe.submit(pipe.workload(rng, CHUNK))
        time.sleep(rng.uniform(0.3, 1.0))
        t_fault = time.time()
        if how == "restart":
            pg.restart_immediate()
        else:
            pg.stop_immediate()
            time.sleep(hold)
            pg.start()
        back = time.time()
        alive = all(n.alive() for n in pipe.all())
        check(alive, "%s %d: every daemon still running" % (how, i + 1))
        ready = pipe.wait_all_ready(60)
        ready_s = time.time() - back
        check(ready, "%s %d: every daemon ready again (%.1fs after PostgreSQL)" % (how, i + 1, ready_s))
        took = pipe.settle(120, "after %s %d" % (how, i + 1))
        check(took is not None, "%s %d: the pipeline settles" % (how, i + 1))
        if not alive or not ready or took is None:
            for n in pipe.all():
                n.show_log(r'"level":"(warn|error|fatal)"', 12, "after %s %d" % (how, i + 1))
        figures("pg_%s_%d" % (how, i + 1), pg_down_seconds=back - t_fault, ready_after_seconds=ready_s,
                settled_after_seconds=ready_s + (took or -1), daemon_restarts=sum(n.starts - 1 for n in pipe.all()),
                transient_pg=sum(int(n.metric("transient_errors_total", 'source="postgresql"') or 0)
                                 for n in pipe.running()))
    pipe.verify("pg_restart", faults=len(FAULTS), seconds=time.time() - t_all)
    scheduling_invariants(pipe)
finally:
    if env:
        env.cleanup()
    pg.cleanup()
finish()
