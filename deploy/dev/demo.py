#!/usr/bin/env python3
"""Sample traffic for deploy/dev/run.sh: referrals, then the evidence that makes most children
eligible, while the three decision topics are printed one line per decision (ids and codes only).

  demo.py BUILD_DIR [--referrals N] [--duration SECONDS]

Reads CCS_KAFKA_BOOTSTRAP; uses ccsctl for everything it sends and reads.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
from ccs_samples import envelope, referral  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--referrals", type=int, default=40)
ap.add_argument("--duration", type=float, default=0, help="exit after this many seconds (0: until Ctrl-C)")
args = ap.parse_args()
CCSCTL = os.path.join(args.build, "tools/ccsctl/ccsctl")
KAFKA = os.environ.get("CCS_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
PREFIX = os.environ.get("CCS_TOPICS_PREFIX", "")
lock = threading.Lock()
accepted = {}   # case id -> referral decision value


def say(line):
    with lock:
        print(line, flush=True)


def describe(topic, v):
    if "referral" in topic:
        if "accepted" in v:
            a = v["accepted"]
            accepted[v["caseId"]] = v
            return "referral    %s accepted  case %s  %s -> %s  codes %s" % (
                v["referralId"][:8], v["caseNumber"], v.get("county"), v.get("reviewingOffice", "").replace("REVIEWING_OFFICE_", ""),
                ",".join(a.get("diagnosisCodes", [])))
        if "linked" in v:
            return "referral    %s linked    to case %s (%s)" % (v["referralId"][:8], v["linked"].get("existingCaseNumber"),
                                                            v["linked"].get("matchRule", "").replace("MATCH_RULE_", ""))
        if "rejected" in v:
            return "referral    %s rejected  %s" % (v["referralId"][:8], ",".join(r["code"] for r in v["rejected"].get("reasons", [])))
    if "eligibility" in topic:
        reasons = ",".join(r.get("code", "") for r in v.get("reasons", []))
        return "eligibility case %s  %-28s %s  [%s]" % (v.get("caseId", "")[:8], v.get("outcome", "").replace("ELIGIBILITY_OUTCOME_", ""),
                                                      v.get("trigger", "").replace("DECISION_TRIGGER_", "").lower(), reasons)
    if "scheduling" in topic:
        kind = next((k for k in ("evaluationBooked", "seriesBooked", "waitlisted", "cancelled", "conferenceScheduled",
                                 "iepCoordinationNotice") if k in v), "?")
        detail = v.get(kind, {})
        if kind == "evaluationBooked":
            ap_ = detail.get("appointment", {})
            minute = int(ap_.get("startMinute", 0))
            return "scheduling  case %s  evaluation booked %s %02d:%02d with %s at %s" % (
                v.get("caseId", "")[:8], ap_.get("date", ""), minute // 60, minute % 60, ap_.get("therapistId", ""),
                v.get("mtuId", ""))
        return "scheduling  case %s  %s  %s" % (v.get("caseId", "")[:8], kind, json.dumps(detail)[:100])
    return topic + " " + json.dumps(v)[:120]


def tail(topic):
    p = subprocess.Popen([CCSCTL, "-b", KAFKA, "tail", "-t", PREFIX + topic], stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        try:
            m = json.loads(line)
            say(describe(topic, m.get("value", {})))
        except (ValueError, KeyError) as e:  # never stop the demo on one odd line
            say("%s: %s" % (topic, e))


def submit(topic, docs):
    data = "".join(json.dumps(d) + "\n" for d in docs)
    r = subprocess.run([CCSCTL, "-b", KAFKA, "submit", "-t", PREFIX + topic, "-f", "-"], input=data, text=True,
                       capture_output=True)
    if r.returncode != 0:
        say("submit to %s failed: %s" % (topic, r.stderr.strip()))


for t in ("ccs.referral.decided.v1", "ccs.eligibility.decided.v1", "ccs.scheduling.decided.v1"):
    threading.Thread(target=tail, args=(t,), daemon=True).start()
time.sleep(2)  # let the tails reach the end of the topics

rng = random.Random()
# Dates are California calendar dates (the daemons date every instant in America/Los_Angeles).
os.environ["TZ"] = "America/Los_Angeles"
time.tzset()
today = time.strftime("%Y-%m-%d", time.localtime())
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
docs = []
# Mostly counties whose MTUs are in the sample directory (deploy/data/mtu_directory.tsv), so
# evaluations get booked; the others show the waitlist.
MTU_COUNTIES = ["Los Angeles", "San Diego", "Fresno", "Sacramento", "Imperial", "San Joaquin"]
for i in range(args.referrals):
    r = referral(rng, referral_date=today, submitted_at=now)
    if i % 5:
        r["child"]["countyOfResidence"] = rng.choice(MTU_COUNTIES)
    if i % 10 == 7:
        r["child"]["birthDate"] = "2031-01-01"    # invalid: in the future
    docs.append(envelope(r))
    if i % 10 == 3:                                 # the same child referred again by the school
        again = referral(rng, referral_date=today, submitted_at=now, mediCalCin=r["child"]["mediCalCin"])
        docs.append(envelope(again))
say("-- submitting %d referrals" % len(docs))
submit("ccs.referral.submitted.v1", docs)

# Evidence for every accepted case: application, residency, medical review (with findings for
# most), financial information. Cases accepted later get theirs on the next round.
sent = set()
deadline = time.time() + (args.duration or 1e9)
try:
    while time.time() < deadline:
        time.sleep(3)
        batch = []
        for case_id, v in list(accepted.items()):
            if case_id in sent:
                continue
            sent.add(case_id)
            codes = v["accepted"].get("diagnosisCodes", [])
            base = {"caseId": case_id, "receivedAt": now, "recordedBy": "staff-demo"}
            ev = [
                dict(base, evidenceId=str(uuid.uuid4()), applicationReceived={"sentDate": today, "receivedDate": today,
                                                                              "applicationSigned": True}),
                dict(base, evidenceId=str(uuid.uuid4()), residency={"county": v.get("county"), "verified": True,
                                                                    "stateResident": True}),
                dict(base, evidenceId=str(uuid.uuid4()), medicalReview={
                    "confirmedIcd10Codes": codes, "examDate": today, "reviewerRole": "REVIEWER_ROLE_PHYSICIAN_CONSULTANT",
                    "cerebralPalsy": {"rigidityOrSpasticity": rng.random() < 0.8}}),
                # The medical consultant's determination (the only way past "requires physician
                # review" for conditions without documented findings of their own rule).
                dict(base, evidenceId=str(uuid.uuid4()), physicianDetermination={
                    "result": "PHYSICIAN_RESULT_ELIGIBLE" if rng.random() < 0.85 else "PHYSICIAN_RESULT_NOT_ELIGIBLE",
                    "conditionGroup": "CONDITION_GROUP_MUSCULOSKELETAL", "findings": [],
                    "rationaleCode": "DEMO-1", "reviewerId": "md-demo", "determinedDate": today,
                    "scope": "MEDICAL_SCOPE_MTP", "icd10Codes": codes}),
                dict(base, evidenceId=str(uuid.uuid4()), financial={
                    "agiCents": str(rng.choice([2500000, 3900000, 6500000])), "householdSize": 4,
                    "mediCalStatus": rng.choice(["MEDI_CAL_STATUS_NONE", "MEDI_CAL_STATUS_FULL_SCOPE_NO_SOC"]),
                    "documentsComplete": True}),
            ]
            batch += [{"id": e["evidenceId"], "key": case_id, "data": e} for e in ev]
        if batch:
            say("-- submitting %d evidence events" % len(batch))
            submit("ccs.eligibility.evidence.v1", batch)
except KeyboardInterrupt:
    pass
