"""Group membership under load (issue 7): three instances starting at once on an empty
database, a zombie (SIGSTOP past the session timeout, then SIGCONT), scale 3 -> 1 -> 3 -> 1 with
SIGTERM during load, for all three daemons.

1. Three instances of every daemon start at the same moment on empty databases, connected as
   the owner role with pg.migrate=true so that they race to apply the migrations: all nine
   become ready, each migration is recorded once.
2. Zombie: one eligibilityd instance is stopped (SIGSTOP) in the middle of a batch for longer
   than the session timeout, so its partitions move to the others; after SIGCONT it may still
   try to commit what it held: the owner_epoch compare-and-set must refuse it (fenced, it writes
   nothing), and it must become ready again.
3. Scale-in during load: SIGTERM to two of the three instances of every daemon while inputs
   flow: each drains and exits 0, and the survivors take over the partitions (static members
   leave them only at the session timeout) with nothing lost. Then scale out to three again
   and back to one, both during load.
Afterwards, for every daemon: inputs == effects, decision ids UUIDv5(input, kind) equal to the
recorded ones (re-publications counted), outboxes empty, stored offsets == end offsets, every
running instance ready. Figures: drain time and exit codes, time to hand over and settle.

CCS_CHAOS_CHUNK (500 inputs per step) and CCS_CHAOS_SESSION_MS (6000) scale it.
"""
import os
import random
import time

from ccs_it import Env, check, check_eq, finish, log, psql, scalar, wait_until
from ccs_chaos import Pipeline, figures, need_binaries, scheduling_invariants

CHUNK = int(os.environ.get("CCS_CHAOS_CHUNK", "500"))
SESSION_MS = int(os.environ.get("CCS_CHAOS_SESSION_MS", "6000"))
SERVICES = ("referral", "eligibility", "scheduling")


def sigterm_all(nodes, what):
    """SIGTERM every node at once; check each drains and exits 0; returns the longest drain."""
    t0 = time.time()
    for n in nodes:
        n.proc.send_signal(15)
    worst = 0.0
    for n in nodes:
        rc = n.wait_exit(60)
        worst = max(worst, time.time() - t0)
        check_eq(rc, 0, "%s: %s-%s drains and exits 0 on SIGTERM" % (what, n.service, n.instance))
        if rc != 0:
            n.show_log(r'"level":"(warn|error|fatal)"|drain|signal', 15, what)
    return worst


need_binaries()
env = Env("pmem")
try:
    rng = random.Random(1313)
    # A stalled instance's open transaction is ended by PostgreSQL before its partitions move
    # (pg.idle.tx.timeout.ms below the session timeout), so the new owner never waits on it.
    pipe = Pipeline(env, extra={"CCS_GROUP_SESSION_TIMEOUT_MS": str(SESSION_MS),
                                "CCS_PG_IDLE_TX_TIMEOUT_MS": str(max(1000, SESSION_MS // 2)),
                                # the zombie may hold the relay's session lock: PostgreSQL ends its
                                # idle session so a survivor can publish
                                "CCS_PG_IDLE_SESSION_TIMEOUT_MS": str(SESSION_MS)})
    for s in SERVICES:
        for _ in range(3):
            n = pipe.node(s)
            n.migrate = False  # the daemons themselves race to migrate, as the owner role
            n.vars["CCS_PG_URL"] = env.role_url(s, "owner")
            n.vars["CCS_PG_MIGRATE"] = "true"  # migrate at start (off by default: --migrate-only)
    t_all = time.time()

    # --- 1. three instances at once on an empty database --------------------------------------
    t0 = time.time()
    for n in pipe.all():
        n.start()
    started = True
    for n in pipe.all():
        try:
            n.wait_ready(90)
        except RuntimeError as e:
            started = False
            check(False, "%s-%s: %s" % (n.service, n.instance, e))
            n.show_log(r'"level":"(warn|error|fatal)"', 10, "start on an empty database")
    check(started, "nine instances started at once on empty databases are ready (%.1fs)" % (time.time() - t0))
    for s in SERVICES:
        rows = psql(pipe.db(s), "SELECT count(*), count(DISTINCT (component, version)) FROM schema_migrations")
        check(rows and rows[0][0] == rows[0][1] != "0", "%s: each migration recorded once (%s)" % (s, rows))
    figures("start_3_at_once", instances=len(pipe.all()), ready_seconds=time.time() - t0)
    pipe.submit(pipe.workload(rng, CHUNK))
    pipe.submit_poison(rng, 2)

    # --- 2. zombie: SIGSTOP past the session timeout, SIGCONT -----------------------------------
    pipe.submit(pipe.workload(rng, CHUNK * 2))  # a backlog, so that it is stopped holding a batch
    time.sleep(0.3)
    # The zombie is the instance that publishes (holds the relay's session lock, named by its
    # application_name): the others must take the relay over too, not only its partitions.
    leader = psql(pipe.db("eligibility"), "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                  " USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
                  " AND l.objid::bigint = (hashtext('ccs.outbox.relay')::bigint & 4294967295)"
                  " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
    leader = leader[0][0] if leader else None
    z = next((n for n in pipe.nodes["eligibility"] if n.vars["CCS_INSTANCE_ID"] == leader),
             pipe.nodes["eligibility"][1])
    log("zombie: %s (relay leader: %s)" % (z.vars["CCS_INSTANCE_ID"], leader))
    z.sigstop()
    t0 = time.time()
    pipe.submit(pipe.workload(rng, CHUNK // 2))
    others = [n for n in pipe.nodes["eligibility"] if n is not z]
    # Once its session expires the group moves the zombie's partitions to the others, which
    # must then carry the whole load: ready, everything consumed and published.
    def survivors_done():
        if time.time() - t0 < SESSION_MS / 1000.0 + 1:
            return False
        return all(n.get("/readyz")[0] == 200 for n in others) and not pipe.lagging()
    took_over = wait_until(survivors_done, SESSION_MS / 1000.0 + 15, interval=1)
    check(bool(took_over), "while the zombie sleeps, the other eligibilityd instances take over its partitions"
                           " and the pipeline settles (%.1fs after SIGSTOP)" % (time.time() - t0))
    if not took_over:
        log("survivors' /readyz (None: the HTTP request timed out, the loop is blocked): %s"
            % [(n.instance, n.get("/readyz")[0]) for n in others])
        log("still behind: %s" % pipe.lagging())
        for r in psql(pipe.db("eligibility"), "SELECT pid, usename, state, coalesce(wait_event_type, '-'),"
                      " coalesce(wait_event, '-'), left(regexp_replace(query, '\\s+', ' ', 'g'), 90)"
                      " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"):
            log("    pg session: %s" % " | ".join(r))
        for r in psql(pipe.db("eligibility"), "SELECT pid, count(*), bool_or(objsubid = 1 AND objid::bigint ="
                      " (hashtext('ccs.outbox.relay')::bigint & 4294967295)) FROM pg_locks WHERE locktype = 'advisory'"
                      " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                      " GROUP BY pid ORDER BY 2 DESC"):
            log("    advisory locks held: pid %s: %s (the relay lock among them: %s)" % tuple(r))
        for n in others:
            n.show_log(r'"level":"(warn|error)"|assigned|revoked|"stats"', 8, "survivor while the zombie sleeps")
    owners = [o[0] for o in psql(pipe.db("eligibility"), "SELECT DISTINCT owner FROM consumer_offsets ORDER BY 1")]
    log("eligibility partition owners while the zombie sleeps: %s" % owners)
    check(z.vars["CCS_INSTANCE_ID"] not in owners, "no partition is owned by the stopped instance any more")
    stopped_for = time.time() - t0
    z.sigcont()
    t_cont = time.time()
    fenced = wait_until(lambda: z.metric("transactions_total", 'result="fenced"'), 10, interval=0.5)
    ready_again = wait_until(z.ready, 60, interval=0.5)
    check(bool(ready_again), "the zombie is ready again after SIGCONT (%.1fs)" % (time.time() - t_cont))
    if not ready_again:
        z.show_log(r'"level":"(warn|error|fatal)"|fenced|rebalance|assign', 20, "zombie after SIGCONT")
    z.show_log(r'fenced', 5, "zombie's fencing lines")
    figures("zombie", stopped_seconds=stopped_for, fenced_commits=int(fenced or 0),
            ready_after_cont_seconds=time.time() - t_cont)
    took = pipe.settle(120, "after the zombie")
    check(took is not None, "the pipeline settles after the zombie")

    # --- 3. scale 3 -> 1 during load (SIGTERM), 1 -> 3, 3 -> 1 -------------------------------
    for step in ("3->1", "1->3", "3->1 again"):
        pipe.submit(pipe.workload(rng, CHUNK))
        time.sleep(0.5)
        t0 = time.time()
        if step.startswith("3->1"):
            leaving = [n for s in SERVICES for n in pipe.nodes[s][1:]]
            drain = sigterm_all(leaving, "scale " + step)
            pipe.submit(pipe.workload(rng, CHUNK // 2))
            # Handover: every partition claimed by the remaining instance (static members keep
            # their partitions until the session times out unless they leave the group).
            def handed_over():
                return all({r[0] for r in psql(pipe.db(s), "SELECT DISTINCT owner FROM consumer_offsets")}
                           == {pipe.nodes[s][0].vars["CCS_INSTANCE_ID"]} for s in SERVICES)
            handover = wait_until(handed_over, 60, interval=0.25)
            handover_s = time.time() - t0
            check(bool(handover), "scale %s: the remaining instances own every partition (%.1fs after SIGTERM;"
                  " session timeout %.1fs)" % (step, handover_s, SESSION_MS / 1000.0))
        else:
            drain = 0.0
            for s in SERVICES:
                for n in pipe.nodes[s][1:]:
                    n.start()
            pipe.submit(pipe.workload(rng, CHUNK // 2))
            for s in SERVICES:
                for n in pipe.nodes[s][1:]:
                    try:
                        n.wait_ready(60)
                    except RuntimeError as e:
                        check(False, "scale %s: %s-%s %s" % (step, n.service, n.instance, e))
        took = pipe.settle(120, "after scale " + step)
        check(took is not None, "scale %s during load: the pipeline settles (%.1fs)" % (step, time.time() - t0))
        if took is None:
            for n in pipe.running():
                n.show_log(r'"level":"(warn|error|fatal)"|fenced|assign|revok', 12, "after scale " + step)
        more = {"handover_seconds": handover_s} if step.startswith("3->1") else {}
        figures("scale_%s" % step.replace(" again", "_again").replace("->", "_to_"), drain_seconds=drain, **more,
                settled_after_seconds=time.time() - t0, running=len(pipe.running()))
    pipe.verify("membership", seconds=time.time() - t_all,
                fenced_commits=sum(int(n.metric("transactions_total", 'result="fenced"') or 0) for n in pipe.running()))
    scheduling_invariants(pipe)
finally:
    env.cleanup()
finish()
