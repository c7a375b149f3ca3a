"""Broker kill -9 and restart under load, outages of 3, 5, 8, 11 and 20 s (issue 7).

The test starts a Kafka broker of its own (deploy/dev/kafka.sh with a private run directory and
ports), so the shared broker and the tests running beside it never notice. All three daemons
run on it. Before each outage a chunk of inputs is produced; while they are being processed
the broker is killed with SIGKILL, stays down for the outage, and is started again. During the
outage every daemon must stay up and report not ready; afterwards every daemon must be ready
again and the pipeline settle (offsets at the end, outboxes empty). At the end, for every
daemon: inputs == effects, decision ids UUIDv5(input, kind) equal to the recorded ones
(re-publications counted), no dead letters (a broker outage is transient).

Printed per outage: the outage, the broker's restart time, seconds until every daemon is ready
again and until the pipeline has settled. CCS_CHAOS_OUTAGES ("3,5,8,11,20") and
CCS_CHAOS_CHUNK (300 inputs per outage) scale it; CCS_CHAOS_SESSION_MS (10000) is the daemons'
group session timeout.
"""
import os
import random
import time

import ccs_it
from ccs_it import Env, check, finish, log, wait_until
from ccs_chaos import (Pipeline, PrivateBroker, figures, need_binaries, scheduling_invariants, skip,
                       use_kafka)

OUTAGES = [float(x) for x in os.environ.get("CCS_CHAOS_OUTAGES", "3,5,8,11,20").split(",")]
CHUNK = int(os.environ.get("CCS_CHAOS_CHUNK", "300"))

need_binaries()
broker = PrivateBroker()
if not broker.available():
    skip("no Java or no broker jars (deploy/kafka/lib) for a private broker")
env = None
try:
    log("private broker: %.1fs to start on %s" % (broker.up(), broker.bootstrap))
    use_kafka(broker.bootstrap)
    env = Env("pbrk")
    rng = random.Random(3511)
    # A session timeout of 10 s, as in the report of the fenced consumer: outages around and past
    # it get the static members fenced, and each daemon must recreate its consumer and resume
    # (consumers_recreated counts it); the production default is 30 s.
    pipe = Pipeline(env, {"referral": 1, "eligibility": 1, "scheduling": 1},
                    extra={"CCS_GROUP_SESSION_TIMEOUT_MS": os.environ.get("CCS_CHAOS_SESSION_MS", "10000")})
    pipe.start_all()
    t_all = time.time()
    pipe.submit(pipe.workload(rng, CHUNK))
    pipe.submit_poison(rng, 3)
    check(pipe.settle(120, "before the outages") is not None, "settled before the first outage")
    per = []
    for outage in OUTAGES:
        pipe.submit(pipe.workload(rng, CHUNK))
        time.sleep(0.3)  # kill the broker while the chunk is being processed and published
        backlog = sum(int(ccs_it.scalar(pipe.db(s), "SELECT count(*) FROM outbox")) for s in pipe.nodes)
        broker.kill9()
        down_at = time.time()
        not_ready = wait_until(lambda: all(n.get("/readyz")[0] == 503 for n in pipe.all()), min(outage, 15),
                               interval=0.2)
        left = outage - (time.time() - down_at)
        if left > 0:
            time.sleep(left)
        alive = all(n.alive() for n in pipe.all())
        check(alive, "outage %gs: every daemon still running with the broker down" % outage)
        restart = broker.up()
        up_at = time.time()
        ready = pipe.wait_all_ready(120)
        ready_s = time.time() - up_at
        check(ready, "outage %gs: every daemon ready again (%.1fs after the broker)" % (outage, ready_s))
        if outage >= 3:
            check(bool(not_ready), "outage %gs: every daemon reported not ready while the broker was down" % outage)
        took = pipe.settle(120, "after the %gs outage" % outage)
        check(took is not None, "outage %gs: the pipeline settles" % outage)
        if not ready or took is None:
            for n in pipe.all():
                n.show_log(r'"level":"(warn|error)"', 12, "after the %gs outage" % outage)
        per.append((outage, restart, ready_s, (took or -1) + ready_s))
        figures("broker_outage_%gs" % outage, down_seconds=up_at - down_at, broker_start_seconds=restart,
                outbox_at_kill=backlog, ready_after_seconds=ready_s, settled_after_seconds=(took or -1) + ready_s,
                daemon_restarts=sum(n.starts - 1 for n in pipe.all()),
                consumers_recreated=sum(int(n.metric("consumer_recreated_total") or 0) for n in pipe.running()))
    fig = pipe.verify("broker_restart", outages=",".join("%g" % o for o in OUTAGES),
                      seconds=time.time() - t_all, transient_errors=sum(
                          int(n.metric("transient_errors_total", 'source="kafka"') or 0) for n in pipe.running()))
    scheduling_invariants(pipe)
finally:
    if env:
        env.cleanup()
    broker.cleanup()
finish()
