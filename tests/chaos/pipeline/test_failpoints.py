"""Failpoints: crash a daemon at each named window, deterministically (issue 7).

CCS_FAILPOINTS="name@N" makes the daemon SIGKILL itself on the Nth hit of a named point
(common/failpoint/README.md). With all three daemons running, each point is armed in turn on
one daemon, which is restarted with it while inputs flow; the test checks that the daemon
died of SIGKILL at that point (so the window was really hit), restarts it unarmed and waits
for the pipeline to settle:

  batch.between_messages  referrald    a transaction with some messages applied is lost whole
  batch.before_commit     eligibilityd effects and offset rolled back together
  batch.after_commit      schedulingd  PostgreSQL's offset wins over Kafka's
  relay.after_publish     referrald    published rows are published again with the same ids
  due.after_commit        eligibilityd fired work (clock moved forward) is not fired twice

Afterwards, for every daemon: inputs == effects, decision ids UUIDv5(input, kind) equal to the
recorded ones (re-publications counted: relay.after_publish must cause some), outboxes empty,
stored offsets == end offsets, everyone ready.
"""
import os
import random
import time

from ccs_it import Env, check, check_eq, finish, log, scalar, wait_until
from ccs_chaos import Pipeline, figures, need_binaries, scheduling_invariants

CHUNK = int(os.environ.get("CCS_CHAOS_CHUNK", "400"))
POINTS = [("batch.between_messages", "referral", "batch.between_messages@20"),
          ("batch.before_commit", "eligibility", "batch.before_commit@3"),
          ("batch.after_commit", "scheduling", "batch.after_commit@3"),
          ("relay.after_publish", "referral", "relay.after_publish@1"),
          ("due.after_commit", "eligibility", "due.after_commit@1")]

need_binaries()
env = Env("pfp")
try:
    rng = random.Random(5150)
    pipe = Pipeline(env, {"referral": 1, "eligibility": 1, "scheduling": 1})
    pipe.start_all()
    t_all = time.time()
    pipe.submit(pipe.workload(rng, CHUNK))
    pipe.submit_poison(rng, 2)
    check(pipe.settle(120, "before the failpoints") is not None, "settled before the failpoints")
    for name, service, spec in POINTS:
        n = pipe.nodes[service][0]
        check_eq(n.stop(), 0, "%s: %s stops cleanly before being armed" % (name, service))
        if name == "due.after_commit":
            due = int(scalar(pipe.db(service), "SELECT count(*) FROM due_work"))
            log("due work waiting in eligibilityd: %d; moving its clock to 2027-12-31" % due)
            n.vars["CCS_CLOCK_TODAY"] = "2027-12-31"
        n.arm(spec).start()
        t0 = time.time()
        if name != "due.after_commit":
            pipe.submit(pipe.workload(rng, CHUNK))
        rc = n.wait_exit(30)
        hit = time.time() - t0
        check_eq(rc, -9, "%s: %s killed itself at the failpoint (exit status)" % (name, service))
        armed_log = n.log_lines(r"(?i)failpoint", 3)
        check(bool(armed_log), "%s: the daemon logged the armed failpoint" % name)
        if rc != -9:
            n.show_log(r'"level":"(warn|error|fatal)"|failpoint', 10, name)
            n.kill9()
        t1 = time.time()
        n.start()
        ready = wait_until(n.ready, 60, interval=0.3)
        check(bool(ready), "%s: %s ready again after the crash" % (name, service))
        took = pipe.settle(120, "after " + name)
        check(took is not None, "%s: the pipeline settles after the crash" % name)
        figures("failpoint_%s" % name, daemon=service, spec=spec, exit_status=rc, crashed_after_seconds=hit,
                settled_after_restart_seconds=time.time() - t1)
    fig = pipe.verify("failpoints", points=len(POINTS), seconds=time.time() - t_all)
    check(fig["referral_wire_dups"] > 0, "relay.after_publish: the crash between publish and delete re-published"
                                         " rows with the same ids (%d)" % fig["referral_wire_dups"])
    timers = int(scalar(pipe.db("eligibility"), "SELECT count(*) FROM decisions WHERE trigger = 'TIMER'"))
    log("eligibility timer decisions after due.after_commit: %d" % timers)
    scheduling_invariants(pipe)
finally:
    env.cleanup()
finish()
