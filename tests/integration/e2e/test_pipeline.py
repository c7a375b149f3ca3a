"""The whole pipeline: referrald -> eligibilityd -> schedulingd on real PostgreSQL and Kafka.

A few thousand referrals, then for each accepted case the application, residency and a medical
review (most with cerebral palsy findings, some with a code alone, which needs a physician's
review). Every child whose latest eligibility decision makes them MTP eligible gets exactly one
evaluation (booked, or waitlisted when the county has no MTU or no capacity), nobody else gets
one, and nobody is double-booked. Skipped (77) when a daemon binary is missing.

CCS_E2E_REFERRALS (default 2000) scales it.
"""
import os
import random
import subprocess
import sys
import time

from ccs_it import (BUILD, KAFKA, SERVICES, Env, ccsctl, check, check_eq, end_offsets, finish, log, psql, scalar,
                    wait_until)
from ccs_elig_samples import complete_file, medical
from ccs_samples import envelope, referral

N = int(os.environ.get("CCS_E2E_REFERRALS", "2000"))
REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
EVIDENCE, DECIDED, SCHED_OUT = "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1", "ccs.scheduling.decided.v1"

for s in ("referral", "eligibility", "scheduling"):
    if not os.path.exists(os.path.join(BUILD, SERVICES[s])):
        log("%s not built: skipping" % SERVICES[s])
        sys.exit(77)

env = Env("e2e")
try:
    rng = random.Random(31)
    sdb = env.db("scheduling")
    # Every topic exists before any daemon subscribes: a daemon subscribed to a topic that does
    # not exist yet only sees it at librdkafka's next metadata refresh (5 minutes by default).
    topics = [env.topic(t) for t in (REF_IN, REF_OUT, EVIDENCE, DECIDED, SCHED_OUT, "ccs.scheduling.requests.v1")]
    subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3"] + topics, check=True,
                   capture_output=True)
    daemons = [env.daemon("referral"), env.daemon("eligibility", extra={"CCS_CLOCK_TODAY": "2026-11-01"}),
               env.daemon("scheduling")]
    for d in daemons:
        d.start()
    for d in daemons:
        d.wait_ready()
    t0 = time.time()

    refs = [envelope(referral(rng)) for _ in range(N)]
    env.submit(REF_IN, refs)
    rdec = env.tail(REF_OUT, idle=3, expect=N, timeout=180)
    check_eq(len({m["headers"]["ce_id"] for m in rdec}), N, "one referral decision per referral")
    cases = {}
    for m in rdec:
        v = m["value"]
        if "accepted" in v:
            cases[v["caseId"]] = v["county"]
    log("accepted cases: %d" % len(cases))

    # Evidence per case: 85% cerebral palsy with findings (eligible), 15% a code alone.
    cp = medical(["G80.1"], cp=["rigidityOrSpasticity"])
    code_only = medical(["G80.1"])
    evidence = []
    for case_id, county in sorted(cases.items()):
        evidence += complete_file(rng, case_id, cp if rng.random() < 0.85 else code_only, county=county)
    env.submit(EVIDENCE, evidence)

    # Wait until schedulingd has seen every eligibility decision eligibilityd published.
    def settled():
        ends = end_offsets(env, DECIDED)
        total = sum(ends.values())
        done = int(scalar(sdb, "SELECT count(*) FROM inputs"))
        return total if total and done == total and total >= len(evidence) else None
    total = wait_until(settled, 300, interval=2)
    check(bool(total), "schedulingd recorded every eligibility decision")
    check(wait_until(lambda: scalar(sdb, "SELECT count(*) FROM outbox") == "0", 60), "scheduling outbox drained")
    elapsed = time.time() - t0

    # The latest eligibility decision per case (per-key order: partition offsets).
    edec = env.tail(DECIDED, idle=3)
    latest = {}
    for m in sorted(edec, key=lambda m: (m["partition"], int(m["offset"]))):
        v = m["value"]
        line = [l for l in v.get("serviceLines", []) if l.get("serviceLine") == "SERVICE_LINE_MTP_THERAPY"]
        outcome = line[0].get("outcome") if line else v.get("outcome")
        latest[v["caseId"]] = outcome in ("ELIGIBILITY_OUTCOME_ELIGIBLE", "ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE")
    eligible = {c for c, e in latest.items() if e}
    log("eligibility decisions: %d for %d cases; MTP eligible: %d" % (len(edec), len(latest), len(eligible)))
    check(len(eligible) > len(cases) // 2, "most cases are MTP eligible (%d of %d)" % (len(eligible), len(cases)))

    rows = psql(sdb, "SELECT c.case_id,"
                     " (SELECT count(*) FROM appointments a WHERE a.case_id = c.case_id AND a.kind = 'evaluation'"
                     "   AND a.status = 'booked'),"
                     " (SELECT count(*) FROM waitlist w WHERE w.case_id = c.case_id AND w.kind = 'evaluation'"
                     "   AND w.status = 'waiting') FROM children c")
    per_case = {r[0]: (int(r[1]), int(r[2])) for r in rows}
    check(all(per_case.get(c, (0, 0))[0] + per_case.get(c, (0, 0))[1] == 1 for c in eligible),
          "every eligible child has exactly one evaluation booked or waitlisted")
    check(all(per_case.get(c, (0, 0)) == (0, 0) for c in latest if c not in eligible),
          "children not (yet) eligible have no evaluation")
    sdec = env.tail(SCHED_OUT, idle=3)
    booked_by_case = {}
    for m in sdec:
        if "evaluationBooked" in m["value"]:
            booked_by_case.setdefault(m["value"]["caseId"], set()).add(m["headers"]["ce_id"])
    check(all(len(v) == 1 for v in booked_by_case.values()), "at most one EvaluationBooked decision per child")
    want = {c for c in eligible if per_case.get(c, (0, 0))[0] == 1}
    check(set(booked_by_case) == want, "EvaluationBooked decisions (%d children) match the booked evaluations (%d)"
          % (len(booked_by_case), len(want)))
    overlaps = scalar(sdb, "SELECT count(*) FROM appointments a JOIN appointments b ON a.appointment_id < b.appointment_id"
                           " AND a.status = 'booked' AND b.status = 'booked' AND a.day = b.day"
                           " AND a.start_min < b.end_min AND b.start_min < a.end_min"
                           " AND (a.therapist_id = b.therapist_id OR a.case_id = b.case_id"
                           "  OR (a.mtu_id = b.mtu_id AND a.room_id = b.room_id))")
    check_eq(overlaps, "0", "nobody double-booked")
    log("figures: referrals=%d cases=%d evidence=%d eligibility_decisions=%d eligible=%d booked=%d waitlisted=%d "
        "seconds=%.1f" % (N, len(cases), len(evidence), len(edec), len(eligible), len(booked_by_case),
                          sum(1 for c in eligible if per_case.get(c, (0, 0))[1]), elapsed))
finally:
    env.cleanup()
finish()
