"""Crash test: kill -9 eligibilityd repeatedly while thousands of referral decisions and evidence
events flow on two topics, in random order across and within topics (evidence often before its
case, and out of order within a case).

Afterwards: every input has exactly one effect in ccs_eligibility (a referral_decisions or an
evidence row); every accepted referral and every evidence event for a then-known case has
exactly one decision, held evidence none; the decision ids on the wire equal the expected set
UUIDv5(event id, kind) (duplicates on the wire are counted, never lost decisions); per case the
as-of dates on the wire never go backwards; stored offsets equal end offsets; the outbox is empty.

CCS_CHAOS_INPUTS (default 3000) and CCS_CHAOS_KILLS (default 8) scale it.
"""
import os
import random
import time

from ccs_it import (Env, Killer, check, check_eq, decision_id, finish, log, psql, scalar, wait_caught_up,
                    wait_end_offsets, wait_until)
from ccs_elig_samples import (DECIDED, EVIDENCE, REFERRALS, accepted, application, evidence, financial, linked,
                              lines_requested, medical, rejected, residency)

N = int(os.environ.get("CCS_CHAOS_INPUTS", "3000"))
KILLS = int(os.environ.get("CCS_CHAOS_KILLS", "8"))



def same_set(got, want, what):
    """check_eq for big sets: sizes and a few differences instead of every id."""
    got, want = set(got), set(want)
    return check(got == want, "%s: %d vs %d expected (missing %s, unexpected %s)"
                 % (what, len(got), len(want), sorted(want - got)[:3], sorted(got - want)[:3]))


env = Env("echaos")
try:
    rng = random.Random(2027)
    db = env.db("eligibility")
    inputs = []  # (topic, envelope)
    cases = []
    while len(inputs) < N:
        birth = "%04d-%02d-%02d" % (rng.randint(2006, 2026 if rng.random() < 0.2 else 2022), rng.randint(1, 12),
                                    rng.randint(1, 28))
        if birth > "2026-10-30":
            birth = "2025-06-15"
        ref, cid = accepted(rng, birth, county=rng.choice(["Los Angeles", "Imperial", "Alpine"]),
                            lines=rng.choice([("SERVICE_LINE_MTP_THERAPY",),
                                              ("SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT")]))
        cases.append(cid)
        inputs.append((REFERRALS, ref))
        day = lambda k: "2026-11-%02dT%02d:00:00Z" % (3 + k, rng.randint(8, 17))
        kinds = [application(received="2026-11-04"), residency(ref["data"]["county"]),
                 rng.choice([medical(["G80.1"], cp=["ataxia"]), medical(["G80.1"]),
                             medical([], at_risk=["dtr3Plus", "abnormalPosturing"]), medical([], records=True)]),
                 financial(rng.choice([2500000, 4000000, 9000000]), complete=rng.random() < 0.8),
                 lines_requested("SERVICE_LINE_DIAGNOSTIC")]
        for k in rng.sample(range(len(kinds)), rng.randint(2, len(kinds))):
            inputs.append((EVIDENCE, evidence(rng, cid, kinds[k], day(k))))
        r = rng.random()
        if r < 0.05:
            inputs.append((REFERRALS, linked(rng, cid)))
        elif r < 0.08:
            inputs.append((REFERRALS, rejected(rng)))
    rng.shuffle(inputs)
    dups = [rng.choice(inputs) for _ in range(N // 50)]  # redelivered (same ce_id)
    poison = [("p%d" % i, {"ce_id": "00000000-0000-4000-8000-%012d" % i, "ce_type": "ccs.mtp.v1.EligibilityEvidence"},
               b"\xff\xfe garbage %d" % i) for i in range(N // 100)]

    d = env.daemon("eligibility", extra={"CCS_BATCH_MAX": "200", "CCS_CLOCK_TODAY": "2026-11-01"})
    d.start()
    d.wait_ready()
    t0 = time.time()
    chunks = [inputs[i:i + 500] for i in range(0, len(inputs), 500)]
    killer = Killer(d, KILLS, rng)
    for i, chunk in enumerate(chunks):
        for topic in (REFERRALS, EVIDENCE):
            part = [e for t, e in chunk if t == topic]
            if part:
                env.submit(topic, part)
        if i == 1:
            for topic in (REFERRALS, EVIDENCE):
                env.submit(topic, [e for t, e in dups if t == topic])
            env.produce_raw(EVIDENCE, poison)
        killer.after_chunk()
    kills = killer.finish()

    counts = {REFERRALS: 0, EVIDENCE: len(poison)}
    for t, _ in inputs + dups:
        counts[t] += 1
    ends = {}
    for t, n in counts.items():
        ends[t] = wait_end_offsets(env, t, n)
        check_eq(sum(ends[t].values()), n, "input topic %s holds every record" % t)
    check(all(wait_caught_up(env, db, t, ends[t], 300) for t in ends), "stored offsets equal end offsets")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 60), "outbox empty when idle")
    elapsed = time.time() - t0
    total = sum(counts.values())
    log("processed %d inputs with %d kill -9 in %.1fs" % (total, kills, elapsed))

    # Exactly one effect per distinct input.
    ref_ids = {e["id"] for t, e in inputs if t == REFERRALS}
    ev_ids = {e["id"] for t, e in inputs if t == EVIDENCE}
    rrows = psql(db, "SELECT event_id, outcome FROM referral_decisions")
    erows = psql(db, "SELECT event_id, case_known FROM evidence")
    check_eq(len(rrows), len(ref_ids), "one referral_decisions row per distinct referral event")
    same_set({r[0] for r in rrows}, ref_ids, "every referral event has its effect")
    check_eq(len(erows), len(ev_ids), "one evidence row per distinct evidence event")
    same_set({r[0] for r in erows}, ev_ids, "every evidence event has its effect")
    check_eq(int(scalar(db, "SELECT count(*) FROM cases")), len(cases), "one case per accepted referral")

    # Decisions: one per accepted referral and per evidence for a known case; none for held ones.
    drows = psql(db, "SELECT decision_id, trigger_event_id, kind, case_id, as_of FROM decisions")
    by_trigger = {}
    for did, trig, kind, cid, as_of in drows:
        by_trigger.setdefault(trig, []).append((did, kind))
    accepted_events = {r[0] for r in rrows if r[1] == "accepted"}
    known = {r[0] for r in erows if r[1] == "t"}
    held = {r[0] for r in erows if r[1] == "f"}
    same_set(by_trigger, accepted_events | known, "decisions exactly for accepted referrals and applied evidence")
    check(all(len(v) == 1 for v in by_trigger.values()), "at most one decision per input")
    check(not (set(by_trigger) & held), "held evidence has no decision of its own")
    expected = {decision_id(t, v[0][1]) for t, v in by_trigger.items()}
    same_set({r[0] for r in drows}, expected, "stored decision ids are UUIDv5(event, kind)")
    log("held evidence (arrived before its case): %d of %d" % (len(held), len(ev_ids)))

    msgs = env.tail(DECIDED, idle=4, expect=len(expected), timeout=180)
    wire = [m["headers"].get("ce_id") for m in msgs]
    same_set(wire, expected, "decision ids on the wire equal the expected set")
    seen, as_of_ok = {}, True
    first = set()
    for m in sorted(msgs, key=lambda m: (m["partition"], int(m["offset"]))):
        if m["headers"]["ce_id"] in first:
            continue
        first.add(m["headers"]["ce_id"])
        v = m["value"]
        if v["asOfDate"] < seen.get(v["caseId"], ""):
            as_of_ok = False
        seen[v["caseId"]] = v["asOfDate"]
    check(as_of_ok, "per case, as-of dates on the wire never go backwards")
    dlq = env.tail(EVIDENCE + ".dlq", idle=3, expect=len(poison))
    check_eq(len({m["headers"].get("dlq_original_offset") + "/" + m["headers"].get("dlq_original_partition")
                  for m in dlq}), len(poison), "every poison record dead-lettered (by original offset)")
    log("figures: inputs=%d kills=%d seconds=%.1f cases=%d decisions=%d held=%d wire=%d wire_dups=%d dlq_messages=%d (poison %d)"
        % (total, kills, elapsed, len(cases), len(expected), len(held), len(wire), len(wire) - len(set(wire)), len(dlq), len(poison)))
finally:
    env.cleanup()
finish()
