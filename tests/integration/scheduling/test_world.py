"""schedulingd: the calendar follows eligibility and the world (issue 10), through Kafka.

Its own small MTU directory: two Fresno MTUs (one per district) and Madera served by a neighbour.
Checked: the MTU of the school district, the neighbour of a county without an MTU, evaluations in
the disciplines the referral asks for; refusals for children who are not eligible; the first
therapy in school hours noticed with the therapy summary a release's scope allows; sessions moved
off a new closure and off new IEP blocks (5-day rule), the notice saying what moved; a
cancellation rebooking the same child; conference participants from the disciplines received,
an unschedulable conference as its own kind, equipment from an outcome; MTP staff named for an
IEP meeting; denial and age-out ending services after the written notice, nothing left booked
after the end date; an expired release identifying nobody.
"""
import os
import random

from ccs_it import Env, check, check_eq, decision_id, finish, log, psql, scalar, wait_until
from ccs_sched_samples import eligibility, envelope, hours, new_id, request

ELIG, REQ, OUT = "ccs.eligibility.decided.v1", "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"
CLOS = "closure\t%s\t2026-11-26\t2026-11-27\tThanksgiving"
DIRECTORY = "\n".join([
    "ccs-mtu-directory\t1",
    "mtu\tT-FRESNO\tFresno\tTest School F\tPT,OT\tMon-Fri 08:00-16:00",
    "district\tT-FRESNO\tFresno Unified",
    "therapist\tT-FRESNO\tF-PT1\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-FRESNO\tF-PT2\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-FRESNO\tF-OT1\tOT\tMon-Fri 08:00-16:00",
    "room\tT-FRESNO\tG1\tPT", "room\tT-FRESNO\tG2\tPT", "room\tT-FRESNO\tO1\tOT", "room\tT-FRESNO\tC1\tCONF",
    CLOS % "T-FRESNO",
    "serves\tT-FRESNO\tMadera",
    "mtu\tT-CLOVIS\tFresno\tTest School C\tPT,OT\tMon-Fri 08:00-16:00",
    "district\tT-CLOVIS\tClovis Unified",
    "therapist\tT-CLOVIS\tC-PT1\tPT\tMon-Fri 08:00-16:00",
    "therapist\tT-CLOVIS\tC-OT1\tOT\tMon-Fri 08:00-16:00",
    "room\tT-CLOVIS\tR1\tPT,OT,CONF",
    "",
])

env = Env("schedw")
rng = random.Random(23)
seen = {}
n_inputs = 0


def step(n):
    global n_inputs
    n_inputs += n
    check(wait_until(lambda: int(scalar(db, "SELECT count(*) FROM inputs")) >= n_inputs, 60),
          "inputs recorded: %d" % n_inputs)
    for m in env.tail(OUT, idle=1, timeout=30):
        seen[m["headers"]["ce_id"]] = m


def by_kind(event_id, kind):
    return seen.get(decision_id(event_id, kind))


def elig(*docs):
    env.submit(ELIG, [envelope(d, d["caseId"]) for d in docs])
    step(len(docs))


def req(*docs):
    env.submit(REQ, [envelope(d, d["caseId"] or d.get("mtuCalendar", {}).get("mtuId")) for d in docs])
    step(len(docs))


def outcome(event_id):
    return scalar(db, "SELECT outcome FROM inputs WHERE event_id = '%s'" % event_id)


def booked(case_id, extra=""):
    return psql(db, "SELECT appointment_id, day, start_min, end_min, therapist_id, kind FROM appointments"
                    " WHERE case_id = '%s' AND status = 'booked' %s ORDER BY day, start_min" % (case_id, extra))


try:
    path = os.path.join(env.logdir, "mtu_directory.tsv")
    with open(path, "w") as f:
        f.write(DIRECTORY)
    db = env.db("scheduling")
    d = env.daemon("scheduling", extra={"CCS_MTU_DIRECTORY": path, "CCS_STREAMS_ENABLED": "true"}).start()
    d.wait_ready()

    # --- the right MTU, the right evaluation ------------------------------------------------------
    c_clovis, c_madera, c_both, c_ot = (new_id(rng) for _ in range(4))
    req(request(c_both, "evaluationRequest", {"disciplines": ["DISCIPLINE_PT", "DISCIPLINE_OT"],
                                              "schoolDistrict": "Fresno Unified"}, rng=rng),
        request(c_ot, "evaluationRequest", {"disciplines": ["DISCIPLINE_OT"]}, rng=rng))
    e1 = eligibility(c_clovis, "Fresno", school_district="Clovis Unified", rng=rng)
    e2 = eligibility(c_madera, "Madera", rng=rng)
    e3 = eligibility(c_both, "Fresno", rng=rng)
    e4 = eligibility(c_ot, "Fresno", rng=rng)
    elig(e1, e2, e3, e4)
    m = by_kind(e1["decisionId"], "evaluation.booked")
    if check(m is not None, "district in the eligibility decision: evaluation booked"):
        check_eq(m["value"]["mtuId"], "T-CLOVIS", "the MTU serving the school district")
    m = by_kind(e2["decisionId"], "evaluation.booked")
    if check(m is not None, "county without an MTU: evaluation booked"):
        check_eq(m["value"]["mtuId"], "T-FRESNO", "the neighbour named by a serves record")
    pt = by_kind(e3["decisionId"], "evaluation.booked.PT")
    ot = by_kind(e3["decisionId"], "evaluation.booked.OT")
    check(pt is not None and ot is not None, "referral asks PT and OT: two evaluations")
    if pt and ot:
        check_eq((pt["value"]["evaluationBooked"]["appointment"]["discipline"],
                  ot["value"]["evaluationBooked"]["appointment"]["discipline"]),
                 ("DISCIPLINE_PT", "DISCIPLINE_OT"), "one evaluation per discipline")
    m = by_kind(e4["decisionId"], "evaluation.booked")
    if check(m is not None, "referral asks OT only"):
        check_eq(m["value"]["evaluationBooked"]["appointment"]["discipline"], "DISCIPLINE_OT", "OT evaluation, not PT")

    # --- refusals ------------------------------------------------------------------------------------
    never, pend = new_id(rng), new_id(rng)
    elig(eligibility(pend, "Fresno", outcome="ELIGIBILITY_OUTCOME_PENDING", rng=rng))
    rx = {"discipline": "DISCIPLINE_PT", "sessionsPerWeek": 2, "weeks": 4, "minutesPerSession": 45,
          "startDate": "2026-11-09", "mtuId": "T-FRESNO"}
    r1 = request(never, "prescription", dict(rx, prescriptionId="RX-N"), rng=rng)
    r2 = request(pend, "prescription", dict(rx, prescriptionId="RX-P"), rng=rng)
    req(r1, r2)
    for r, code in ((r1, "NOT_ELIGIBLE_NEVER_DECIDED"), (r2, "NOT_ELIGIBLE_PENDING")):
        m = by_kind(r["requestId"], "refused")
        if check(m is not None, "prescription refused (%s)" % code):
            check_eq(m["value"]["refused"]["reasonCode"], code, "refusal reason")
        check_eq(scalar(db, "SELECT count(*) FROM appointments WHERE case_id = '%s'" % r["caseId"]), "0",
                 "refused: nothing booked")

    # --- series, first scheduled in school hours, summary under the release's scope -------------------
    kid = new_id(rng)
    elig(eligibility(kid, "Fresno", school_district="Fresno Unified", rng=rng))
    req(request(kid, "release", {"releaseId": "REL-K", "status": "RELEASE_STATUS_ON_FILE",
                                 "effectiveDate": "2026-10-01", "schoolDistrict": "Fresno Unified",
                                 "studentIdAtDistrict": "S-777", "scopes": ["RELEASE_SCOPE_THERAPY_SUMMARY"]},
                rng=rng))
    rxk = request(kid, "prescription", dict(rx, prescriptionId="RX-K", weeks=6), rng=rng)
    req(rxk)
    m = by_kind(rxk["requestId"], "series.booked")
    check(m is not None, "prescription of an eligible child: series booked")
    n = by_kind(rxk["requestId"], "iep.first_scheduled")
    if check(n is not None, "therapy first scheduled in school hours: IEP notice"):
        v = n["value"]["iepNotice"]
        check_eq(v["kind"], "IEP_NOTICE_KIND_THERAPY_SCHEDULED_SCHOOL_HOURS", "notice kind")
        check("does not replace" in v.get("statement", ""), "notice states CCS therapy does not replace district OT/PT")
        check_eq(v.get("student", {}).get("studentIdAtDistrict"), "S-777", "identified under the release")
        lines = v.get("summary", {}).get("lines", [])
        if check(len(lines) == 1, "therapy summary shared (scope THERAPY_SUMMARY)"):
            check_eq((lines[0]["discipline"], lines[0]["sessionsPerWeek"], lines[0]["weeks"],
                      lines[0]["minutesPerSession"]), ("DISCIPLINE_PT", 2, 6, 45), "summary: discipline, frequency, duration")
            check(len(lines[0].get("schedule", [])) >= 1 and lines[0]["schedule"][0].get("inSchoolDay"),
                  "summary: schedule in the school day")

    # --- a new closure moves the sessions on it ---------------------------------------------------------
    day = booked(kid, "AND kind = 'therapy'")[0][1]
    cal = request("", "mtuCalendar", {
        "mtuId": "T-FRESNO",
        "therapists": [{"therapistId": t, "discipline": dsc, "hours": hours(480, 960)}
                       for t, dsc in (("F-PT1", "DISCIPLINE_PT"), ("F-PT2", "DISCIPLINE_PT"), ("F-OT1", "DISCIPLINE_OT"))],
        "rooms": [{"roomId": r} for r in ("G1", "G2", "O1", "C1")],
        "closures": [{"date": day, "reason": "staff development day"},
                     {"date": "2026-11-26", "reason": "Thanksgiving"}, {"date": "2026-11-27", "reason": "Thanksgiving"}]},
        rng=rng)
    req(cal)
    check_eq(scalar(db, "SELECT count(*) FROM appointments WHERE mtu_id = 'T-FRESNO' AND status = 'booked'"
                        " AND day = '%s'" % day), "0", "nobody left on the new closure day")
    moved = [m for m in seen.values() if m["headers"].get("ce_id") in
             {decision_id(cal["requestId"], "moved.%s" % a) for a in
              [r[0] for r in psql(db, "SELECT appointment_id FROM appointments WHERE cancel_reason = 'CLOSURE'")]}]
    check(len(moved) >= 1, "a Cancelled decision per moved session (%d)" % len(moved))
    for m in moved:
        c = m["value"]["cancelled"]
        check_eq(c["reasonCode"], "CLOSURE", "moved because of the closure")
        if "rebookedAppointment" in c:
            check(c["rebookedAppointment"]["date"] != day, "rebooked off the closed day")

    # --- new IEP blocks over booked sessions: moved after the written notice ----------------------------
    s0 = booked(kid, "AND kind = 'therapy' AND day >= '2026-11-09'")
    wd = int(psql(db, "SELECT extract(isodow FROM date '%s')" % s0[0][1])[0][0])
    iep = request(kid, "iepSchedule", {"schoolId": "SCH-K", "effectiveDate": "2026-11-02",
                                       "blocks": [{"weekday": wd, "startMinute": int(s0[0][2]) - 15,
                                                   "endMinute": int(s0[0][3]) + 15, "service": "speech"}]},
                  received_at="2026-11-03T18:00:00Z", rng=rng)
    req(iep)
    n = by_kind(iep["requestId"], "iep.schedule_change")
    if check(n is not None, "IEP collision: notice"):
        v = n["value"]["iepNotice"]
        check_eq(v.get("reasonCode"), "IEP_BLOCK", "reason: IEP block")
        check(len(v.get("moved", [])) >= 1, "the notice says what moved (%d)" % len(v.get("moved", [])))
        for mv in v.get("moved", []):
            if "rebooked" in mv:
                check(mv["rebooked"]["date"] >= "2026-11-08", "moved no sooner than notice + 5 days")
    over = [r for r in booked(kid, "AND day > '2026-11-03'") if int(psql(db, "SELECT extract(isodow FROM date '%s')" % r[1])[0][0]) == wd
            and int(r[2]) < int(s0[0][3]) + 15 and int(r[3]) > int(s0[0][2]) - 15]
    check_eq(over, [], "nobody booked over the IEP block")

    # --- cancellation rebooks the same child ---------------------------------------------------------------
    a = booked(c_clovis)[0]
    cx = request(c_clovis, "cancellation", {"appointmentId": a[0], "reason": "CANCELLATION_REASON_FAMILY",
                                            "rebook": True}, rng=rng)
    req(cx)
    m = by_kind(cx["requestId"], "cancelled")
    if check(m is not None and "rebookedAppointment" in m["value"]["cancelled"], "cancellation rebooked the child"):
        check(m["value"]["cancelled"]["rebookedAppointment"]["date"] > a[1], "rebooked after the cancelled day")

    # --- conferences --------------------------------------------------------------------------------------
    cf = request(kid, "conferenceRequest", {"conferenceId": "MTC-K", "physicianId": "DOC-9",
                                            "earliestDate": "2026-11-16", "latestDate": "2026-12-18",
                                            "optionalParticipants": [{"role": "PARTICIPANT_ROLE_OTHER",
                                                                      "participantId": "ORTHO-1"}]}, rng=rng)
    cu = request(kid, "conferenceRequest", {"conferenceId": "MTC-X", "physicianId": "DOC-9",
                                            "earliestDate": "2026-11-21", "latestDate": "2026-11-22"}, rng=rng)
    req(cf)
    req(cu)
    m = by_kind(cf["requestId"], "conference.scheduled")
    if check(m is not None, "conference scheduled"):
        roles = sorted(p["role"] for p in m["value"]["conferenceScheduled"]["participants"])
        check_eq(roles, ["PARTICIPANT_ROLE_CHILD_AND_FAMILY", "PARTICIPANT_ROLE_MTC_PHYSICIAN", "PARTICIPANT_ROLE_OTHER",
                         "PARTICIPANT_ROLE_PHYSICAL_THERAPIST"], "PT-only child: no OT; optional participant invited")
    m = by_kind(cu["requestId"], "conference.unscheduled")
    if check(m is not None, "no feasible slot (a weekend window): ConferenceUnscheduled, not Waitlisted"):
        check(m["value"]["conferenceUnscheduled"]["reasonCode"].startswith("NO_CONFERENCE_SLOT_"), "reason")
    co = request(kid, "conferenceOutcome", {"conferenceId": "MTC-K", "equipment": [{"itemCode": "E1161",
                                                                                   "description": "wheelchair"}],
                                            "planChanges": [dict(rx, prescriptionId="RX-K2", sessionsPerWeek=1,
                                                                 minutesPerSession=30, startDate="2026-11-03")],
                                            "nextConferenceMonths": 6},
                 rng=rng)
    req(co)
    m = by_kind(co["requestId"], "plan.0.series.booked")
    if check(m is not None, "conference plan change feeds the series"):
        first = min(a["date"] for a in m["value"]["seriesBooked"]["appointments"])
        check(first >= "2026-11-07", "plan change no sooner than notice + 5 days (first %s)" % first)
    n = by_kind(co["requestId"], "plan.0.iep.services_reduced")
    if check(n is not None, "fewer minutes a week: services-reduced notice"):
        check(n["value"]["iepNotice"].get("effectiveDate", "") >= "2026-11-07", "reduction effective after notice")
    check_eq(scalar(db, "SELECT conference_months FROM children WHERE case_id = '%s'" % kid), "6",
             "the plan's conference interval: every 6 months")
    m = by_kind(co["requestId"], "equipment.recommended")
    if check(m is not None, "equipment recommendation published"):
        check_eq(m["value"]["equipmentRecommended"]["serviceLine"], "SERVICE_LINE_MTP_EQUIPMENT",
                 "evidence for the MTP equipment line")
    check(scalar(db, "SELECT count(*) FROM due_work WHERE kind = 'conference.due' AND subject = '%s'" % kid) == "1",
          "conference-due timer armed")

    # --- IEP meeting: MTP staff named ---------------------------------------------------------------------
    im = request(kid, "iepMeeting", {"meetingId": "IEP-1", "meetingDate": "2026-11-20", "startMinute": 900,
                                     "schoolDistrict": "Fresno Unified"}, rng=rng)
    req(im)
    m = by_kind(im["requestId"], "iep.attendance")
    if check(m is not None, "IEP meeting: attendance notice"):
        v = m["value"]["iepNotice"]
        check(len(v.get("assignedStaffIds", [])) >= 1 and v["assignedStaffIds"][0].startswith("F-PT"),
              "the child's PT assigned: %s" % v.get("assignedStaffIds"))
        check_eq(v.get("meetingDate"), "2026-11-20", "meeting date")

    # --- denial: services end after the written notice, slots re-offered -----------------------------------
    deny = eligibility(kid, "Fresno", outcome="ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", as_of="2026-11-10",
                       decided_at="2026-11-10T17:00:00Z", rng=rng)
    elig(deny)
    m = by_kind(deny["decisionId"], "services_ended")
    if check(m is not None, "denial: ServicesEnded"):
        v = m["value"]["servicesEnded"]
        check_eq(v["effectiveDate"], "2026-11-15", "end of services after 5 days' written notice")
        check_eq(v["reasonCode"], "NOT_ELIGIBLE", "reason")
    n = by_kind(deny["decisionId"], "iep.services_ended")
    if check(n is not None, "denial: IEP notice"):
        check_eq(n["value"]["iepNotice"]["kind"], "IEP_NOTICE_KIND_SERVICES_ENDED", "services ended notice")
    check_eq(booked(kid, "AND day >= '2026-11-15'"), [], "nothing booked from the end date on")
    check_eq(booked(kid, "AND kind = 'evaluation' AND day > '2026-11-10'"), [], "no future evaluation")
    check_eq(scalar(db, "SELECT count(*) FROM due_work WHERE kind = 'conference.due' AND subject = '%s'" % kid), "0",
             "conference-due timer removed")

    # --- age-out ------------------------------------------------------------------------------------------
    old = new_id(rng)
    elig(eligibility(old, "Fresno", age_out="2026-11-20", rng=rng))
    aged = eligibility(old, "Fresno", outcome="ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", reasons=("NOT_ELIGIBLE_AGE",),
                       age_out="2026-11-20", as_of="2026-11-04", decided_at="2026-11-04T17:00:00Z", rng=rng)
    elig(aged)
    check_eq(booked(old, "AND day > '2026-11-04'"), [], "aged out: no future evaluation")
    check(outcome(aged["decisionId"]).endswith("AGED_OUT"), "aged out recorded: %s" % outcome(aged["decisionId"]))

    # --- an expired release identifies nobody -------------------------------------------------------------
    req(request(c_ot, "release", {"releaseId": "REL-O", "status": "RELEASE_STATUS_ON_FILE",
                                  "effectiveDate": "2025-09-01", "expiryDate": "2026-08-31",
                                  "schoolDistrict": "Fresno Unified", "studentIdAtDistrict": "S-888"}, rng=rng))
    a = booked(c_ot)[0]
    wd = int(psql(db, "SELECT extract(isodow FROM date '%s')" % a[1])[0][0])
    ie2 = request(c_ot, "iepSchedule", {"schoolId": "SCH-O", "effectiveDate": "2026-11-02",
                                        "blocks": [{"weekday": wd, "startMinute": 480, "endMinute": 960}]}, rng=rng)
    req(ie2)
    n = by_kind(ie2["requestId"], "iep.schedule_change")
    if check(n is not None, "notice for the child with an expired release"):
        v = n["value"]["iepNotice"]
        check(not v.get("releaseOnFile") and "student" not in v, "expired release: no identification")

    # --- a release with the summary scope sends the therapy summary; age-out cuts a series ----------------
    dk, old2 = new_id(rng), new_id(rng)
    elig(eligibility(dk, "Fresno", school_district="Clovis Unified", rng=rng),
         eligibility(old2, "Fresno", age_out="2026-11-30", rng=rng))
    rxd = request(dk, "prescription", dict(rx, prescriptionId="RX-D", sessionsPerWeek=1, startDate="2026-11-16",
                                           mtuId=""),
                  rng=rng)
    rxo = request(old2, "prescription", dict(rx, prescriptionId="RX-O", weeks=6), rng=rng)
    req(rxd, rxo)
    check(by_kind(rxd["requestId"], "series.booked") is not None, "series booked")
    check_eq(booked(old2, "AND day >= '2026-11-30'"), [], "no session on or after the 21st birthday")
    check_eq(scalar(db, "SELECT weeks FROM prescriptions WHERE prescription_id = 'RX-O'"), "3",
             "series cut to the weeks before age-out")
    rel = request(dk, "release", {"releaseId": "REL-D", "status": "RELEASE_STATUS_ON_FILE",
                                  "schoolDistrict": "Fresno Unified", "studentIdAtDistrict": "S-999",
                                  "scopes": ["RELEASE_SCOPE_THERAPY_SUMMARY"]}, rng=rng)
    req(rel)
    n = by_kind(rel["requestId"], "iep.summary")
    if check(n is not None, "release with the summary scope: therapy summary notice"):
        v = n["value"]["iepNotice"]
        check_eq(v["kind"], "IEP_NOTICE_KIND_THERAPY_SUMMARY", "summary notice kind")
        check_eq(len(v.get("summary", {}).get("lines", [])), 1, "one therapy line")
    cfd = request(dk, "conferenceRequest", {"conferenceId": "MTC-D", "physicianId": "DOC-5",
                                            "earliestDate": "2026-11-17", "latestDate": "2026-12-18"}, rng=rng)
    req(cfd)
    check(by_kind(cfd["requestId"], "conference.scheduled") is not None, "conference scheduled (physician known)")

    # --- the directory file changes: a new closure moves the sessions on it (recheck at start; T-CLOVIS's
    # calendar still comes from the file) -------------------------------------------------------------
    dday = booked(dk, "AND kind = 'therapy' AND day > '2026-11-06'")[0][1]
    d.stop()
    with open(path, "w") as f:
        f.write(DIRECTORY + "closure\tT-CLOVIS\t%s\t%s\tstorm\n" % (dday, dday))
    d = env.daemon("scheduling", extra={"CCS_MTU_DIRECTORY": path, "CCS_CLOCK_TODAY": "2026-11-05"}).start()
    d.wait_ready()
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM appointments WHERE mtu_id = 'T-CLOVIS'"
                                        " AND status = 'booked' AND day = '%s'" % dday) == "0", 60),
          "directory closure: nobody left on %s" % dday)
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM inputs WHERE request_kind = 'calendar_recheck'") != "0",
                     30), "the recheck recorded what it moved")

    # --- the conference-due timer proposes the next conference ahead of time ---------------------------
    # (a restart with the same directory file rewrites none of its rows)
    rows_before = scalar(db, "SELECT string_agg(xmin::text, ',' ORDER BY mtu_id, therapist_id) FROM therapists")
    d.stop()
    d = env.daemon("scheduling", extra={"CCS_MTU_DIRECTORY": path, "CCS_CLOCK_TODAY": "2027-12-31"}).start()
    d.wait_ready()
    check_eq(scalar(db, "SELECT string_agg(xmin::text, ',' ORDER BY mtu_id, therapist_id) FROM therapists"),
             rows_before, "same directory file at restart: its rows are not written again")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM inputs WHERE request_kind = 'conference_due'"
                                        " AND case_id = '%s'" % dk) != "0", 60), "conference-due timer fired")
    out = scalar(db, "SELECT outcome FROM inputs WHERE request_kind = 'conference_due' AND case_id = '%s'" % dk)
    check(out in ("conference_proposed", "conference_unscheduled"), "timer proposed a conference: %s" % out)
    props = [m for m in env.tail(OUT, idle=2, timeout=30) if m["key"] == dk and
             m["value"].get("conferenceScheduled", {}).get("proposed")]
    if check(len(props) == 1, "ConferenceScheduled proposed by the timer"):
        v = props[0]["value"]["conferenceScheduled"]
        check(v["date"] <= v["dueDate"], "proposed before it is due (%s <= %s)" % (v["date"], v["dueDate"]))
        check_eq(sorted(p["role"] for p in v["participants"]),
                 ["PARTICIPANT_ROLE_CHILD_AND_FAMILY", "PARTICIPANT_ROLE_MTC_PHYSICIAN", "PARTICIPANT_ROLE_PHYSICAL_THERAPIST"],
                 "PT-only child: family, PT and the physician of the last conference")

    stored = {r[0] for r in psql(db, "SELECT unnest(decision_ids)::text FROM inputs")}
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained")
    # IEP coordination reaches only the county it concerns: each IEP notice is also on its
    # county's stream, and that stream holds nothing else.
    notices = [m for m in env.tail(OUT, idle=2, timeout=30) if "iepNotice" in m["value"]]
    counties = dict(psql(db, "SELECT case_id::text, county FROM children"))
    fresno = {m["headers"]["ce_id"] for m in notices if counties.get(m["key"]) == "Fresno"}
    got = env.tail(OUT + ".county.fresno", idle=2, expect=len(fresno), timeout=30)
    check(len(fresno) > 0 and {m["headers"]["ce_id"] for m in got} == fresno,
          "Fresno's county stream holds exactly its children's IEP notices (%d)" % len(fresno))
    check(all("iepNotice" in m["value"] for m in got), "and nothing but IEP notices")
    wire = {m["headers"]["ce_id"] for m in env.tail(OUT, idle=2, expect=len(stored), timeout=60)}
    check(wire == stored, "decision ids on the wire (%d) equal those recorded per input (%d)" % (len(wire), len(stored)))
finally:
    env.cleanup()
finish()
