"""referrald end to end on real PostgreSQL and Kafka.

Valid, invalid, malformed, duplicate and twice-referred children produce exactly the expected
decisions and dead letters; the database holds exactly one effect per input; stored offsets
reach the end of the input topic; the outbox drains; decisions are deterministic.
A bad county table refuses start naming its line. Then, in order: a school's referral without CIN, a physician's with a CIN and new diagnoses
(linked by name + birth date + county, the CIN recorded on the case, the new diagnoses,
services and the school district in the linked decision), a referral found by that CIN alone,
and a namesake with another CIN (a different child). Accepted decisions carry the school
district and the application clock counted from the referral date (+5, +20).
"""
import datetime
import os
import random

from ccs_it import (SRC, Env, check, check_eq, decision_id, end_offsets, finish, psql, scalar, wait_until)
from ccs_samples import envelope, referral, same_child

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"

env = Env("ref")
try:
    rng = random.Random(7)
    db = env.db("referral")
    # A bad county table refuses start, naming the file, the line and the reason.
    bad = os.path.join(env.logdir, "counties.tsv")
    with open(bad, "w") as f:
        f.write("ccs-counties\t1\nAlpine\t02\tDEPENDENT\tCOUNTY\t1204\tSOURCED\tx\n")
    b = env.daemon("referral", instance="bad", extra={"CCS_DATA_COUNTIES": bad}).start()
    check(b.proc.wait(timeout=60) != 0, "a bad county table refuses start")
    badlog = open(os.path.join(env.logdir, "referral-bad.log")).read()
    check("counties.tsv:2: a DEPENDENT county is reviewed by a regional office" in badlog,
          "the refusal names the line and the reason: %s" % badlog[-300:])
    d = env.daemon("referral").start()
    d.wait_ready()

    valid = [envelope(referral(rng)) for _ in range(20)]
    # The same child referred again by a physician: same Medi-Cal CIN, other referral id.
    first = valid[0]["data"]
    again_cin = envelope(referral(rng, mediCalCin=first["child"]["mediCalCin"],
                                  source="REFERRAL_SOURCE_PHYSICIAN"))
    # And by the school: no CIN, name written differently, same birth date and county.
    c1 = valid[1]["data"]["child"]
    again_name = envelope(referral(rng, firstName=c1["firstName"].upper(), lastName=" " + c1["lastName"].lower() + " ",
                                   birthDate=c1["birthDate"], countyOfResidence=c1["countyOfResidence"].upper(),
                                   mediCalCin=""))
    invalid_future = envelope(referral(rng, birthDate="2027-01-01"))
    invalid_many = envelope(referral(rng, countyOfResidence="Atlantis", source="REFERRAL_SOURCE_UNSPECIFIED",
                                     diagnoses=[{"icd10Code": "XYZ"}]))
    too_old = envelope(referral(rng, birthDate="2005-11-02"))  # 21 on the referral date
    resubmitted = envelope(valid[2]["data"])  # same referral id, new event id
    env.submit(IN, valid + [again_cin, again_name, invalid_future, invalid_many, too_old, resubmitted])
    # Duplicate delivery of one event (same ce_id at another offset).
    env.submit(IN, [valid[3]])
    # Poison: undecodable bytes, a missing ce_id, a wrong ce_type.
    env.produce_raw(IN, [
        ("k1", {"ce_id": "11111111-1111-4111-8111-111111111111", "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
         b"\xff\xff\xff\x0fnot protobuf"),
        ("k2", {"ce_type": "ccs.mtp.v1.ReferralSubmitted"}, b""),
        ("k3", {"ce_id": "22222222-2222-4222-8222-222222222222", "ce_type": "ccs.mtp.v1.Other"}, b""),
        # A well-formed protobuf whose child's name is not UTF-8 (protobuf-c does not check).
        ("k4", {"ce_id": "33333333-3333-4333-8333-333333333333", "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
         open(os.path.join(SRC, "tests/fuzz/referral/corpus/invalid_utf8_name.bin"), "rb").read()),
    ])
    total_inputs = len(valid) + 6 + 1 + 4

    ends = wait_until(lambda: (lambda e: e if sum(e.values()) == total_inputs else None)(end_offsets(env, IN)), 30)
    check_eq(sum(ends.values()), total_inputs, "input topic holds every record")

    def caught_up():
        rows = psql(db, "SELECT partition, next_offset FROM consumer_offsets")
        got = {int(p): int(o) for p, o in rows}
        return all(got.get(p, -1) == o for p, o in ends.items())
    check(wait_until(caught_up, 60), "stored offsets reach the end of every partition")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained")

    decisions = env.tail(OUT, expect=len(valid) + 5)
    by_ref = {}
    for m in decisions:
        by_ref.setdefault(m["value"]["referralId"], []).append(m)
    check_eq(len(decisions), len(valid) + 5, "one decision per distinct referral (dup event and resubmission add none)")

    def outcome(m):
        v = m["value"]
        return "accepted" if "accepted" in v else "rejected" if "rejected" in v else "linked" if "linked" in v else "?"

    for e in valid + [again_cin, again_name]:
        ms = by_ref.get(e["data"]["referralId"], [])
        if check_eq(len(ms), 1, "one decision for valid referral"):
            m = ms[0]
            check(outcome(m) in ("accepted", "linked"), "valid referral accepted or linked")
            check_eq(m["headers"].get("ce_id"), decision_id(e["id"], "referral." + outcome(m)), "decision ce_id is UUIDv5(event id, kind)")
            check_eq(m["value"]["decisionId"], m["headers"].get("ce_id"), "decision id in payload equals ce_id")
            check_eq(m["key"], m["value"].get("caseId"), "decision keyed by case id")
            check_eq(m["headers"].get("ccs_causation_id"), e["id"], "causation id is the input event")
            check_eq(m["value"]["decidedAt"], e["data"]["submittedAt"], "decided_at copies submitted_at")
    # Referrals are keyed by referral id, so the two referrals of one child may sit on different
    # partitions: whichever is decided first opens the case, the other is linked to it.
    def pair(a, b, rule, what):
        va, vb = by_ref[a["data"]["referralId"]][0]["value"], by_ref[b["data"]["referralId"]][0]["value"]
        outcomes = sorted([outcome({"value": va}), outcome({"value": vb})])
        check_eq(outcomes, ["accepted", "linked"], what + ": one accepted, one linked")
        acc, lnk = (va, vb) if "accepted" in va else (vb, va)
        check_eq(lnk.get("linked", {}).get("existingCaseId"), acc.get("caseId"), what + ": linked to the open case")
        check_eq(lnk.get("linked", {}).get("matchRule"), rule, what + ": match rule")
    pair(valid[0], again_cin, "MATCH_RULE_MEDI_CAL_CIN", "same Medi-Cal CIN")
    pair(valid[1], again_name, "MATCH_RULE_NAME_DOB_COUNTY", "same normalised name, birth date and county")

    def codes(e):
        ms = by_ref.get(e["data"]["referralId"], [])
        return sorted(r["code"] for r in ms[0]["value"].get("rejected", {}).get("reasons", [])) if ms else None
    check("BIRTH_DATE_IN_FUTURE" in (codes(invalid_future) or []), "future birth date rejected: %s" % codes(invalid_future))
    many = codes(invalid_many) or []
    check(len(many) >= 3, "every problem listed, not just the first: %s" % many)
    check(any("COUNTY" in c for c in many), "unknown county named among reasons")
    check(len(codes(too_old) or []) >= 1, "child 21 at referral rejected: %s" % codes(too_old))

    # Routing: a dependent county goes to its regional office.
    for e in valid:
        v = by_ref[e["data"]["referralId"]][0]["value"]
        if v["county"] == "Imperial":
            check_eq(v.get("reviewingOffice"), "REVIEWING_OFFICE_SOUTHERN_CALIFORNIA", "Imperial routed to Southern California")
        if v["county"] == "Los Angeles":
            check_eq(v.get("reviewingOffice"), "REVIEWING_OFFICE_COUNTY", "Los Angeles reviews itself")

    # Dead letters: exactly the four poison records, with their context.
    dlq = env.tail(IN + ".dlq", expect=4)
    check_eq(len(dlq), 4, "four dead letters")
    classes = sorted(m["headers"].get("dlq_error_class") for m in dlq)
    check_eq(classes, ["decode", "envelope", "envelope", "validation"], "dead-letter error classes")
    utf8 = [m for m in dlq if m["headers"].get("dlq_error_class") == "validation"]
    check(bool(utf8) and "UTF-8" in utf8[0]["headers"].get("dlq_error_message", ""),
          "a non-UTF-8 string is dead-lettered naming the field: %s" % (utf8[0]["headers"] if utf8 else None))
    for m in dlq:
        h = m["headers"]
        check(h.get("dlq_original_topic") == env.topic(IN) and h.get("dlq_original_offset") is not None
              and h.get("dlq_consumer_group") and h.get("dlq_error_message"), "dead letter names its origin and reason")

    # The database: one effect per input, nothing duplicated.
    check_eq(scalar(db, "SELECT count(*) FROM referrals"), str(len(valid) + 5), "one referrals row per distinct referral")
    check_eq(scalar(db, "SELECT count(*) FROM cases"), str(len(valid)), "one case per child")
    check_eq(scalar(db, "SELECT count(*) FROM referrals WHERE outcome = 'linked'"), "2", "two linked referrals")
    # A redelivered event adds no row. Every event with a well-formed envelope is in the inbox
    # once, the poison ones too (k1 undecodable, k4 not UTF-8): a redelivery of a poison event is
    # skipped, so it is dead-lettered exactly once.
    check_eq(scalar(db, "SELECT count(*) FROM inbox"), str(len(valid) + 6 + 2),
             "inbox holds each event with a valid envelope once")
    check(d.metric("messages_total", 'result="duplicate"') == 1.0, "duplicate delivery counted")
    check(d.metric("dead_letters_total", 'error_class="decode"') == 1.0, "dead letters counted by class")

    # Accepted decisions: the school district as referred; the application clock counted from
    # the referral date (22 CCR 41514: send within 5 days, signed application back within 20).
    for e in valid:
        v = by_ref[e["data"]["referralId"]][0]["value"]
        if "accepted" not in v:
            continue
        acc = v["accepted"]
        ref = datetime.date.fromisoformat(acc["referralDate"])
        check_eq(acc.get("schoolDistrict"), e["data"]["child"]["schoolDistrict"], "accepted carries the school district")
        check_eq(acc.get("applicationSendDue"), (ref + datetime.timedelta(days=5)).isoformat(), "send due = referral + 5")
        check_eq(acc.get("applicationReturnDue"), (ref + datetime.timedelta(days=20)).isoformat(),
                 "return due = referral + 20, the same date eligibility counts")

    # One child, referred in order by the school (no CIN), a physician (CIN, another diagnosis
    # and service), then by CIN alone under another spelling; and a namesake with another CIN.
    def decide(doc):
        env.submit(IN, [envelope(doc)])
        rid = doc["referralId"]

        def found():
            ms = [m for m in env.tail(OUT, idle=1) if m["value"].get("referralId") == rid]
            return ms[0]["value"] if ms else None
        v = wait_until(found, 60, interval=0.5)
        check(v is not None, "referral decided and published")
        return v or {}
    school = referral(rng, source="REFERRAL_SOURCE_SCHOOL_NURSE", mediCalCin="", schoolDistrict=" Clovis Unified ",
                      countyOfResidence="Fresno", diagnoses=[{"icd10Code": "G80.1"}],
                      requestedServices=["SERVICE_LINE_MTP_THERAPY"])
    physician = same_child(rng, school, source="REFERRAL_SOURCE_PHYSICIAN", mediCalCin="9123 4567-q", schoolDistrict="",
                           countyOfResidence="Fresno County", coverage="COVERAGE_MEDI_CAL_FULL_SCOPE",
                           diagnoses=[{"icd10Code": "g801"}, {"icd10Code": "M62.40"}],
                           requestedServices=["SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"])
    physician["child"]["lastName"] = physician["child"]["lastName"].upper()
    by_cin = referral(rng, mediCalCin="91234567Q", firstName="Nickname", countyOfResidence="Fresno",
                      schoolDistrict="Fresno Unified")
    namesake = same_child(rng, school, mediCalCin="98765432B", schoolDistrict="")
    v_school = decide(school)
    check("accepted" in v_school, "school referral without CIN opens a case")
    check_eq(v_school.get("accepted", {}).get("schoolDistrict"), "Clovis Unified", "school district trimmed")
    case = v_school.get("caseId")
    v_phys = decide(physician)
    lnk = v_phys.get("linked", {})
    check_eq(lnk.get("existingCaseId"), case, "physician's referral with a CIN linked to the school's case")
    check_eq(lnk.get("matchRule"), "MATCH_RULE_NAME_DOB_COUNTY", "linked by name, birth date and county")
    check_eq(lnk.get("diagnosisCodes"), ["G80.1", "M62.40"], "linked carries the referral's diagnoses, normalised")
    check_eq(lnk.get("requestedServices"), ["SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"],
             "linked carries the requested services")
    check_eq(lnk.get("requestedProgram"), "REQUESTED_PROGRAM_MTP", "linked carries the requested program")
    check_eq(lnk.get("coverage"), "COVERAGE_MEDI_CAL_FULL_SCOPE", "linked carries the stated coverage")
    check_eq(lnk.get("schoolDistrict"), "Clovis Unified", "linked carries the case's school district")
    check_eq(scalar(db, "SELECT medi_cal_cin FROM cases WHERE case_id = '%s'" % case), "91234567Q",
             "the CIN is recorded on the case that had none")
    v_cin = decide(by_cin)
    check_eq(v_cin.get("linked", {}).get("existingCaseId"), case, "a later referral finds the case by the recorded CIN")
    check_eq(v_cin.get("linked", {}).get("matchRule"), "MATCH_RULE_MEDI_CAL_CIN", "matched by CIN")
    check_eq(v_cin.get("linked", {}).get("schoolDistrict"), "Fresno Unified", "a newly named school district wins")
    check_eq(scalar(db, "SELECT school_district FROM cases WHERE case_id = '%s'" % case), "Fresno Unified",
             "the case keeps the latest school district")
    v_other = decide(namesake)
    check("accepted" in v_other and v_other.get("caseId") != case, "same name with another CIN is another child")
    check_eq(scalar(db, "SELECT count(*) FROM cases"), str(len(valid) + 2), "two more cases, not four")

    _, metrics = d.get("/metrics")
    check("Garcia" not in metrics and "birth" not in metrics.lower(), "no personal data in metrics")

    # Graceful drain: SIGTERM exits 0 promptly.
    check_eq(d.stop(), 0, "SIGTERM drains and exits 0")
    logtext = open(d.env.logdir + "/referral-a.log").read()
    for e in valid[:5]:
        check(e["data"]["child"]["lastName"] not in logtext or e["data"]["child"]["lastName"] in ("Lee",),
              "child's name not in logs")
        check(e["data"]["child"]["birthDate"] not in logtext, "birth date not in logs")
finally:
    env.cleanup()
finish()
