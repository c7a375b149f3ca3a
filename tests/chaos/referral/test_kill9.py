"""Crash test: kill -9 referrald repeatedly while thousands of referrals flow.

Afterwards every input has exactly one effect in ccs_referral, the set of decision ids on the
wire equals the expected set (duplicates on the wire are counted, never lost decisions), per-key
order holds, stored offsets equal end offsets and the outbox is empty.

CCS_CHAOS_REFERRALS (default 3000) and CCS_CHAOS_KILLS (default 8) scale it.
"""
import os
import random
import time

from ccs_it import (Env, Killer, check, check_eq, decision_id, finish, log, psql, scalar, wait_caught_up,
                    wait_end_offsets, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
N = int(os.environ.get("CCS_CHAOS_REFERRALS", "3000"))
KILLS = int(os.environ.get("CCS_CHAOS_KILLS", "8"))

env = Env("chaos")
try:
    rng = random.Random(2026)
    db = env.db("referral")
    events = []
    for i in range(N):
        r = rng.random()
        if r < 0.05 and events:  # the same child referred again (by CIN)
            prev = rng.choice(events)["data"]
            doc = referral(rng, mediCalCin=prev["child"]["mediCalCin"])
        elif r < 0.12:            # invalid: several problems
            doc = referral(rng, birthDate="2030-01-01", countyOfResidence="Nowhere")
        else:
            doc = referral(rng)
        events.append(envelope(doc))
    dups = [rng.choice(events) for _ in range(N // 50)]          # redelivered events (same ce_id)
    poison = [("p%d" % i, {"ce_id": "00000000-0000-4000-8000-%012d" % i, "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
               b"\xff\xfe garbage %d" % i) for i in range(N // 100)]
    d = env.daemon("referral", extra={"CCS_BATCH_MAX": "200"})
    d.start()
    d.wait_ready()
    t0 = time.time()
    # Produce in chunks while the daemon is being killed.
    chunks = [events[i:i + 500] for i in range(0, len(events), 500)]
    killer = Killer(d, KILLS, rng)
    for i, chunk in enumerate(chunks):
        env.submit(IN, chunk)
        if i == 1:
            env.submit(IN, dups)
            env.produce_raw(IN, poison)
        killer.after_chunk()
    kills = killer.finish()
    total = len(events) + len(dups) + len(poison)
    ends = wait_end_offsets(env, IN, total)
    check_eq(sum(ends.values()), total, "input topic holds every record")
    check(wait_caught_up(env, db, IN, ends, 300), "stored offsets equal end offsets")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 60), "outbox empty when idle")
    elapsed = time.time() - t0
    log("processed %d inputs with %d kill -9 in %.1fs" % (total, kills, elapsed))

    rows = psql(db, "SELECT event_id, outcome, decision_id FROM referrals")
    by_event = {}
    for ev, outcome, did in rows:
        by_event.setdefault(ev, []).append((outcome, did))
    unique_ids = {e["id"] for e in events}
    check_eq(len(rows), len(unique_ids), "exactly one referrals row per distinct input event")
    check(all(len(v) == 1 for v in by_event.values()), "no event applied twice")
    check_eq(set(by_event), unique_ids, "every input event has its effect")
    expected = {decision_id(ev, "referral." + v[0][0]) for ev, v in by_event.items()}
    check_eq(expected, {v[0][1] for v in by_event.values()}, "stored decision ids are UUIDv5(event, kind)")

    decisions = env.tail(OUT, idle=4, expect=len(expected), timeout=120)
    wire = [m["headers"].get("ce_id") for m in decisions]
    check_eq(set(wire), expected, "decision ids on the wire equal the expected set")
    log("decisions on the wire: %d (distinct %d, duplicates from crashes between publish and delete: %d)"
        % (len(wire), len(set(wire)), len(wire) - len(set(wire))))
    # Per-key order: a case's accepted decision precedes any referral linked to it.
    first_seen = {}
    order_ok = True
    for m in sorted(decisions, key=lambda m: (m["partition"], int(m["offset"]))):
        v = m["value"]
        if "accepted" in v:
            first_seen.setdefault(v["caseId"], "accepted")
        elif "linked" in v and first_seen.get(v["linked"]["existingCaseId"]) != "accepted":
            order_ok = False
    check(order_ok, "per-key order: accepted before linked for every case")
    dlq = env.tail(IN + ".dlq", idle=3, expect=len(poison))
    check_eq(len({m["headers"].get("dlq_original_offset") + "/" + m["headers"].get("dlq_original_partition")
                  for m in dlq}), len(poison), "every poison record dead-lettered (by original offset)")
    cases = int(scalar(db, "SELECT count(*) FROM cases"))
    accepted = sum(1 for v in by_event.values() if v[0][0] == "accepted")
    check_eq(cases, accepted, "one case per accepted referral")
    log("figures: inputs=%d kills=%d seconds=%.1f accepted=%d linked=%d rejected=%d dead_letters=%d wire_dups=%d"
        % (total, kills, elapsed, accepted, sum(1 for v in by_event.values() if v[0][0] == "linked"),
           sum(1 for v in by_event.values() if v[0][0] == "rejected"), len(dlq), len(wire) - len(set(wire))))
finally:
    env.cleanup()
finish()
