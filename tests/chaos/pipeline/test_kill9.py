"""kill -9 of each daemon, 20 times over one run, with all three daemons and a few thousand
inputs in flight (issue 7).

Referrals, eligibility inputs (referral decisions and evidence) and eligibility decisions for
schedulingd are produced in chunks; after each chunk a random daemon is killed with SIGKILL and
started again at once, then more kills follow at short random intervals until 20 are done
(every daemon at least 5 times). Redelivered events (same ce_id) and undecodable records join
the flow. Afterwards, for every daemon: inputs == effects, decision ids UUIDv5(input, kind) and
equal to the recorded ones (re-publications of the same id are counted), one dead letter per
poison record, outboxes empty, stored offsets == end offsets, everyone ready; nobody
double-booked.

CCS_CHAOS_INPUTS (default 3000) and CCS_CHAOS_KILLS (default 20) scale it.
"""
import os
import random
import time

from ccs_it import Env, check, finish, log
from ccs_chaos import Killer, Pipeline, figures, need_binaries, scheduling_invariants

N = int(os.environ.get("CCS_CHAOS_INPUTS", "3000"))
KILLS = int(os.environ.get("CCS_CHAOS_KILLS", "20"))

need_binaries()
env = Env("pk9")
try:
    rng = random.Random(7007)
    pipe = Pipeline(env, {"referral": 1, "eligibility": 1, "scheduling": 1})
    pipe.start_all()
    work = pipe.workload(rng, N)
    t0 = time.time()
    killer = Killer(pipe, rng)
    services = ["referral", "eligibility", "scheduling"]
    chunks = [work[i:i + 500] for i in range(0, len(work), 500)]
    redelivered = 0
    for i, chunk in enumerate(chunks):
        pipe.submit(chunk)
        if i == 1:
            redelivered = pipe.redeliver(rng, N // 50)
            pipe.submit_poison(rng, N // 200)
        time.sleep(rng.uniform(0.2, 0.8))
        killer.kill_one(services[i % 3])
    while killer.done < KILLS:
        time.sleep(rng.uniform(0.4, 1.5))
        killer.kill_one(services[killer.done % 3])
    last_kill = time.time()
    log("%d kill -9 done in %.1fs (%s)" % (killer.done, last_kill - t0, killer.per))
    took = pipe.settle(300, "after the kills")
    check(took is not None, "the pipeline settles after %d kill -9" % killer.done)
    recover = time.time() - last_kill
    fig = pipe.verify("kill9", produced=len(work), redelivered=redelivered, kills=killer.done,
                      seconds=time.time() - t0, recover_seconds=recover)
    scheduling_invariants(pipe)
    log("restarts per daemon: %s" % {n.service: n.starts for n in pipe.all()})
finally:
    env.cleanup()
finish()
