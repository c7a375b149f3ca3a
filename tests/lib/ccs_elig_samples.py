"""Synthetic inputs for eligibilityd tests: ReferralDecision and EligibilityEvidence as proto3 JSON
envelopes for `ccsctl submit` (generated ids, no real people)."""
import datetime
import uuid

REFERRALS, EVIDENCE, DECIDED = "ccs.referral.decided.v1", "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1"

COUNTIES = {  # county -> (reviewing office, model), as referrald's county table routes them
    "Los Angeles": ("REVIEWING_OFFICE_COUNTY", "COUNTY_MODEL_INDEPENDENT"),
    "Imperial": ("REVIEWING_OFFICE_SOUTHERN_CALIFORNIA", "COUNTY_MODEL_DEPENDENT"),
    "Alpine": ("REVIEWING_OFFICE_SACRAMENTO", "COUNTY_MODEL_DEPENDENT"),
}


def new_id(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def accepted(rng, birth_date, county="Los Angeles", lines=("SERVICE_LINE_MTP_THERAPY",),
             program="REQUESTED_PROGRAM_MTP", referral_date="2026-11-02", decided_at="2026-11-02T16:00:00Z",
             codes=("G80.1",), case_id=None, event_id=None, school_district="Los Angeles Unified"):
    """An accepted ReferralDecision envelope; returns (envelope, case_id)."""
    case_id = case_id or new_id(rng)
    office, model = COUNTIES[county]
    rd = datetime.date.fromisoformat(referral_date)
    doc = {
        "decisionId": new_id(rng), "referralId": new_id(rng), "caseId": case_id,
        "caseNumber": "XX-2026-%s" % case_id[:8].upper(), "county": county, "decidedAt": decided_at,
        "reviewingOffice": office, "countyModel": model,
        "accepted": {
            "birthDate": birth_date, "county": county, "diagnosisCodes": list(codes),
            "requestedProgram": program, "requestedServices": list(lines), "referralDate": referral_date,
            "applicationSendDue": (rd + datetime.timedelta(days=5)).isoformat(),
            "applicationReturnDue": (rd + datetime.timedelta(days=20)).isoformat(),
            "coverage": "COVERAGE_NONE", "schoolDistrict": school_district,
        },
    }
    return {"id": event_id or new_id(rng), "key": case_id, "data": doc}, case_id


def linked(rng, existing_case_id, county="Los Angeles", lines=(), codes=(), decided_at="2026-11-03T10:00:00Z",
           school_district=""):
    office, model = COUNTIES[county]
    doc = {"decisionId": new_id(rng), "referralId": new_id(rng), "caseId": existing_case_id, "county": county,
           "decidedAt": decided_at, "reviewingOffice": office, "countyModel": model,
           "linked": {"existingCaseId": existing_case_id, "matchRule": "MATCH_RULE_MEDI_CAL_CIN",
                      "requestedServices": list(lines), "diagnosisCodes": list(codes),
                      "schoolDistrict": school_district}}
    return {"id": new_id(rng), "key": existing_case_id, "data": doc}


def rejected(rng):
    rid = new_id(rng)
    doc = {"decisionId": new_id(rng), "referralId": rid, "county": "Atlantis", "decidedAt": "2026-11-03T10:00:00Z",
           "rejected": {"reasons": [{"code": "COUNTY_UNKNOWN", "field": "child.county_of_residence",
                                     "message": "not a California county"}]}}
    return {"id": new_id(rng), "key": rid, "data": doc}


def evidence(rng, case_id, kind, received_at, evidence_id=None, event_id=None):
    """kind: one {"<oneofField>": {...}} dict, e.g. application()."""
    doc = {"evidenceId": evidence_id or new_id(rng), "caseId": case_id, "receivedAt": received_at,
           "recordedBy": "staff-17"}
    doc.update(kind)
    return {"id": event_id or new_id(rng), "key": case_id, "data": doc}


def application(received="2026-11-05", sent="2026-11-03", signed=True):
    return {"applicationReceived": {"sentDate": sent, "receivedDate": received, "applicationSigned": signed}}


def residency(county="Los Angeles", verified=True, state_resident=True):
    """state_resident: True/False say so explicitly (the enum); None leaves it unstated."""
    r = {"county": county, "verified": verified}
    if state_resident is not None:
        r["stateResident"] = state_resident
        r["stateResidency"] = "STATE_RESIDENCY_RESIDENT" if state_resident else "STATE_RESIDENCY_NOT_RESIDENT"
    return {"residency": r}


def medical(codes=(), cp=None, at_risk=None, exam="2026-11-04", role="REVIEWER_ROLE_NURSE", ga=0, records=False,
            nm=None, ms=None, reviewer_id="rn-204"):
    m = {"confirmedIcd10Codes": list(codes), "examDate": exam, "reviewerRole": role, "reviewerId": reviewer_id}
    if nm:
        m["neuromuscular"] = {k: True for k in nm}
    if ms:
        m["musculoskeletal"] = {k: True for k in ms}
    if cp:
        m["cerebralPalsy"] = {k: True for k in cp}
    if at_risk:
        m["atRisk"] = {k: True for k in at_risk}
    if ga:
        m["gestationalAgeWeeks"] = ga
    if records:
        m["recordsRequested"] = True
    return {"medicalReview": m}


def financial(agi_cents, complete=True, medi_cal="MEDI_CAL_STATUS_NONE", oop_cents=0, adopted=False):
    return {"financial": {"agiCents": str(agi_cents), "householdSize": 3, "mediCalStatus": medi_cal,
                          "expectedOopCents": str(oop_cents), "adoptedWithKnownCondition": adopted,
                          "documentsComplete": complete}}


def lines_requested(*lines):
    return {"serviceLinesRequested": {"serviceLines": list(lines)}}


def appeal_filed(appeal_id, decision_id, filed, postmarked=""):
    return {"appealFiled": {"appealId": appeal_id, "appealedDecisionId": decision_id, "filedDate": filed,
                            "postmarkedDate": postmarked}}


def appeal_decided(appeal_id, result, decided):
    return {"appealDecided": {"appealId": appeal_id, "result": result, "decidedDate": decided}}


def mtu(necessary, evaluated="2026-12-01", plan_change=False, effective=""):
    """necessary: True/False say so (the enum); None leaves it unstated (no effect)."""
    m = {"discipline": "DISCIPLINE_PT", "evaluatedDate": evaluated, "therapyPlanChange": plan_change,
         "effectiveDate": effective}
    if necessary is not None:
        m["medicallyNecessary"] = necessary
        m["medicalNecessity"] = "MEDICAL_NECESSITY_NECESSARY" if necessary else "MEDICAL_NECESSITY_NOT_NECESSARY"
    return {"mtuEvaluation": m}


def physician(result, group="CONDITION_GROUP_UNSPECIFIED", findings=(), rationale="R-1", reviewer="md-77",
              date="", scope="MEDICAL_SCOPE_UNSPECIFIED", codes=()):
    """The medical consultant's determination; result "ELIGIBLE" or "NOT_ELIGIBLE"."""
    return {"physicianDetermination": {"result": "PHYSICIAN_RESULT_" + result, "conditionGroup": group,
                                       "findings": list(findings), "rationaleCode": rationale,
                                       "reviewerId": reviewer, "determinedDate": date, "scope": scope,
                                       "icd10Codes": list(codes)}}


def notice_mailed(mailed, decision_id=""):
    return {"noticeMailed": {"decisionId": decision_id, "mailedDate": mailed}}


def complete_file(rng, case_id, med, start_day=5, county="Los Angeles"):
    """Application, residency and a medical review on consecutive days from 2026-11-<start_day>."""
    d = lambda k: "2026-11-%02dT10:00:00Z" % (start_day + k)
    return [evidence(rng, case_id, application(received="2026-11-%02d" % start_day), d(0)),
            evidence(rng, case_id, residency(county), d(1)),
            evidence(rng, case_id, med, d(2))]
