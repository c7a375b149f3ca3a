"""Synthetic referrals for tests, benchmarks and the demo (no real people: generated names)."""
import random
import uuid

FIRST = ["Ana", "Luis", "Maya", "Noah", "Sofia", "Mateo", "Emma", "Liam", "Zoe", "Kai", "Aiden", "Lucia",
         "Jose", "Mia", "Ethan", "Ava", "Diego", "Isla", "Omar", "Lena"]
LAST = ["Garcia", "Nguyen", "Smith", "Hernandez", "Kim", "Lopez", "Patel", "Johnson", "Martinez", "Chen",
        "Rodriguez", "Brown", "Davis", "Wilson", "Flores", "Tran", "Singh", "Lee", "Moore", "Perez"]
COUNTIES = ["Los Angeles", "San Diego", "Fresno", "Sacramento", "Imperial", "Alpine", "Kern", "Orange",
            "San Joaquin", "San Luis Obispo", "Humboldt", "Shasta"]
CODES = ["G80.0", "G80.1", "G80.2", "G80.9", "Q05.4", "G71.01", "G12.1", "M08.00", "Q74.3", "Q78.0", "S06.9"]
SOURCES = ["REFERRAL_SOURCE_PARENT", "REFERRAL_SOURCE_TEACHER", "REFERRAL_SOURCE_SCHOOL_NURSE",
           "REFERRAL_SOURCE_PHYSICIAN", "REFERRAL_SOURCE_REGIONAL_CENTER"]


def referral(rng, referral_date="2026-11-02", submitted_at="2026-11-02T16:00:00Z", **over):
    """A valid ReferralSubmitted as proto3 JSON; keyword overrides replace child fields or top-level ones."""
    age_days = rng.randint(200, 18 * 365)
    y, m, d = 2026, 11, 2
    import datetime
    dob = (datetime.date(y, m, d) - datetime.timedelta(days=age_days)).isoformat()
    cin = "%08d%s" % (rng.randint(10000000, 99999999), rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"))
    child = {
        "firstName": rng.choice(FIRST) + rng.choice(["", "a", "o", "e"]) + str(rng.randint(1, 999)).translate(str.maketrans("0123456789", "abcdefghij")),
        "lastName": rng.choice(LAST),
        "birthDate": dob,
        "sex": rng.choice(["SEX_FEMALE", "SEX_MALE"]),
        "countyOfResidence": rng.choice(COUNTIES),
        "preferredLanguage": rng.choice(["en", "es", "vi"]),
        "city": "Springfield",
        "zip": "9%04d" % rng.randint(0, 9999),
        "schoolDistrict": "Example Unified",
        "mediCalCin": cin,
        "guardian": {"name": "Guardian Example", "relationship": "mother", "phone": "(559) 555-0100"},
    }
    r = {
        "referralId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "submittedAt": submitted_at,
        "referralDate": referral_date,
        "source": rng.choice(SOURCES),
        "referrerOrganization": "Example Clinic",
        "child": child,
        "coverage": rng.choice(["COVERAGE_MEDI_CAL_FULL_SCOPE", "COVERAGE_COMMERCIAL", "COVERAGE_NONE"]),
        "diagnoses": [{"icd10Code": rng.choice(CODES), "description": "as referred"}],
        "requestedProgram": "REQUESTED_PROGRAM_MTP",
        "requestedServices": ["SERVICE_LINE_MTP_THERAPY"],
    }
    for k, v in over.items():
        if k in child:
            child[k] = v
        else:
            r[k] = v
    return r


def same_child(rng, doc, **over):
    """Another referral of the child in `doc` (a ReferralSubmitted dict): same name, birth date and
    county, a new referral id, and the other fields of a fresh referral() unless overridden, e.g.
    a physician's referral with a CIN after a school's without one."""
    c = doc["child"]
    same = {k: c[k] for k in ("firstName", "lastName", "birthDate", "countyOfResidence")}
    same.update(over)
    return referral(rng, **same)


def envelope(doc, event_id=None, key=None):
    """ccsctl's envelope form: a chosen ce_id, so tests know every input's id."""
    return {"id": event_id or str(uuid.uuid4()), "key": key or doc.get("referralId") or doc.get("caseId"),
            "data": doc}
