"""A fatal consumer error recreates the consumer (issue 7, defect 1), deterministically.

The coordinator fences a static member when another consumer joins with the same
group.instance.id: the fenced client gets RD_KAFKA_RESP_ERR__FATAL and never consumes again,
which is what a broker outage near the session timeout used to do to a daemon that then stayed
"live" for good. Two daemons with one instance id fence each other in turn; each must recreate
its consumer (consumer_recreated_total), stay live, and the referrals produced meanwhile must be
applied exactly once, with no dead letter.
"""
import random
import time

from ccs_it import Env, check, check_eq, finish, log, scalar, wait_until
from ccs_samples import envelope, referral

IN = "ccs.referral.submitted.v1"

env = Env("fenc")
try:
    rng = random.Random(7)
    db = env.db("referral")
    a = env.daemon("referral", instance="a").start()
    a.wait_ready()
    b = env.daemon("referral", instance="b")
    b.vars["CCS_INSTANCE_ID"] = a.vars["CCS_INSTANCE_ID"]  # the same static member id
    b.start()
    check(wait_until(lambda: (a.metric("consumer_recreated_total") or 0) >= 1
                     and (b.metric("consumer_recreated_total") or 0) >= 1, 60),
          "both fenced consumers were recreated (a %s, b %s)" % (a.metric("consumer_recreated_total"),
                                                                 b.metric("consumer_recreated_total")))
    env.submit(IN, [envelope(referral(rng)) for _ in range(50)])
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == "50", 90),
          "every referral applied exactly once while the consumers were being fenced and recreated")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained")
    check(a.proc.poll() is None and b.proc.poll() is None, "both daemons still running")
    check_eq((a.get("/livez")[0], b.get("/livez")[0]), (200, 200), "both live (a consumer was recreated)")
    check_eq(scalar(db, "SELECT count(*) FROM inbox"), "50", "one inbox row per input")
    check_eq(len(env.tail(IN + ".dlq", idle=2)), 0, "fencing produces no dead letters")
    log("figures: recreated a=%s b=%s" % (a.metric("consumer_recreated_total"), b.metric("consumer_recreated_total")))
finally:
    env.cleanup()
finish()
