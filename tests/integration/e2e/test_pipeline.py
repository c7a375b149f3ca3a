"""The whole pipeline: referrald -> eligibilityd -> schedulingd on real PostgreSQL and Kafka.

A few thousand referrals, then for each accepted case the application, residency and a medical
review (most with cerebral palsy findings, some with a code alone, which needs a physician's
review). Every child whose latest eligibility decision makes them MTP eligible gets exactly one
evaluation (booked, or waitlisted when the county has no MTU or no capacity), nobody else gets
one, and nobody is double-booked. Then the world moves: prescriptions and IEP schedules for some
eligible children, a closure day at the busiest MTU, and MTU evaluations finding therapy not
medically necessary for others; afterwards nobody who is not eligible holds a future session,
nobody sits on a closed day and nobody is booked over an IEP block. Skipped (77) when a daemon
binary is missing.

CCS_E2E_REFERRALS (default 2000) scales it.
"""
import os
import random
import subprocess
import sys
import time

from ccs_it import (BUILD, KAFKA, SERVICES, Env, ccsctl, check, check_eq, end_offsets, finish, log, psql, scalar,
                    wait_until)
from ccs_elig_samples import complete_file, evidence as ev_doc, medical
from ccs_samples import envelope, referral
from ccs_sched_samples import envelope as sched_envelope, new_id, request

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

    # Wait until eligibilityd has taken every piece of evidence and published its decisions, and
    # schedulingd has seen every one of them (plus `extra` scheduling requests). How many
    # decisions eligibilityd publishes per evidence is its business: count what is on the topic.
    edb = env.db("eligibility")

    def settled(extra=0):
        ev_ends = end_offsets(env, EVIDENCE)
        got = {int(p): int(o) for p, o in psql(edb, "SELECT partition, next_offset FROM consumer_offsets"
                                                      " WHERE topic = '%s'" % env.topic(EVIDENCE))}
        if not all(got.get(p, -1) == o for p, o in ev_ends.items()) or scalar(edb, "SELECT count(*) FROM outbox") != "0":
            return None
        total = sum(end_offsets(env, DECIDED).values())
        done = int(scalar(sdb, "SELECT count(*) FROM inputs"))
        return total if total and done == total + extra else None
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

    # --- the world moves -------------------------------------------------------------------------
    REQ = "ccs.scheduling.requests.v1"
    with_eval = sorted(c for c in eligible if per_case.get(c, (0, 0))[0] == 1)
    rng.shuffle(with_eval)
    k = max(1, len(with_eval) // 10)
    rx_cases, iep_cases, nmn_cases = with_eval[:2 * k], with_eval[2 * k:3 * k], with_eval[3 * k:4 * k]
    reqs = []
    for i, c in enumerate(rx_cases + nmn_cases):
        reqs.append(request(c, "prescription", {"prescriptionId": "E2E-RX-%d" % i, "discipline": "DISCIPLINE_PT",
                                                "sessionsPerWeek": 2, "weeks": 4, "minutesPerSession": 45,
                                                "startDate": "2026-11-16"}, received_at="2026-11-09T17:00:00Z", rng=rng))
    for c in iep_cases + rx_cases[:k]:
        reqs.append(request(c, "iepSchedule", {"schoolId": "E2E-SCH", "effectiveDate": "2026-11-09",
                                               "blocks": [{"weekday": w, "startMinute": 480, "endMinute": 600,
                                                           "service": "resource room"} for w in (1, 2, 3, 4, 5)]},
                            received_at="2026-11-10T17:00:00Z", rng=rng))
    # A closure day at the busiest MTU, its calendar otherwise as the directory has it.
    busiest, bday = psql(sdb, "SELECT mtu_id, day FROM appointments WHERE status = 'booked' AND day > '2026-11-12'"
                              " GROUP BY mtu_id, day"
                              " ORDER BY count(*) DESC, mtu_id, day LIMIT 1")[0]
    ths = psql(sdb, "SELECT therapist_id, discipline, hours FROM therapists WHERE mtu_id = '%s'" % busiest)
    rooms = [r[0] for r in psql(sdb, "SELECT room_id FROM rooms WHERE mtu_id = '%s'" % busiest)]
    cls = psql(sdb, "SELECT d::date, reason FROM closures, generate_series(first_day, last_day, '1 day') d"
                    " WHERE mtu_id = '%s'" % busiest)

    def wh(arr):
        v = [int(x) for x in arr.strip("{}").split(",")]
        return [{"weekday": w + 1, "startMinute": v[2 * w], "endMinute": v[2 * w + 1]}
                for w in range(7) if v[2 * w] < v[2 * w + 1]]
    cal = request("", "mtuCalendar", {
        "mtuId": busiest,
        "therapists": [{"therapistId": t, "discipline": "DISCIPLINE_PT" if d == "1" else "DISCIPLINE_OT", "hours": wh(h)}
                       for t, d, h in ths],
        "rooms": [{"roomId": r} for r in rooms],
        "closures": [{"date": d, "reason": r or "closure"} for d, r in cls] + [{"date": bday, "reason": "e2e closure"}]},
        received_at="2026-11-11T17:00:00Z", rng=rng)
    reqs.append(cal)
    env.submit(REQ, [sched_envelope(r, r["caseId"] or busiest) for r in reqs])
    nmn = {"mtuEvaluation": {"discipline": "DISCIPLINE_PT", "evaluatedDate": "2026-11-12",
                             "medicalNecessity": "MEDICAL_NECESSITY_NOT_NECESSARY"}}
    env.submit(EVIDENCE, [ev_doc(rng, c, nmn, "2026-11-12T18:00:00Z") for c in nmn_cases])

    check(wait_until(lambda: settled(len(reqs)), 300, interval=2),
          "schedulingd recorded the requests and the new decisions")
    check(wait_until(lambda: scalar(sdb, "SELECT count(*) FROM outbox") == "0", 60), "scheduling outbox drained")
    status = dict(psql(sdb, "SELECT case_id, status FROM children"))
    ended = [c for c in nmn_cases if status.get(c) in ("DENIED", "AGED_OUT", "NOT_MEDICALLY_NECESSARY")]
    log("world: prescriptions=%d iep=%d closure=%s@%s nmn=%d ended=%d" %
        (len(rx_cases) + len(nmn_cases), len(iep_cases) + k, busiest, bday, len(nmn_cases), len(ended)))
    check(len(ended) == len(nmn_cases), "MTU evaluations found no medical necessity: %d of %d children ended"
          % (len(ended), len(nmn_cases)))
    # Nobody ineligible holds a future session: the MTU evaluations are dated 2026-11-12, so no
    # evaluation after that day and no therapy from the end of services (5 days' written notice:
    # 2026-11-17) on.
    bad = psql(sdb, "SELECT a.case_id, a.day, a.kind FROM appointments a JOIN children c USING (case_id)"
                    " WHERE a.status = 'booked' AND c.status IN ('DENIED', 'AGED_OUT', 'NOT_MEDICALLY_NECESSARY')"
                    " AND NOT c.appeal_continues AND ((a.kind = 'evaluation' AND a.day > '2026-11-12')"
                    "  OR (a.kind = 'therapy' AND a.day >= '2026-11-17'))")
    check_eq(bad, [], "nobody who is not eligible holds a future session")
    on_closed = scalar(sdb, "SELECT count(*) FROM appointments a JOIN closures c ON c.mtu_id = a.mtu_id"
                            " AND a.day BETWEEN c.first_day AND c.last_day WHERE a.status = 'booked' AND a.day > '2026-11-11'")
    check_eq(on_closed, "0", "nobody sits on a closed day")
    over_iep = scalar(sdb, "SELECT count(*) FROM appointments a JOIN iep_blocks b ON b.case_id = a.case_id"
                           " AND b.weekday = extract(isodow FROM a.day) - 1 AND a.start_min < b.end_min"
                           " AND b.start_min < a.end_min AND (b.effective_date IS NULL OR a.day >= b.effective_date)"
                           " AND (b.until_date IS NULL OR a.day <= b.until_date)"
                           " WHERE a.status = 'booked' AND a.day > '2026-11-10'")
    check_eq(over_iep, "0", "nobody booked over an IEP block")
    overlaps = scalar(sdb, "SELECT count(*) FROM appointments a JOIN appointments b ON a.appointment_id < b.appointment_id"
                           " AND a.status = 'booked' AND b.status = 'booked' AND a.day = b.day"
                           " AND a.start_min < b.end_min AND b.start_min < a.end_min"
                           " AND (a.therapist_id = b.therapist_id OR a.case_id = b.case_id"
                           "  OR (a.mtu_id = b.mtu_id AND a.room_id = b.room_id))")
    check_eq(overlaps, "0", "still nobody double-booked")
    hwm = {}
    for dm in daemons:
        try:
            with open("/proc/%d/status" % dm.proc.pid) as f:
                hwm[dm.service] = [int(l.split()[1]) for l in f if l.startswith("VmHWM:")][0] / 1024.0
        except (OSError, IndexError):
            hwm[dm.service] = None
    log("peak RSS (VmHWM, MiB): " + " ".join("%s=%s" % (k, "%.1f" % v if v else "?") for k, v in sorted(hwm.items())))
finally:
    env.cleanup()
finish()
