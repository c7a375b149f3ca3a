"""eligibilityd end to end on real PostgreSQL and Kafka.

Accepted referral decisions open cases and get an eligibility decision; evidence (in order, out of
order, twice, before its case) gives one decision per new evidence event with the facts folded
from the log; CP with findings, a code alone, an at-risk infant, financial lines, an appeal filed
and decided; rejected referrals are recorded without a decision (a linked one only when it adds a line); garbage is dead-lettered.
Then the what-if command, and timers: restart with CCS_CLOCK_TODAY past the due dates and check
the TIMER decisions and their deterministic ids.

Issue 9 (decisions a CCS office would sign): the rules never deny on medical grounds (J waits for
the physician, whose determination denies; B's code alone is approved by the physician), the
determination names who decided on which evidence; the Notice of Action lifecycle (J: reasons in
English and Spanish, mailed, a late appeal routed for good-cause review without a response
clock; O: an appeal overturned restores equipment, no fair-hearing window); a California date
at 23:30 PST; a residency in another county is a transfer naming it (T); CCS treatment judged by
its own conditions (X: cystic fibrosis); a linked referral adds a service line (H).
"""
import json
import os
import random
import subprocess

from ccs_it import (BUILD, SERVICES, Env, check, check_eq, decision_id, end_offsets, finish, log, psql, scalar,
                    wait_until)
from ccs_elig_samples import (DECIDED, EVIDENCE, REFERRALS, accepted, appeal_decided, appeal_filed, application,
                              complete_file, evidence, financial, linked, medical, mtu, new_id, notice_mailed,
                              physician, rejected, residency)
from ccs_samples import envelope, referral

CP = medical(["G80.1"], cp=["rigidityOrSpasticity"])
TODAY1 = "2026-11-01"  # before every due date: no timer fires in phase 1
TODAY2 = "2029-01-01"  # after most due dates

env = Env("elig")
try:
    rng = random.Random(11)
    db = env.db("eligibility")
    d = env.daemon("eligibility", extra={"CCS_CLOCK_TODAY": TODAY1, "CCS_STREAMS_ENABLED": "true"}).start()
    d.wait_ready()

    # ---- cases -------------------------------------------------------------------------------
    A_ref, A = accepted(rng, "2020-05-10")                       # CP with findings
    B_ref, B = accepted(rng, "2019-03-03")                       # code alone
    C_ref, C = accepted(rng, "2025-09-01", codes=())             # at-risk infant (two findings)
    J_ref, J = accepted(rng, "2025-10-01", county="Imperial", codes=())  # one finding only
    D_ref, D = accepted(rng, "2018-01-20", lines=("SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT",
                                                  "SERVICE_LINE_CCS_TREATMENT"))
    E_ref, E = accepted(rng, "2017-06-30", lines=("SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"))
    F_ref, F = accepted(rng, "2020-05-10")                       # A again, evidence out of order
    H_ref, H = accepted(rng, "2006-01-15")                       # ages out 2027-01-15
    I_ref, I = accepted(rng, "2016-02-02", lines=("SERVICE_LINE_CCS_TREATMENT",),
                        program="REQUESTED_PROGRAM_CCS_TREATMENT")  # AGI exactly $40,000
    G_ref, G = accepted(rng, "2015-08-08")                       # evidence before the case
    K_ref, K = accepted(rng, "2014-04-04")                       # MTU: not medically necessary
    L_ref, L = accepted(rng, "2013-03-13")                       # MTU: therapy plan change
    O_ref, O = accepted(rng, "2017-06-30", lines=("SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"))
    T_ref, T = accepted(rng, "2016-05-05")                       # lives in another county: transfer
    X_ref, X = accepted(rng, "2015-01-01", codes=("E84.0",), lines=("SERVICE_LINE_CCS_TREATMENT",),
                        program="REQUESTED_PROGRAM_CCS_TREATMENT")  # cystic fibrosis, CCS treatment
    refs = [A_ref, B_ref, C_ref, J_ref, D_ref, E_ref, F_ref, H_ref, I_ref, K_ref, L_ref, O_ref, T_ref, X_ref]

    ev = {}
    # A's residency named as the county table may spell it: still the same county
    ev[A] = complete_file(rng, A, CP)
    ev[A][1] = evidence(rng, A, residency("Los Angeles County"), "2026-11-06T10:00:00Z")
    # B: a code alone waits for the physician; the physician approves (22:30 PST on 11-08 is 11-08)
    ev[B] = complete_file(rng, B, medical(["G80.1"])) + [
        evidence(rng, B, physician("ELIGIBLE", "CONDITION_GROUP_CEREBRAL_PALSY",
                                   ["MEDICAL_FINDING_CP_RIGIDITY_OR_SPASTICITY"], "MEETS_A1", "md-77"),
                 "2026-11-09T06:30:00Z")]
    ev[C] = complete_file(rng, C, medical([], at_risk=["persistentPrimitiveReflexes", "dtr3Plus"]))
    # J: one at-risk finding: the rules recommend, the physician denies at 23:30 PST on 11-08
    # (07:30Z on 11-09): the notice is dated from the California date
    ev[J] = complete_file(rng, J, medical([], at_risk=["abnormalPosturing"]), county="Imperial") + [
        evidence(rng, J, physician("NOT_ELIGIBLE", "CONDITION_GROUP_AT_RISK", ["MEDICAL_FINDING_AT_RISK_ABNORMAL_POSTURING"],
                                   "AR_ONE_FINDING", "md-77"), "2026-11-09T07:30:00Z"),
        evidence(rng, J, notice_mailed("2026-11-10"), "2026-11-10T17:00:00Z")]
    ev[O] = complete_file(rng, O, CP) + [evidence(rng, O, financial(9000000, oop_cents=100000), "2026-11-08T10:00:00Z")]
    ev[T] = complete_file(rng, T, CP)
    ev[T][1] = evidence(rng, T, residency("San Diego County"), "2026-11-06T10:00:00Z")
    ev[X] = complete_file(rng, X, medical(["E84.0"])) + [evidence(rng, X, financial(3000000), "2026-11-08T10:00:00Z")]
    ev[D] = complete_file(rng, D, CP) + [evidence(rng, D, financial(3500000), "2026-11-08T10:00:00Z")]
    ev[E] = complete_file(rng, E, CP) + [evidence(rng, E, financial(9000000, oop_cents=100000),
                                                  "2026-11-08T10:00:00Z")]
    ev[H] = complete_file(rng, H, CP)
    ev[I] = complete_file(rng, I, CP) + [evidence(rng, I, financial(4000000), "2026-11-08T10:00:00Z")]
    ev[G] = complete_file(rng, G, CP)
    ev[K] = complete_file(rng, K, CP) + [evidence(rng, K, mtu(False), "2026-12-01T10:00:00Z")]
    # K2 would be an unstated necessity: no effect (tested in the fold unit tests)
    ev[L] = complete_file(rng, L, CP) + [evidence(rng, L, mtu(True, plan_change=True, effective="2026-12-20"),
                                                  "2026-12-01T10:00:00Z")]
    # F: A's file, delivered newest first; one event delivered twice (same ce_id), and one
    # resubmitted under a new event id with the same evidence id (no effect either way).
    f_file = complete_file(rng, F, CP)
    f_dup = dict(f_file[1])
    f_resub = dict(f_file[0], id=new_id(rng))
    ev[F] = list(reversed(f_file))

    # G's evidence first; wait until it is held, then the referrals.
    env.submit(EVIDENCE, ev[G])
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM evidence WHERE case_id = '%s' AND NOT case_known" % G)
                     == "3", 60), "evidence for an unknown case is stored and held")
    H_link = linked(rng, H, lines=("SERVICE_LINE_DIAGNOSTIC",), codes=("G80.1",), decided_at="2026-11-03T10:00:00Z")
    env.submit(REFERRALS, refs + [H_link, rejected(rng)])
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM cases") == str(len(refs)), 60), "cases opened")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referral_decisions WHERE outcome = 'linked'") == "1", 60),
          "linked referral recorded")
    env.submit(EVIDENCE, [e for c in (A, B, C, J, D, E, H, I, K, L, O, T, X, F) for e in ev[c]])
    env.submit(EVIDENCE, [f_dup, f_resub])
    env.submit(REFERRALS, [G_ref])
    # Garbage: undecodable bytes and semantically invalid evidence; an undecodable referral decision.
    env.produce_raw(EVIDENCE, [("g1", {"ce_id": "33333333-3333-4333-8333-333333333333",
                                       "ce_type": "ccs.mtp.v1.EligibilityEvidence"}, b"\xff\xff\xff\x0fjunk")])
    env.submit(EVIDENCE, [evidence(rng, "not-a-uuid", CP, "2026-11-07T10:00:00Z"),
                          evidence(rng, A, medical(["XYZ!"]), "2026-11-09T10:00:00Z")])
    env.produce_raw(REFERRALS, [("g2", {"ce_id": "44444444-4444-4444-8444-444444444444",
                                        "ce_type": "ccs.mtp.v1.ReferralDecision"}, b"\x0a\xff\xff")])

    applied_events = [e["id"] for c in (A, B, C, J, D, E, H, I, K, L, O, T, X, F) for e in ev[c]]
    # one decision per case opened (G too), per evidence, and for the link that added a line
    want = len(refs) + 1 + len(applied_events) + 1
    check(wait_until(lambda: int(scalar(db, "SELECT count(*) FROM decisions")) >= want, 90), "decisions issued")

    # Appeal of E's financial denial, after E's last decision is known.
    e_last = scalar(db, "SELECT decision_id FROM decisions WHERE case_id = '%s' ORDER BY as_of DESC, created_at DESC"
                        " LIMIT 1" % E)
    appeal_id = "AP-%s" % E[:8]
    e_filed = evidence(rng, E, appeal_filed(appeal_id, e_last, "2026-11-20", "2026-11-19"), "2026-11-20T09:00:00Z")
    env.submit(EVIDENCE, [e_filed])
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM decisions WHERE trigger_event_id = '%s'" % e_filed["id"])
                     == "1", 60), "appeal filed: one decision")
    e_decided = evidence(rng, E, appeal_decided(appeal_id, "APPEAL_RESULT_UPHELD", "2026-12-01"), "2026-12-01T09:00:00Z")
    env.submit(EVIDENCE, [e_decided])
    # O: the same equipment denial, its notice mailed, a timely appeal overturned
    o_app = "AP-%s" % O[:8]
    o_ev = [evidence(rng, O, notice_mailed("2026-11-12"), "2026-11-12T17:00:00Z"),
            evidence(rng, O, appeal_filed(o_app, "", "2026-11-25", "2026-11-24"), "2026-11-25T09:00:00Z"),
            evidence(rng, O, appeal_decided(o_app, "APPEAL_RESULT_OVERTURNED", "2026-12-03"), "2026-12-03T09:00:00Z")]
    # J: an appeal postmarked after the window (mailed 11-10 + 30 = 12-10)
    j_app = evidence(rng, J, appeal_filed("AP-%s" % J[:8], "", "2026-12-14", "2026-12-12"), "2026-12-14T09:00:00Z")
    env.submit(EVIDENCE, o_ev + [j_app])
    applied_events += [e_filed["id"], e_decided["id"]] + [x["id"] for x in o_ev] + [j_app["id"]]
    want += 2 + len(o_ev) + 1

    in_ends = {}
    for t, n in ((REFERRALS, len(refs) + 4), (EVIDENCE, sum(len(v) for v in ev.values()) + 2 + 3 + 2 + 4)):
        in_ends[t] = wait_until(lambda: (lambda e: e if sum(e.values()) == n else None)(end_offsets(env, t)), 30)
        check(in_ends[t] is not None, "input topic %s holds %d records" % (t, n))

    def caught_up():
        got = {(t, int(p)): int(o) for t, p, o in psql(db, "SELECT topic, partition, next_offset FROM consumer_offsets")}
        return all(got.get((env.topic(t), p), -1) == o for t in in_ends for p, o in (in_ends[t] or {}).items())
    check(wait_until(caught_up, 60), "stored offsets reach the end of both input topics")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained")
    check_eq(int(scalar(db, "SELECT count(*) FROM decisions")), want, "one decision per opened case and per new evidence")

    # ---- exactly one effect per input ----------------------------------------------------------
    per_event = dict(psql(db, "SELECT trigger_event_id, count(*) FROM decisions GROUP BY 1"))
    check(all(per_event.get(e) == "1" for e in applied_events), "each evidence event for a known case: one decision")
    check(all(per_event.get(e["id"]) is None for e in ev[G]), "held evidence has no decision of its own")
    check_eq(per_event.get(f_resub["id"]), None, "resubmitted evidence id: no decision")
    check_eq(scalar(db, "SELECT count(*) FROM evidence WHERE case_id = '%s'" % F), "3", "F: evidence stored once each")
    check_eq(sorted(r[0] for r in psql(db, "SELECT outcome FROM referral_decisions")),
             sorted(["accepted"] * (len(refs) + 1) + ["linked", "rejected"]), "every referral decision recorded")
    check_eq(d.metric("referral_decisions_total", 'outcome="linked",effect="lines_added"'), 1.0,
             "linked referral adding a line counted")
    check_eq(d.metric("referral_decisions_total", 'outcome="rejected",effect="recorded"'), 1.0, "rejected referral counted")
    check_eq(scalar(db, "SELECT count(*) FROM decisions d JOIN referral_decisions r ON r.case_id = d.case_id"
                        " AND r.outcome = 'rejected' AND d.trigger_event_id = r.event_id"), "0",
             "rejected: no eligibility decision")
    check_eq(scalar(db, "SELECT count(*) FROM decisions WHERE trigger_event_id = '%s'" % H_link["id"]), "1",
             "a linked referral that adds a service line is decided (it used to be dropped)")

    # ---- decisions on the wire ----------------------------------------------------------------
    msgs = env.tail(DECIDED, expect=want, timeout=60)
    ids = {r[0]: r for r in psql(db, "SELECT decision_id, trigger_event_id, kind FROM decisions")}
    wire = {m["headers"]["ce_id"] for m in msgs}
    check_eq(wire, set(ids), "decision ids on the wire equal the decisions table")
    check(all(did == decision_id(t, k) for did, t, k in ids.values()), "decision ids are UUIDv5(input, kind)")
    # ---- office streams: each reviewing office's topic holds exactly its counties' decisions
    streams = {"office.los-angeles": "Los Angeles", "office.region-southern-california": "Imperial",
               "office.region-sacramento": "Alpine"}
    for suffix, county in streams.items():
        mine = {m["headers"]["ce_id"] for m in msgs if m["value"].get("county") == county}
        got = env.tail(DECIDED + "." + suffix, idle=2, expect=len(mine), timeout=30)
        check_eq({m["headers"]["ce_id"] for m in got}, mine,
                 "%s holds exactly the decisions of %s" % (suffix, county))
        check(all(m["value"].get("county") == county for m in got), "%s holds no other county" % suffix)
    last = {}
    check(all(m["key"] == m["value"]["caseId"] for m in msgs), "decisions keyed by case id")
    check(all(m["headers"].get("ccs_reviewing_office") == m["value"].get("reviewingOffice")
              and m["headers"].get("ccs_county") == m["value"].get("county") for m in msgs),
          "decisions tagged with county and reviewing office headers for regional routing")
    for m in sorted(msgs, key=lambda m: (m["partition"], int(m["offset"]))):
        last[m["value"]["caseId"]] = m["value"]
    codes = lambda v: [r["code"] for r in v.get("reasons", [])]
    lines = lambda v: {l["serviceLine"]: l.get("outcome") for l in v.get("serviceLines", [])}
    dls = lambda v: {x["kind"]: x["dueDate"] for x in v.get("deadlines", [])}

    a = last[A]
    check_eq(a["outcome"], "ELIGIBILITY_OUTCOME_ELIGIBLE", "A: CP with findings eligible")
    check("ELIGIBLE_MTP_CP" in codes(a) and "FIN_EXEMPT_MTP_ONLY" in codes(a), "A: ELIGIBLE_MTP_CP and MTP-only exemption")
    check(all(r.get("regulation") for r in a["reasons"]), "A: every reason cites a regulation")
    check_eq(a["ruleSetVersion"], "2026.2", "A: rule set version")
    check_eq(lines(last[H]).get("SERVICE_LINE_DIAGNOSTIC"), "ELIGIBILITY_OUTCOME_ELIGIBLE",
             "H: the linked referral's requested diagnostic line reached the case")
    check_eq(a.get("schoolDistrict"), "Los Angeles Unified", "A: school district carried from the referral")
    check_eq((a.get("applicationSendDue"), a.get("applicationReturnDue"), a.get("applicationDate")),
             ("2026-11-07", "2026-11-22", "2026-11-02"), "A: application clock from the referral date (+5, +20)")
    det = a.get("determination", {})
    check_eq((det.get("determinedBy"), det.get("reviewerRole"), det.get("reviewerId"), det.get("rule"),
              det.get("ruleSetVersion")),
             ("DETERMINED_BY_RULE", "REVIEWER_ROLE_NURSE", "rn-204", "cerebral_palsy", "2026.2"),
             "A: a nurse's documented CP finding meets the rule; the decision names who, which rule, which version")
    check(ev[A][2]["id"] in det.get("evidenceEventIds", []), "A: the determination lists the medical review event")
    check_eq(a["asOfDate"], "2026-11-07", "A: as of the last evidence's date")
    check_eq(a["decidedAt"], "2026-11-07T10:00:00Z", "A: decided_at from the evidence")
    check_eq(a["ageOutDate"], "2041-05-10", "A: age-out date")
    check_eq((a["county"], a["reviewingOffice"]), ("Los Angeles", "REVIEWING_OFFICE_COUNTY"), "A: county and office tags")

    f = last[F]
    same = lambda v: (v["outcome"], codes(v), v.get("serviceLines"), v.get("deadlines"), v["asOfDate"])
    check_eq(same(f), same(a), "F (evidence reversed, duplicated, resubmitted) decides exactly like A")

    b_hist = {v["triggerEventId"]: v for v in (m["value"] for m in msgs) if v["caseId"] == B}
    b0 = b_hist[ev[B][2]["id"]]
    check_eq(b0["outcome"], "ELIGIBILITY_OUTCOME_REQUIRES_PHYSICIAN_REVIEW", "B: a code alone needs a physician")
    check("REQUIRES_PHYSICIAN_REVIEW" in codes(b0) and "ELIGIBLE_MTP_CP" not in codes(b0), "B: reason physician review")
    check_eq(dls(b0).get("PHYSICIAN_REVIEW_DUE"), "2026-12-06",
             "B: physician review service target: 30 days from the day the complete case began to wait (11-06)")
    check_eq(b0.get("determination", {}).get("determinedBy"), "DETERMINED_BY_PENDING", "B: nobody has determined yet")
    b = last[B]
    check_eq((b["outcome"], b["asOfDate"]), ("ELIGIBILITY_OUTCOME_ELIGIBLE", "2026-11-08"),
             "B: the physician approves (06:30Z on 11-09 is 22:30 PST on 11-08)")
    bd = b.get("determination", {})
    check_eq((bd.get("determinedBy"), bd.get("reviewerRole"), bd.get("reviewerId"), bd.get("rationaleCode")),
             ("DETERMINED_BY_PHYSICIAN", "REVIEWER_ROLE_PHYSICIAN_CONSULTANT", "md-77", "MEETS_A1"),
             "B: determined by the physician, with the rationale")
    check("PHYSICIAN_REVIEW_DUE" not in dls(b), "B: off the physician worklist")

    c = last[C]
    check_eq(c["outcome"], "ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE", "C: at-risk infant")
    check("AT_RISK_UNDER_3" in codes(c), "C: AT_RISK_UNDER_3")
    check(c.get("atRiskReassessDue", "") != "" and c["atRiskReassessDue"] < "2028-09-01", "C: reassess due before age 3")
    check_eq(dls(c).get("AT_RISK_AGE_LIMIT"), "2028-09-01", "C: at-risk age limit deadline")

    j_hist = {v["triggerEventId"]: v for v in (m["value"] for m in msgs) if v["caseId"] == J}
    j0 = j_hist[ev[J][2]["id"]]
    check_eq(j0["outcome"], "ELIGIBILITY_OUTCOME_REQUIRES_PHYSICIAN_REVIEW",
             "J: one at-risk finding: the rules do not deny, the physician must review")
    check(not j0.get("notice", {}).get("required") and "NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS" not in codes(j0),
          "J: no notice and no denial reason before the physician")
    check_eq(j0.get("determination", {}).get("recommendation"), "NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS",
             "J: the rules' recommendation")
    j = j_hist[ev[J][3]["id"]]
    check_eq((j["outcome"], j["asOfDate"]), ("ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", "2026-11-08"),
             "J: the physician denies (07:30Z on 11-09 is 23:30 PST on 11-08)")
    check("NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS" in codes(j) and "NOT_ELIGIBLE_CONDITION" not in codes(j),
          "J: insufficient findings reason, at-risk findings the basis")
    n = j.get("notice", {})
    check_eq((n.get("required"), n.get("dueDate"), n.get("action"), n.get("effectiveDate")),
             (True, "2026-11-15", "NOTICE_ACTION_KIND_DENIAL", "2026-11-08"), "J: NOA due decision + 7 days, a denial")
    nr = {r["code"]: r for r in n.get("reasons", [])}
    jr = nr.get("NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS", {})
    check(jr.get("textEn") and jr.get("textEs") and jr.get("regulation"), "J: the reason in English and Spanish, cited")
    check(n.get("regulations"), "J: the notice lists the regulations")
    rights = n.get("appealRights", {})
    check_eq((rights.get("appealDeadline"), rights.get("appealWindowDays"), rights.get("fairHearingDays"),
              rights.get("routedTo", {}).get("routedTo")),
             ("2026-12-15", 30, 14, "REVIEWING_OFFICE_SOUTHERN_CALIFORNIA"), "J: appeal rights before mailing")
    check(rights.get("textEn") and rights.get("textEs"), "J: appeal rights in English and Spanish")
    check_eq(j["appeal"].get("routedTo"), "REVIEWING_OFFICE_SOUTHERN_CALIFORNIA", "J: dependent county appeals to region")
    check_eq(dls(j).get("APPEAL_WINDOW_CLOSES"), "2026-12-15", "J: appeal window NOA due + 30 days before mailing")
    jm = j_hist[ev[J][4]["id"]]
    check_eq((jm["notice"].get("mailedDate"), jm["notice"].get("appealRights", {}).get("appealDeadline"),
              dls(jm).get("APPEAL_WINDOW_CLOSES")), ("2026-11-10", "2026-12-10", "2026-12-10"),
             "J: notice mailed 11-10: the 30-day window counts from the mailing")
    check("NOA_DUE" not in dls(jm), "J: mailed: no longer due")

    t = last[T]
    check_eq((t["outcome"], t.get("transferCounty")), ("ELIGIBILITY_OUTCOME_TRANSFER", "San Diego"),
             "T: resident of another county: a transfer naming it, not a denial")
    check("TRANSFER_COUNTY" in codes(t) and not t.get("notice", {}).get("required"), "T: TRANSFER_COUNTY, no NOA")

    x = last[X]
    check_eq((x["outcome"], lines(x)), ("ELIGIBILITY_OUTCOME_ELIGIBLE",
                                        {"SERVICE_LINE_CCS_TREATMENT": "ELIGIBILITY_OUTCOME_ELIGIBLE"}),
             "X: cystic fibrosis is a CCS condition for CCS treatment")
    check("ELIGIBLE_CCS_CONDITION" in codes(x) and "NOT_ELIGIBLE_CONDITION" not in codes(x), "X: ELIGIBLE_CCS_CONDITION")

    dd = last[D]
    check_eq(lines(dd), {"SERVICE_LINE_MTP_THERAPY": "ELIGIBILITY_OUTCOME_ELIGIBLE",
                         "SERVICE_LINE_MTP_EQUIPMENT": "ELIGIBILITY_OUTCOME_ELIGIBLE",
                         "SERVICE_LINE_CCS_TREATMENT": "ELIGIBILITY_OUTCOME_ELIGIBLE"}, "D: every line eligible")
    check("FIN_ELIGIBLE_AGI_UNDER_40K" in codes(dd), "D: AGI under $40,000")
    check_eq(dls(dd).get("ANNUAL_REDETERMINATION_DUE"), "2027-11-08", "D: annual redetermination a year on")
    check_eq(dls(dd).get("ANNUAL_REDETERMINATION_NOTICE_DUE"), "2027-10-09", "D: notice 30 days ahead")

    i_ = last[I]
    check_eq(i_["outcome"], "ELIGIBILITY_OUTCOME_ELIGIBLE", "I: AGI exactly $40,000 is '$40,000 or less'")
    check("FIN_ELIGIBLE_AGI_UNDER_40K" in codes(i_), "I: FIN_ELIGIBLE_AGI_UNDER_40K")

    g = last[G]
    check_eq((g["trigger"], g["outcome"]), ("DECISION_TRIGGER_REFERRAL", "ELIGIBILITY_OUTCOME_ELIGIBLE"),
             "G: evidence held before the case is folded into the referral's decision")
    check_eq(g["asOfDate"], "2026-11-07", "G: as of the newest held evidence")

    k = last[K]
    check_eq((k["outcome"], lines(k)), ("ELIGIBILITY_OUTCOME_NOT_ELIGIBLE",
                                        {"SERVICE_LINE_MTP_THERAPY": "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE"}),
             "K: MTU finds therapy not medically necessary")
    check("NOT_MEDICALLY_NECESSARY" in codes(k) and "REFER_LEA_EDUCATIONAL" in codes(k) and k["notice"].get("required"),
          "K: NOT_MEDICALLY_NECESSARY, referred to the school district (LEA), with an NOA")
    l_ = last[L]
    check_eq(l_["outcome"], "ELIGIBILITY_OUTCOME_ELIGIBLE", "L: still eligible after a plan change")
    check("THERAPY_PLAN_CHANGE" in codes(l_) and dls(l_).get("THERAPY_PLAN_NOTICE_DUE") == "2026-12-15",
          "L: THERAPY_PLAN_CHANGE with written notice due 5 days before it takes effect")

    # E: financial denial of equipment, then an appeal filed and decided.
    e_hist = [m["value"] for m in sorted(msgs, key=lambda m: int(m["offset"])) if m["value"]["caseId"] == E]
    e_fin = [v for v in e_hist if v["triggerEventId"] == ev[E][3]["id"]][0]
    check_eq(lines(e_fin), {"SERVICE_LINE_MTP_THERAPY": "ELIGIBILITY_OUTCOME_ELIGIBLE",
                            "SERVICE_LINE_MTP_EQUIPMENT": "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE"},
             "E: equipment denied on income, therapy never needs the financial test")
    check("NOT_ELIGIBLE_FINANCIAL" in codes(e_fin) and e_fin["notice"].get("dueDate") == "2026-11-15",
          "E: NOT_ELIGIBLE_FINANCIAL with NOA due in 7 days")
    e_app = [v for v in e_hist if v["triggerEventId"] == e_filed["id"]][0]
    check_eq(e_app["trigger"], "DECISION_TRIGGER_APPEAL", "E: appeal filed -> trigger APPEAL")
    check_eq(dls(e_app).get("APPEAL_RESPONSE_DUE"), "2026-12-11", "E: appeal response due in 21 days")
    check_eq(e_app.get("servicesContinueDuringAppeal"), True, "E: authorized services continue during the appeal")
    e_dec = [v for v in e_hist if v["triggerEventId"] == e_decided["id"]][0]
    check_eq(dls(e_dec).get("FAIR_HEARING_WINDOW_CLOSES"), "2026-12-15", "E: fair hearing window 14 days")
    check(not e_dec.get("servicesContinueDuringAppeal"), "E: continuation ends once the appeal is decided")
    check_eq(psql(db, "SELECT response_due, decided_date, result, fair_hearing_closes FROM appeals WHERE case_id = '%s'"
                      % E), [["2026-12-11", "2026-12-01", "UPHELD", "2026-12-15"]], "E: appeals row")
    check_eq(e_dec.get("appealStatus"), "APPEAL_STATUS_UPHELD", "E: upheld")
    by_trig = {m["value"]["triggerEventId"]: m["value"] for m in msgs}
    o_fin = by_trig.get(ev[O][3]["id"], {})
    check_eq(lines(o_fin).get("SERVICE_LINE_MTP_EQUIPMENT"), "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE", "O: equipment denied")
    check_eq(o_fin.get("notice", {}).get("action"), "NOTICE_ACTION_KIND_DENIAL", "O: a denial notice")
    o_filed = by_trig.get(o_ev[1]["id"], {})
    check_eq((o_filed.get("appealStatus"), dls(o_filed).get("APPEAL_RESPONSE_DUE")),
             ("APPEAL_STATUS_OPEN_TIMELY", "2026-12-16"), "O: a timely appeal: response due in 21 days")
    o_dec = by_trig.get(o_ev[2]["id"], {})
    check_eq((o_dec.get("appealStatus"), o_dec.get("outcome"), lines(o_dec).get("SERVICE_LINE_MTP_EQUIPMENT")),
             ("APPEAL_STATUS_OVERTURNED", "ELIGIBILITY_OUTCOME_ELIGIBLE", "ELIGIBILITY_OUTCOME_ELIGIBLE"),
             "O: overturned: equipment restored")
    check("ELIGIBLE_APPEAL_OVERTURNED" in codes(o_dec) and "FAIR_HEARING_WINDOW_CLOSES" not in dls(o_dec)
          and not o_dec.get("notice", {}).get("required"), "O: no fair-hearing window, no notice")
    jl = by_trig.get(j_app["id"], {})
    check_eq(jl.get("appealStatus"), "APPEAL_STATUS_LATE_GOOD_CAUSE_REVIEW", "J: postmarked 12-12: late, good-cause review")
    check("APPEAL_RESPONSE_DUE" not in dls(jl), "J: a late appeal starts no response clock")
    check_eq(scalar(db, "SELECT count(*) FROM worklist WHERE case_id = '%s' AND kind = 'GOOD_CAUSE_REVIEW'" % J), "1",
             "J: on the good-cause worklist")
    # The gauges are refreshed between batches by the stats timer (every 5 s), off the hot path.
    gl = 'office="REVIEWING_OFFICE_SOUTHERN_CALIFORNIA",kind="GOOD_CAUSE_REVIEW",state="open"'
    check(wait_until(lambda: (d.metric("worklist_items", gl) or 0) >= 1, 15), "worklist gauge by office")
    check(wait_until(lambda: 'ccs_clocks_due_soon{service="eligibility",kind=' in d.get("/metrics")[1], 15),
          "pending clocks by kind are exported (clocks_due_soon)")
    check((d.metric("referral_to_determination_days_count") or 0) >= 1,
          "days from referral to the first determination observed (%s cases)"
          % d.metric("referral_to_determination_days_count"))
    age = d.metric("worklist_oldest_age_days", gl)
    check(age is not None and age >= 0, "oldest item's age by office: %s days" % age)

    # ---- dead letters -------------------------------------------------------------------------
    dl_ev = env.tail(EVIDENCE + ".dlq", expect=3, timeout=30)
    check_eq(sorted(m["headers"].get("dlq_error_class") for m in dl_ev), ["decode", "validation", "validation"],
             "evidence garbage dead-lettered (decode, invalid case id, invalid code)")
    dl_ref = env.tail(REFERRALS + ".dlq", expect=1, timeout=30)
    check_eq([m["headers"].get("dlq_error_class") for m in dl_ref], ["decode"], "referral garbage dead-lettered")

    # ---- what-if ------------------------------------------------------------------------------
    n_out = len(msgs)
    n_dec = scalar(db, "SELECT count(*) FROM decisions")
    wenv = dict(os.environ, **d.vars)
    wenv["CCS_CLOCK_TODAY"] = "2026-11-30"
    out = subprocess.run([os.path.join(BUILD, SERVICES["eligibility"]), "what-if", "--rule-set", "2026.2-agi-under",
                          "--json"], env=wenv, capture_output=True, text=True, timeout=60)
    check_eq(out.returncode, 0, "what-if exits 0")
    rep = json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}
    log("what-if: " + out.stdout.strip()[:2000])
    check_eq((rep.get("current"), rep.get("candidate"), rep.get("as_of")), ("2026.2", "2026.2-agi-under", "2026-11-30"),
             "what-if: versions and date")
    check_eq(rep.get("cases"), len(refs) + 1, "what-if: every stored case evaluated")
    changed = {c["case_id"] for c in rep.get("changes", [])}
    check_eq(changed, {I}, "what-if: I (AGI at the threshold) changes, nothing else")
    check_eq(rep.get("changed"), 1, "what-if: count of changed decisions")
    tr = {t["transition"]: t for t in rep.get("transitions", [])}
    check_eq(tr.get("ELIGIBLE -> NOT_ELIGIBLE", {}).get("case_ids"), [I], "what-if: I goes ELIGIBLE -> NOT_ELIGIBLE")
    added = {r["reason"]: r["case_ids"] for r in rep.get("reasons_added", [])}
    removed = {r["reason"]: r["case_ids"] for r in rep.get("reasons_removed", [])}
    check_eq(added.get("NOT_ELIGIBLE_FINANCIAL"), [I], "what-if: reason added")
    check_eq(removed.get("FIN_ELIGIBLE_AGI_UNDER_40K"), [I], "what-if: reason removed")
    txt = subprocess.run([os.path.join(BUILD, SERVICES["eligibility"]), "what-if", "--rule-set", "2026.2-agi-under"],
                         env=wenv, capture_output=True, text=True, timeout=60)
    check(txt.returncode == 0 and "would change 1" in txt.stdout and I in txt.stdout, "what-if text report")
    bad = subprocess.run([os.path.join(BUILD, SERVICES["eligibility"]), "what-if", "--rule-set", "1999.9"],
                         env=wenv, capture_output=True, text=True, timeout=60)
    check_eq(bad.returncode, 2, "what-if with an unknown rule set is a usage error")
    check_eq(scalar(db, "SELECT count(*) FROM decisions"), n_dec, "what-if stores nothing")
    check_eq(len(env.tail(DECIDED, idle=2)), n_out, "what-if publishes nothing")

    # ---- timers -------------------------------------------------------------------------------
    check_eq(d.stop(), 0, "drained on SIGTERM")
    d.vars["CCS_CLOCK_TODAY"] = TODAY2
    d.start()
    d.wait_ready()
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM due_work WHERE due_date <= '%s'" % TODAY2) == "0", 90),
          "every due timer fired")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", 30), "outbox drained after timers")
    timers = psql(db, "SELECT decision_id, case_id, timer_kind, trigger, trigger_event_id, kind, as_of, outcome,"
                      " array_to_string(reasons, ','), lines FROM decisions WHERE timer_kind IS NOT NULL")
    log("timer decisions: %d" % len(timers))
    check(all(r[4] == "due:%s:%s:%s" % (r[2], r[1], r[6]) and r[0] == decision_id(r[4], r[5]) for r in timers),
          "timer decision ids are UUIDv5(due:<kind>:<case>:<date>, kind): the same on any replay")
    by = {(r[1], r[2]): r for r in timers}
    h = by.get((H, "AGE_OUT"))
    check(h is not None and h[6] == "2027-01-15" and h[7] == "NOT_ELIGIBLE" and "NOT_ELIGIBLE_AGE" in h[8],
          "H: age-out at 21 -> NOT_ELIGIBLE_AGE (TIMER)")
    check(h is not None and h[0] == decision_id("due:AGE_OUT:%s:2027-01-15" % H, "eligibility.timer"),
          "H: age-out decision id computed from the due date")
    cl = by.get((C, "AT_RISK_AGE_LIMIT"))
    check(cl is not None and cl[6] == "2028-09-01" and cl[7] == "REQUIRES_PHYSICIAN_REVIEW"
          and "NOT_ELIGIBLE_AT_RISK_AGE" not in cl[8],
          "C: at-risk window ends at 36 months -> the physician re-determines (no system denial)")
    cr = by.get((C, "AT_RISK_REASSESS_DUE"))
    check(cr is not None and cr[7] == "AT_RISK_ELIGIBLE", "C: re-determination before the third birthday issued")
    dr = by.get((D, "ANNUAL_REDETERMINATION_DUE"))
    check(dr is not None and dr[3] == "REDETERMINATION" and "MTP_EQUIPMENT=PENDING" in dr[9]
          and "PENDING_FINANCIAL_DOCS" in dr[8] and "MTP_THERAPY=ELIGIBLE" in dr[9],
          "D: annual redetermination lapses the financial test for equipment and treatment, not therapy")
    ef = by.get((E, "FAIR_HEARING_WINDOW_CLOSES"))
    check(ef is not None and ef[6] == "2026-12-15", "E: fair hearing window closing is a TIMER decision")
    check(by.get((A, "APPLICATION_SEND_DUE")) is None, "A: a stale reminder (application already back) decides nothing")
    check((d.metric("timers_total", 'kind="APPLICATION_SEND_DUE",result="stale"') or 0) >= 1, "stale timers counted")
    wire2 = {m["headers"]["ce_id"] for m in env.tail(DECIDED, idle=3)}
    check_eq(wire2, {r[0] for r in psql(db, "SELECT decision_id FROM decisions")},
             "after timers: decision ids on the wire equal the decisions table")

    # ---- the real referral daemon upstream ------------------------------------------------------
    rd = env.daemon("referral").start()
    rd.wait_ready()
    subs = [envelope(referral(rng)) for _ in range(3)] + [envelope(referral(rng, birthDate="2030-01-01"))]
    env.submit("ccs.referral.submitted.v1", subs)
    sub_ids = {e["data"]["referralId"] for e in subs}
    rdec = [m for m in env.tail(REFERRALS, expect=len(refs) + 4 + len(subs), timeout=60)
            if m.get("value", {}).get("referralId") in sub_ids]
    acc = [m["value"]["caseId"] for m in rdec if "accepted" in m["value"]]
    check_eq(len(acc), 3, "referrald accepted the three valid referrals")
    q = "SELECT case_id FROM decisions WHERE trigger = 'REFERRAL' AND case_id IN (%s)" % ",".join("'%s'" % c for c in acc)
    got = wait_until(lambda: (lambda r: r if len(r) == len(acc) else None)(psql(db, q)), 60) or []
    check_eq(sorted(r[0] for r in got), sorted(acc), "referrald's accepted referrals get an eligibility decision")
    check(wait_until(lambda: scalar(db, "SELECT count(*) FROM referral_decisions WHERE outcome = 'rejected'") == "2", 30),
          "referrald's rejection recorded without a decision")
finally:
    env.cleanup()
finish()
