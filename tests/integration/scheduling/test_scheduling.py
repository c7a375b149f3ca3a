"""schedulingd on real PostgreSQL and Kafka.

A small MTU directory written by the test (one tiny MTU, one roomy one) makes capacity exact:
eligible children get an evaluation at the earliest feasible slot; not eligible ones nothing;
when capacity runs out children are waitlisted in policy order (at-risk infants first); a
cancellation re-offers the freed slot to the first waitlisted child; an MTU calendar change
re-offers new capacity; IEP blocks are never booked over; IEP notices identify the student only
while a release is on file; a plan change starts no sooner than notice + 5 days; a conference
finds PT, OT and physician free; the database refuses an overlapping appointment inserted
directly and two instances booking the same MTU never double-book; a case id written in capitals
is the same child as in lower case (one child, never double-booked, decisions in the canonical
form); garbage is dead-lettered.
"""
import os
import random

from ccs_it import (Env, check, check_eq, decision_id, end_offsets, finish, log, psql, scalar, wait_until)
from ccs_sched_samples import eligibility, envelope, hours, new_id, request

ELIG, REQ, OUT = "ccs.eligibility.decided.v1", "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"

DIRECTORY = "\n".join([
    "ccs-mtu-directory\t1",
    # Imperial: one PT who evaluates on Mondays 08:00-09:00 only: one evaluation a week.
    "mtu\tT-SMALL\tImperial\tTest School A\tPT,OT\tMon-Fri 08:00-16:00",
    "therapist\tT-SMALL\tS-PT1\tPT\tMon 08:00-09:00",
    "therapist\tT-SMALL\tS-OT1\tOT\tMon-Fri 08:00-16:00",
    "room\tT-SMALL\tR1\tPT,OT,CONF",
    # Fresno: roomy.
    "mtu\tT-BIG\tFresno\tTest School B\tPT,OT\tMon-Fri 08:00-16:00",
    "district\tT-BIG\tFresno Unified",
    "therapist\tT-BIG\tB-PT1\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-BIG\tB-PT2\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-BIG\tB-OT1\tOT\tMon-Fri 08:00-16:00",
    "room\tT-BIG\tG1\tPT",
    "room\tT-BIG\tG2\tPT",
    "room\tT-BIG\tO1\tOT",
    "room\tT-BIG\tC1\tCONF",
    "closure\tT-BIG\t2026-11-26\t2026-11-27\tThanksgiving",
    # Kern: one PT, one OT and two rooms for both, so only the child can keep two evaluations
    # apart (section 8b).
    "mtu\tT-CASE\tKern\tTest School C\tPT,OT\tMon-Fri 08:00-16:00",
    "therapist\tT-CASE\tK-PT1\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-CASE\tK-OT1\tOT\tMon-Fri 08:00-16:00",
    "room\tT-CASE\tK1\tPT,OT",
    "room\tT-CASE\tK2\tPT,OT",
    "",
])

env = Env("sched")
rng = random.Random(11)
seen = {}   # decision ce_id -> message


def wait_inputs(n, timeout=60):
    return wait_until(lambda: int(scalar(db, "SELECT count(*) FROM inputs")) >= n, timeout)


def decisions(expect_total, timeout=60):
    """All decisions so far (waits until at least expect_total distinct ones are on the wire)."""
    msgs = env.tail(OUT, idle=2, expect=expect_total, timeout=timeout)
    for m in msgs:
        seen[m["headers"]["ce_id"]] = m
    return msgs


def by_kind(event_id, kind):
    return seen.get(decision_id(event_id, kind))


def submit_elig(docs):
    env.submit(ELIG, [envelope(d, d["caseId"]) for d in docs])


def submit_req(docs):
    env.submit(REQ, [envelope(d, d["caseId"] or d.get("mtuCalendar", {}).get("mtuId")) for d in docs])


n_inputs = 0


def step(n):
    """Wait until n more inputs have been recorded."""
    global n_inputs
    n_inputs += n
    ok = wait_inputs(n_inputs)
    check(ok, "inputs recorded: %d" % n_inputs)


try:
    path = os.path.join(env.logdir, "mtu_directory.tsv")
    with open(path, "w") as f:
        f.write(DIRECTORY)
    db = env.db("scheduling")
    extra = {"CCS_MTU_DIRECTORY": path, "CCS_BATCH_MAX": "50"}
    d = env.daemon("scheduling", extra=extra).start()
    d.wait_ready()
    check_eq(scalar(db, "SELECT count(*) FROM therapists"), "7", "directory file loaded into the database")

    # --- 1. eligible -> evaluation; not eligible / pending -> nothing --------------------------
    big = [new_id(rng) for _ in range(3)]
    e_big = [eligibility(c, "Fresno", rng=rng) for c in big]
    not_elig = eligibility(new_id(rng), "Fresno", outcome="ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", rng=rng)
    pending = eligibility(new_id(rng), "Fresno", outcome="ELIGIBILITY_OUTCOME_PENDING", rng=rng)
    no_mtu = eligibility(new_id(rng), "Alpine", rng=rng)
    submit_elig(e_big + [not_elig, pending, no_mtu])
    step(6)
    decisions(4)
    for e in e_big:
        m = by_kind(e["decisionId"], "evaluation.booked")
        if check(m is not None, "eligible child gets an EvaluationBooked decision"):
            a = m["value"]["evaluationBooked"]["appointment"]
            check_eq(m["key"], e["caseId"], "decision keyed by case id")
            check_eq(m["value"]["mtuId"], "T-BIG", "evaluation at the MTU serving the county")
            check_eq(m["value"]["decidedAt"], e["decidedAt"], "decided_at copies the input")
            check_eq(a["date"], "2026-11-03", "earliest feasible day (eligibility + 1 day)")
            check_eq(a["durationMinutes"], 60, "evaluation length from the settings")
    slots = psql(db, "SELECT therapist_id, room_id, start_min FROM appointments ORDER BY start_min, therapist_id")
    check_eq(sorted((s[0], s[2]) for s in slots), [("B-PT1", "480"), ("B-PT1", "540"), ("B-PT2", "480")],
             "two PTs at 08:00, the next at 09:00 (no one double-booked)")
    for e in (not_elig, pending):
        check(by_kind(e["decisionId"], "evaluation.booked") is None and
              by_kind(e["decisionId"], "evaluation.waitlisted") is None, "not eligible/pending: no decision")
        check_eq(scalar(db, "SELECT count(*) FROM appointments WHERE case_id = '%s'" % e["caseId"]), "0",
                 "not eligible/pending: nothing booked")
        check(scalar(db, "SELECT outcome FROM inputs WHERE event_id = '%s'" % e["decisionId"]).startswith("not_eligible"),
              "not eligible/pending: recorded")
    m = by_kind(no_mtu["decisionId"], "evaluation.waitlisted")
    if check(m is not None, "county without an MTU: waitlisted"):
        check_eq(m["value"]["waitlisted"]["reasonCode"], "NO_MTU_FOR_COUNTY", "reason names the missing MTU")
    # The same decision again (a re-determination) does not book a second evaluation.
    again = eligibility(big[0], "Fresno", rng=rng)
    submit_elig([again])
    step(1)
    check_eq(scalar(db, "SELECT outcome FROM inputs WHERE event_id = '%s'" % again["decisionId"]),
             "evaluation_already_open", "second eligible decision: evaluation already open")
    # Two decisions for one new child in one batch: the second finds the evaluation the first
    # booked (the batch's memo of the child), and the child is written once.
    twice = new_id(rng)
    e_twice = [eligibility(twice, "Fresno", decided_at="2026-11-02T18:00:0%dZ" % i, rng=rng) for i in (0, 1)]
    submit_elig(e_twice)
    step(2)
    decisions(len(seen) + 1)
    check_eq([scalar(db, "SELECT outcome FROM inputs WHERE event_id = '%s'" % e["decisionId"]) for e in e_twice],
             ["evaluation_booked", "evaluation_already_open"], "same child twice in a batch: one evaluation")
    check_eq(scalar(db, "SELECT count(*) FROM appointments WHERE case_id = '%s'" % twice), "1",
             "same child twice in a batch: one appointment")
    # One instance: each booking joins the batch's snapshot of its MTU, so none of them collides
    # with another of the same batch (the EXCLUDE constraints would refuse it: a conflict).
    check_eq(d.metric("booking_conflicts_total") or 0.0, 0.0, "one instance: no booking conflict")

    # --- 2. waitlist when there is no capacity, in policy order ------------------------------
    # T-SMALL evaluates one child a week; the 30-day target holds 4 Mondays (Nov 9..30).
    small = [new_id(rng) for _ in range(7)]
    e_small = [eligibility(c, "Imperial", decided_at="2026-11-02T17:00:%02dZ" % i, rng=rng)
               for i, c in enumerate(small)]
    e_small[6] = eligibility(small[6], "Imperial", outcome="ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE",
                             decided_at="2026-11-02T17:00:06Z", rng=rng)
    submit_elig(e_small[:4])
    step(4)
    booked_days = sorted(r[0] for r in psql(db, "SELECT day FROM appointments WHERE mtu_id = 'T-SMALL'"))
    check_eq(booked_days, ["2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"], "four Mondays booked")
    for i in (4, 5, 6):   # one at a time so positions are known
        submit_elig([e_small[i]])
        step(1)
    decisions(len(seen) + 7)
    pos = {}
    for i in (4, 5, 6):
        m = by_kind(e_small[i]["decisionId"], "evaluation.waitlisted")
        if check(m is not None, "child %d waitlisted" % i):
            pos[i] = m["value"]["waitlisted"]
            check(m["value"]["waitlisted"]["reasonCode"].startswith("NO_CAPACITY"), "waitlist reason is capacity")
    check_eq([pos.get(i, {}).get("position") for i in (4, 5, 6)], [1, 2, 1],
             "positions: FIFO, then the at-risk infant goes first")
    check_eq(pos.get(6, {}).get("priority", 0), 0, "at-risk infant has the top priority tier")
    # Program gauge (refreshed between batches): three children wait at that MTU.
    wl_mtu = psql(db, "SELECT DISTINCT mtu_id FROM waitlist WHERE status = 'waiting' AND mtu_id IS NOT NULL")
    if check(len(wl_mtu) >= 1, "the waiting children have an MTU"):
        lab = 'mtu="%s"' % wl_mtu[0][0]
        want = float(scalar(db, "SELECT count(*) FROM waitlist WHERE status = 'waiting' AND mtu_id = '%s'"
                            % wl_mtu[0][0]))
        check(wait_until(lambda: d.metric("waitlist_children", lab) == want, 15),
              "waitlist_children{%s} = %s" % (lab, want))
        check((d.metric("waitlist_oldest_wait_days", lab) or 0) >= 0, "oldest wait by MTU exported")
    check((d.metric("eligibility_to_evaluation_days_count") or 0) >= 1,
          "days from eligibility to the first evaluation observed (%s evaluations)"
          % d.metric("eligibility_to_evaluation_days_count"))

    # --- 3. cancellation re-offers the slot to the first waitlisted child --------------------
    appt, appt_day = psql(db, "SELECT appointment_id, day FROM appointments WHERE case_id = '%s'" % small[0])[0]
    cancel = request(small[0], "cancellation", {"appointmentId": appt, "reason": "CANCELLATION_REASON_FAMILY"}, rng=rng)
    submit_req([cancel])
    step(1)
    decisions(len(seen) + 2)
    check(by_kind(cancel["requestId"], "cancelled") is not None, "Cancelled decision")
    entry6 = scalar(db, "SELECT entry_id FROM waitlist WHERE case_id = '%s'" % small[6])
    m = by_kind(cancel["requestId"], "reoffer." + entry6)
    if check(m is not None, "freed slot re-offered to the first waitlisted child (the at-risk infant)"):
        check_eq(m["key"], small[6], "re-offer decision keyed by the waitlisted child's case")
        check_eq(m["value"]["evaluationBooked"]["appointment"]["date"], appt_day, "the freed Monday")
    check_eq(scalar(db, "SELECT status FROM waitlist WHERE entry_id = '%s'" % entry6), "booked", "entry resolved")
    check_eq(scalar(db, "SELECT status FROM appointments WHERE appointment_id = '%s'" % appt), "cancelled",
             "cancelled appointment kept as cancelled")

    # --- 4. new capacity (MTU calendar) re-offers to the waitlist ------------------------------
    cal = request("", "mtuCalendar", {
        "mtuId": "T-SMALL",
        "therapists": [{"therapistId": "S-PT1", "discipline": "DISCIPLINE_PT", "hours": hours(480, 540, (1,))},
                       {"therapistId": "S-PT2", "discipline": "DISCIPLINE_PT", "hours": hours(480, 600, (3,))},
                       {"therapistId": "S-OT1", "discipline": "DISCIPLINE_OT", "hours": hours(480, 960)}],
        "rooms": [{"roomId": "R1"}, {"roomId": "R2"}],
        "closures": [{"date": "2026-11-11", "reason": "Veterans Day"}]}, rng=rng)
    submit_req([cal])
    step(1)
    decisions(len(seen) + 2)
    for i in (4, 5):
        entry = scalar(db, "SELECT entry_id FROM waitlist WHERE case_id = '%s'" % small[i])
        m = by_kind(cal["requestId"], "reoffer." + entry)
        if check(m is not None, "calendar change re-offers to waitlisted child %d" % i):
            a = m["value"]["evaluationBooked"]["appointment"]
            check_eq(a["therapistId"], "S-PT2", "new therapist's hours used")
            check(a["date"] != "2026-11-11", "closure respected")
    check_eq(scalar(db, "SELECT count(*) FROM waitlist WHERE status = 'waiting' AND mtu_id = 'T-SMALL'"), "0",
             "T-SMALL waitlist emptied")

    # --- 5. IEP blocks respected; schedule-change notice; release gating ---------------------
    iep_child = new_id(rng)
    blocks = {"schoolId": "SCH-1", "effectiveDate": "2026-11-01",
              "blocks": [{"weekday": w, "startMinute": 480, "endMinute": 900, "service": "resource room"}
                         for w in range(1, 6)]}
    submit_req([request(iep_child, "iepSchedule", blocks, rng=rng)])
    step(1)
    e_iep = eligibility(iep_child, "Fresno", rng=rng)
    submit_elig([e_iep])
    step(1)
    decisions(len(seen) + 1)
    m = by_kind(e_iep["decisionId"], "evaluation.booked")
    if check(m is not None, "child with IEP blocks booked"):
        a = m["value"]["evaluationBooked"]["appointment"]
        check(a["startMinute"] >= 900, "evaluation after the IEP blocks (start %s)" % a["startMinute"])

    # Release gating: two children with booked evaluations get IEP blocks over them.
    with_rel, without_rel = big[1], big[2]
    rel = request(with_rel, "release", {"releaseId": "REL-1", "status": "RELEASE_STATUS_ON_FILE",
                                        "effectiveDate": "2026-10-01", "schoolDistrict": "Fresno Unified",
                                        "studentIdAtDistrict": "S-123456"}, rng=rng)
    submit_req([rel])
    step(1)
    iep_a = request(with_rel, "iepSchedule", blocks, rng=rng)
    iep_b = request(without_rel, "iepSchedule", blocks, rng=rng)
    submit_req([iep_a, iep_b])
    step(2)
    decisions(len(seen) + 2)
    na = by_kind(iep_a["requestId"], "iep.schedule_change")
    nb = by_kind(iep_b["requestId"], "iep.schedule_change")
    if check(na is not None, "schedule-change notice (release on file)"):
        n = na["value"]["iepNotice"]
        check_eq(n.get("kind"), "IEP_NOTICE_KIND_SCHEDULE_CHANGE_SCHOOL_DAY", "notice kind")
        check_eq(n.get("releaseOnFile"), True, "release on file")
        check_eq(n.get("student"), {"schoolDistrict": "Fresno Unified", "studentIdAtDistrict": "S-123456"},
                 "student identified while the release is on file")
        check(n.get("effectiveDate", "") >= "2026-11-07", "schedule change effective after 5 days' notice")
    if check(nb is not None, "schedule-change notice (no release)"):
        n = nb["value"]["iepNotice"]
        check(not n.get("releaseOnFile") and "student" not in n, "no release: no student identification")
        check_eq(nb["value"]["caseId"], without_rel, "no release: the case id only")
    # Revoke, then a LEA referral notice carries no identification.
    revoke = request(with_rel, "release", {"releaseId": "REL-1", "status": "RELEASE_STATUS_REVOKED",
                                           "effectiveDate": "2026-11-02"}, rng=rng)
    submit_req([revoke])
    step(1)
    lea = eligibility(with_rel, "Fresno", outcome="ELIGIBILITY_OUTCOME_NOT_ELIGIBLE",
                      reasons=("NOT_MEDICALLY_NECESSARY", "REFER_LEA_EDUCATIONAL"), rng=rng)
    submit_elig([lea])
    step(1)
    decisions(len(seen) + 1)
    m = by_kind(lea["decisionId"], "iep.refer_lea")
    if check(m is not None, "NOT_MEDICALLY_NECESSARY -> REFER_LEA_EDUCATIONAL notice"):
        n = m["value"]["iepNotice"]
        check_eq(n.get("kind"), "IEP_NOTICE_KIND_REFER_LEA_EDUCATIONAL", "LEA notice kind")
        check(not n.get("releaseOnFile") and "student" not in n, "revoked release: no identification")

    # --- 6. therapy series and the 5-day plan-change rule -----------------------------------
    rx_child = big[0]
    rx1 = request(rx_child, "prescription", {"prescriptionId": "RX-1", "discipline": "DISCIPLINE_PT",
                                             "sessionsPerWeek": 2, "weeks": 4, "minutesPerSession": 45,
                                             "startDate": "2026-11-09", "mtuId": "T-BIG"}, rng=rng)
    submit_req([rx1])
    step(1)
    decisions(len(seen) + 1)
    m = by_kind(rx1["requestId"], "series.booked")
    if check(m is not None, "prescription -> SeriesBooked"):
        ap = m["value"]["seriesBooked"]["appointments"]
        check(len(ap) >= 6, "most of 8 sessions booked (Thanksgiving week may book none): %d" % len(ap))
        check_eq(len({a["therapistId"] for a in ap}), 1, "same therapist for the series")
    rx2 = request(rx_child, "prescription", {"prescriptionId": "RX-2", "discipline": "DISCIPLINE_PT",
                                             "sessionsPerWeek": 3, "weeks": 2, "minutesPerSession": 30,
                                             "startDate": "2026-11-03", "mtuId": "T-BIG"},
                  received_at="2026-11-10T16:00:00Z", rng=rng)
    submit_req([rx2])
    step(1)
    decisions(len(seen) + 1)
    m = by_kind(rx2["requestId"], "series.booked")
    if check(m is not None, "plan change booked"):
        first = min(a["date"] for a in m["value"]["seriesBooked"]["appointments"])
        check(first >= "2026-11-15", "plan change effective no sooner than notice + 5 days (first %s)" % first)
    left = scalar(db, "SELECT count(*) FROM appointments WHERE prescription_id = 'RX-1' AND status = 'booked'"
                      " AND day >= '2026-11-15'")
    check_eq(left, "0", "old plan's sessions from the change on are cancelled")

    # --- 7. conference: PT, OT and the physician free ---------------------------------------
    confs = []
    for i, c in enumerate((big[0], big[1])):
        confs.append(request(c, "conferenceRequest", {"conferenceId": "MTC-%d" % i, "physicianId": "DOC-1",
                                                       "earliestDate": "2026-11-16", "latestDate": "2026-12-18"},
                             rng=rng))
    submit_req(confs[:1])
    step(1)
    submit_req(confs[1:])
    step(1)
    decisions(len(seen) + 2)
    m = by_kind(confs[0]["requestId"], "conference.scheduled")
    if check(m is not None, "conference scheduled"):
        v = m["value"]["conferenceScheduled"]
        roles = sorted(p["role"] for p in v["participants"])
        check_eq(roles, ["PARTICIPANT_ROLE_CHILD_AND_FAMILY", "PARTICIPANT_ROLE_MTC_PHYSICIAN",
                         "PARTICIPANT_ROLE_PHYSICAL_THERAPIST"],
                 "a PT-only child: family, PT and physician (no OT needed)")
    # big[1] was found not medically necessary above: no conference for a child not eligible.
    m = by_kind(confs[1]["requestId"], "refused")
    if check(m is not None, "conference for a child found not medically necessary: refused"):
        check_eq(m["value"]["refused"]["reasonCode"], "NOT_MEDICALLY_NECESSARY", "refusal reason")

    # --- 8. the database refuses an overlapping appointment -------------------------------------
    row = psql(db, "SELECT therapist_id, day, start_min, end_min FROM appointments WHERE status = 'booked'"
                   " AND room_id IS NOT NULL LIMIT 1")[0]
    try:
        psql(db, "INSERT INTO appointments(appointment_id, case_id, mtu_id, therapist_id, room_id, discipline, kind,"
                 " day, start_min, end_min, event_id) VALUES ('%s', '%s', 'T-BIG', '%s', NULL, 1, 'evaluation',"
                 " '%s', %d, %d, 'direct')" % (new_id(rng), new_id(rng), row[0], row[1], int(row[2]) + 15,
                                               int(row[3]) + 15))
        check(False, "overlapping appointment for a therapist refused by the database")
    except RuntimeError as ex:
        check("appointments_therapist_free" in str(ex), "overlapping appointment refused by EXCLUDE constraint")
    try:
        psql(db, "INSERT INTO appointments(appointment_id, case_id, mtu_id, therapist_id, room_id, discipline, kind,"
                 " day, start_min, end_min, event_id) SELECT '%s', case_id, mtu_id, 'OTHER', NULL, 1, 'therapy',"
                 " day, start_min, end_min, 'direct' FROM appointments WHERE status = 'booked' AND case_id IS NOT NULL"
                 " LIMIT 1" % new_id(rng))
        check(False, "child double-booking refused")
    except RuntimeError as ex:
        check("appointments_child_free" in str(ex), "child double-booking refused by EXCLUDE constraint")

    # --- 8b. a case id in capitals is the same child ------------------------------------------
    # UUIDs are case-insensitive on input (RFC 4122); PostgreSQL answers uuid columns in lower
    # case. Each child below gets a PT evaluation, then an OT one at T-CASE, where the OT
    # therapist and a second room are free at the PT evaluation's hour: only the child's own
    # booking, read back from the database, keeps the two apart. An own rng: the other
    # sections' ids stay what they were.
    crng = random.Random(29)

    def evals(case):
        return psql(db, "SELECT discipline, day, start_min, end_min FROM appointments WHERE case_id = '%s'"
                        " AND status = 'booked' AND kind = 'evaluation' ORDER BY discipline" % case)

    def apart(rows):
        return len(rows) == 2 and not (rows[0][1] == rows[1][1] and int(rows[0][2]) < int(rows[1][3])
                                       and int(rows[1][2]) < int(rows[0][3]))

    # (a) requests in lower case, then the eligibility decision in capitals: the decision books
    # PT and OT; the OT search reads the PT evaluation it just booked back from the database.
    lo_a = new_id(crng)
    submit_req([request(lo_a, "evaluationRequest", {"disciplines": ["DISCIPLINE_PT", "DISCIPLINE_OT"]}, rng=crng)])
    step(1)
    e_up = eligibility(lo_a.upper(), "Kern", rng=crng)
    submit_elig([e_up])
    step(1)
    decisions(len(seen) + 2)
    check_eq(scalar(db, "SELECT outcome FROM inputs WHERE event_id = '%s'" % e_up["decisionId"]),
             "evaluation_booked", "capitalised case id: both evaluations booked")
    rows = evals(lo_a)
    check(apart(rows), "capitalised case id: PT and OT evaluations of one child do not overlap %s" % rows)
    for k in ("evaluation.booked.PT", "evaluation.booked.OT"):
        m = by_kind(e_up["decisionId"], k)
        if check(m is not None, "capitalised case id: %s decision" % k):
            check_eq((m["key"], m["value"]["caseId"]), (lo_a, lo_a),
                     "capitalised case id: decision keyed and carried in canonical lower case")
    check_eq(scalar(db, "SELECT case_id FROM inputs WHERE event_id = '%s'" % e_up["decisionId"]), lo_a,
             "capitalised case id: inputs row in canonical lower case")

    # (b) the reverse: the eligibility decision in lower case books PT; a request in capitals
    # adds OT, a week later so T-CASE is empty that day. A cancellation in capitals is of the
    # child's own appointment (not "another case").
    lo_b = new_id(crng)
    e_lo = eligibility(lo_b, "Kern", as_of="2026-11-09", decided_at="2026-11-09T17:00:00Z", rng=crng)
    submit_elig([e_lo])
    step(1)
    r_up = request(lo_b.upper(), "evaluationRequest", {"disciplines": ["DISCIPLINE_PT", "DISCIPLINE_OT"]},
                   received_at="2026-11-09T18:00:00Z", rng=crng)
    submit_req([r_up])
    step(1)
    decisions(len(seen) + 2)
    rows = evals(lo_b)
    check(apart(rows), "request in capitals: the child's own PT evaluation is seen, OT apart %s" % rows)
    m = by_kind(r_up["requestId"], "evaluation.booked.OT")
    if check(m is not None, "request in capitals: OT evaluation booked"):
        check_eq(m["key"], lo_b, "request in capitals: decision keyed by the canonical case id")
    ot = scalar(db, "SELECT appointment_id FROM appointments WHERE case_id = '%s' AND discipline = 2" % lo_b)
    c_up = request(lo_b.upper(), "cancellation", {"appointmentId": ot.upper(), "reason": "CANCELLATION_REASON_FAMILY"},
                   received_at="2026-11-09T19:00:00Z", rng=crng)
    submit_req([c_up])
    step(1)
    decisions(len(seen) + 1)
    m = by_kind(c_up["requestId"], "cancelled")
    if check(m is not None, "cancellation in capitals: Cancelled decision"):
        check_eq(m["value"]["cancelled"]["appointmentId"], ot, "cancellation in capitals: canonical appointment id")
    check_eq(scalar(db, "SELECT status FROM appointments WHERE appointment_id = '%s'" % ot), "cancelled",
             "cancellation in capitals: the child's own appointment cancelled")

    # --- 9. two instances, one group, one MTU: nobody double-booked ---------------------------
    d2 = env.daemon("scheduling", instance="b", extra=extra).start()
    d2.wait_ready()
    crowd = [eligibility(new_id(rng), "Fresno", rng=rng) for _ in range(120)]
    submit_elig(crowd)
    step(len(crowd))
    overlaps = scalar(db, "SELECT count(*) FROM appointments a JOIN appointments b ON a.appointment_id < b.appointment_id"
                          " AND a.status = 'booked' AND b.status = 'booked' AND a.day = b.day"
                          " AND a.start_min < b.end_min AND b.start_min < a.end_min"
                          " AND (a.therapist_id = b.therapist_id OR a.case_id = b.case_id"
                          "  OR (a.mtu_id = b.mtu_id AND a.room_id = b.room_id))")
    check_eq(overlaps, "0", "two instances: no therapist, room or child double-booked")
    got = psql(db, "SELECT count(*) FILTER (WHERE outcome = 'evaluation_booked'),"
                   " count(*) FILTER (WHERE outcome = 'evaluation_waitlisted') FROM inputs WHERE event_id IN (%s)"
                   % ",".join("'%s'" % c["decisionId"] for c in crowd))[0]
    check_eq(int(got[0]) + int(got[1]), len(crowd), "every crowded child booked or waitlisted exactly once")
    log("two instances: %s booked, %s waitlisted; instance b processed %s; booking conflicts retried: a %s, b %s" %
        (got[0], got[1], d2.metric("messages_total", 'result="processed"'), d.metric("booking_conflicts_total"),
         d2.metric("booking_conflicts_total")))

    # --- 10. dead letters ----------------------------------------------------------------------
    env.produce_raw(ELIG, [("k1", {"ce_id": new_id(rng), "ce_type": "ccs.mtp.v1.EligibilityDecision"},
                            b"\xff\xff\xff\x0fnot protobuf")])
    bad_kind = request(big[0], "release", {})
    del bad_kind["release"]
    bad_appt = request(big[0], "cancellation", {"appointmentId": new_id(rng)}, rng=rng)
    submit_req([bad_kind, bad_appt])
    dlq_e = env.tail(ELIG + ".dlq", idle=2, expect=1, timeout=30)
    dlq_r = env.tail(REQ + ".dlq", idle=2, expect=2, timeout=30)
    check_eq(len(dlq_e), 1, "undecodable eligibility decision dead-lettered")
    check_eq(len(dlq_r), 2, "request without a kind and unknown appointment dead-lettered")
    check_eq(sorted(m["headers"].get("dlq_error_class") for m in dlq_r), ["validation", "validation"],
             "semantically invalid requests dead-lettered with class validation")
    for ev in (bad_kind["requestId"], bad_appt["requestId"]):
        check_eq(scalar(db, "SELECT count(*) FROM inputs WHERE event_id = '%s'" % ev), "0", "poison has no effect")

    # --- invariants -------------------------------------------------------------------------------
    for t in (ELIG, REQ):
        ends = end_offsets(env, t)

        def caught_up():
            rows = psql(db, "SELECT partition, next_offset FROM consumer_offsets WHERE topic = '%s'" % env.topic(t))
            got = {int(p): int(o) for p, o in rows}
            return all(got.get(p, -1) == o for p, o in ends.items())
        check(wait_until(caught_up, 60), "stored offsets reach the end of %s" % t)
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained")
    stored = {r[0] for r in psql(db, "SELECT unnest(decision_ids)::text FROM inputs")}
    wire = {m["headers"]["ce_id"] for m in env.tail(OUT, idle=3, expect=len(stored), timeout=60)}
    check(wire == stored, "decision ids on the wire (%d) equal those recorded per input (%d)" % (len(wire), len(stored)))
finally:
    env.cleanup()
finish()
