"""Crash test: kill -9 schedulingd repeatedly while thousands of eligibility decisions flow.

Afterwards every input has exactly one effect in ccs_scheduling (one `inputs` row, with the
decision ids its outcome implies), the set of decision ids on the wire equals the expected set
(duplicates on the wire are counted, never lost decisions), nobody is double-booked (therapist,
room or child), every eligible child has exactly one evaluation booked or one waitlist entry,
stored offsets equal end offsets and the outbox is empty.

CCS_CHAOS_DECISIONS (default 3000) and CCS_CHAOS_KILLS (default 8) scale it.
"""
import os
import random
import time

from ccs_it import (Env, Killer, check, check_eq, decision_id, finish, log, psql, scalar, wait_caught_up,
                    wait_end_offsets, wait_until)
from ccs_sched_samples import COUNTIES_WITH_MTU, COUNTIES_WITHOUT_MTU, eligibility, envelope, new_id

IN, OUT = "ccs.eligibility.decided.v1", "ccs.scheduling.decided.v1"
N = int(os.environ.get("CCS_CHAOS_DECISIONS", "3000"))
KILLS = int(os.environ.get("CCS_CHAOS_KILLS", "8"))

# What each recorded outcome implies on the wire (decision kinds of that input).
KINDS = {
    "evaluation_booked": ["evaluation.booked"],
    "evaluation_waitlisted": ["evaluation.waitlisted"],
    "evaluation_already_open": [],
}

env = Env("schaos")
try:
    rng = random.Random(2027)
    db = env.db("scheduling")
    events, cases = [], []
    for i in range(N):
        at = "2026-11-02T%02d:%02d:%02dZ" % (8 + i // 3600 % 12, i // 60 % 60, i % 60)
        r = rng.random()
        if r < 0.05 and cases:                    # a re-determination of a known child
            case, county = rng.choice(cases)
            doc = eligibility(case, county, decided_at=at, rng=rng)
        else:
            case = new_id(rng)
            county = rng.choice(COUNTIES_WITH_MTU * 3 + COUNTIES_WITHOUT_MTU)
            cases.append((case, county))
            if r < 0.12:
                doc = eligibility(case, county, outcome="ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", decided_at=at, rng=rng)
            elif r < 0.17:
                doc = eligibility(case, county, outcome="ELIGIBILITY_OUTCOME_PENDING", decided_at=at, rng=rng)
            elif r < 0.22:
                doc = eligibility(case, county, outcome="ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE", decided_at=at, rng=rng)
            else:
                doc = eligibility(case, county, decided_at=at, rng=rng)
        events.append(envelope(doc, doc["caseId"]))
    dups = [rng.choice(events) for _ in range(N // 50)]          # redelivered events (same ce_id)
    poison = [("p%d" % i, {"ce_id": "00000000-0000-4000-8000-%012d" % i, "ce_type": "ccs.mtp.v1.EligibilityDecision"},
               b"\xff\xfe garbage %d" % i) for i in range(N // 100)]
    d = env.daemon("scheduling", extra={"CCS_BATCH_MAX": "200"})
    d.start()
    d.wait_ready()
    t0 = time.time()
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
    check(wait_caught_up(env, db, IN, ends, 600), "stored offsets equal end offsets")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 60), "outbox empty when idle")
    elapsed = time.time() - t0
    log("processed %d inputs with %d kill -9 in %.1fs" % (total, kills, elapsed))

    rows = psql(db, "SELECT event_id, outcome, decision_ids FROM inputs")
    by_event = {}
    for ev, outcome, ids in rows:
        by_event.setdefault(ev, []).append((outcome, set(x for x in ids.strip("{}").split(",") if x)))
    unique_ids = {e["id"] for e in events}
    check_eq(len(rows), len(unique_ids), "exactly one inputs row per distinct input event")
    check(all(len(v) == 1 for v in by_event.values()), "no event applied twice")
    check(set(by_event) == unique_ids, "every input event has its effect")
    expected, bad = set(), 0
    for ev, v in by_event.items():
        outcome, ids = v[0]
        want = {decision_id(ev, k) for k in KINDS.get(outcome, [])}
        if outcome not in KINDS and not outcome.startswith("not_eligible"):
            bad += 1
        if ids != want:
            bad += 1
        expected |= want
    check_eq(bad, 0, "stored decision ids are UUIDv5(event, kind) of the recorded outcome")

    decisions = env.tail(OUT, idle=4, expect=len(expected), timeout=180)
    wire = [m["headers"].get("ce_id") for m in decisions]
    check(set(wire) == expected, "decision ids on the wire (%d distinct) equal the expected set (%d)"
          % (len(set(wire)), len(expected)))
    log("decisions on the wire: %d (distinct %d, duplicates from crashes between publish and delete: %d)"
        % (len(wire), len(set(wire)), len(wire) - len(set(wire))))
    dlq = env.tail(IN + ".dlq", idle=3, expect=len(poison))
    check_eq(len({m["headers"].get("dlq_original_offset") + "/" + m["headers"].get("dlq_original_partition")
                  for m in dlq}), len(poison), "every poison record dead-lettered (by original offset)")

    overlaps = scalar(db, "SELECT count(*) FROM appointments a JOIN appointments b ON a.appointment_id < b.appointment_id"
                          " AND a.status = 'booked' AND b.status = 'booked' AND a.day = b.day"
                          " AND a.start_min < b.end_min AND b.start_min < a.end_min"
                          " AND (a.therapist_id = b.therapist_id OR a.case_id = b.case_id"
                          "  OR (a.mtu_id = b.mtu_id AND a.room_id = b.room_id))")
    check_eq(overlaps, "0", "nobody double-booked (therapist, room or child)")
    eligible = int(scalar(db, "SELECT count(*) FROM children WHERE mtp_eligible"))
    one_each = scalar(db, "SELECT count(*) FROM children c WHERE c.mtp_eligible AND"
                          " (SELECT count(*) FROM appointments a WHERE a.case_id = c.case_id AND a.kind = 'evaluation'"
                          "   AND a.status = 'booked')"
                          " + (SELECT count(*) FROM waitlist w WHERE w.case_id = c.case_id AND w.kind = 'evaluation'"
                          "   AND w.status = 'waiting') = 1")
    check_eq(int(one_each), eligible, "every eligible child has exactly one evaluation booked or waitlisted")
    booked = int(scalar(db, "SELECT count(*) FROM appointments WHERE kind = 'evaluation' AND status = 'booked'"))
    waiting = int(scalar(db, "SELECT count(*) FROM waitlist WHERE status = 'waiting'"))
    log("figures: inputs=%d kills=%d seconds=%.1f eligible_children=%d evaluations=%d waitlisted=%d "
        "dead_letters=%d wire_dups=%d" % (total, kills, elapsed, eligible, booked, waiting, len(dlq),
                                          len(wire) - len(set(wire))))
finally:
    env.cleanup()
finish()
