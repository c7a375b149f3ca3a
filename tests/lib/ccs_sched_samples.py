"""Synthetic scheduling inputs for tests: EligibilityDecision and SchedulingRequest as proto3 JSON.

Ids only, no people: a case is a UUID, a county a real county name from the sample MTU directory
(deploy/data/mtu_directory.tsv) or one without an MTU of its own (the shipped sample serves those
through a neighbour's MTU; a test's own directory may leave them unserved).
"""
import uuid

COUNTIES_WITH_MTU = ["Los Angeles", "San Diego", "Fresno", "Sacramento", "Imperial", "San Joaquin"]
COUNTIES_WITHOUT_MTU = ["Alpine", "Amador", "Modoc"]


def new_id(rng=None):
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def eligibility(case_id, county, outcome="ELIGIBILITY_OUTCOME_ELIGIBLE", mtp_line=None, as_of="2026-11-02",
                decided_at="2026-11-02T17:00:00Z", reasons=(), age_out="2040-05-01", rng=None, school_district=None):
    """An EligibilityDecision; mtp_line is the MTP therapy line's outcome (defaults to the overall one)."""
    line = mtp_line or outcome
    doc = {
        "decisionId": new_id(rng),
        "caseId": case_id,
        "county": county,
        "reviewingOffice": "REVIEWING_OFFICE_COUNTY",
        "decidedAt": decided_at,
        "asOfDate": as_of,
        "ruleSetVersion": "2026.1",
        "trigger": "DECISION_TRIGGER_EVIDENCE",
        "outcome": outcome,
        "reasons": [{"code": c} for c in reasons],
        "serviceLines": [{"serviceLine": "SERVICE_LINE_MTP_THERAPY", "outcome": line,
                          "reasons": [{"code": c} for c in reasons]}],
        "ageOutDate": age_out,
    }
    if school_district:
        doc["schoolDistrict"] = school_district
    return doc


def request(case_id, kind, body, received_at="2026-11-02T18:00:00Z", rng=None):
    """A SchedulingRequest with one kind (prescription, cancellation, iepSchedule, mtuCalendar,
    conferenceRequest, release)."""
    return {"requestId": new_id(rng), "caseId": case_id or "", "receivedAt": received_at, kind: body}


def hours(start, end, days=(1, 2, 3, 4, 5)):
    return [{"weekday": d, "startMinute": start, "endMinute": end} for d in days]


def envelope(doc, key, event_id=None):
    """ccsctl's envelope: the event id is the decision id for eligibility decisions (as
    eligibilityd publishes them) and the request id for requests."""
    eid = event_id or doc.get("decisionId") or doc.get("requestId")
    return {"id": eid, "key": key, "data": doc}
