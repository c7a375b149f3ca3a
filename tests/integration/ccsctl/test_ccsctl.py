#!/usr/bin/env python3
"""ccsctl integration test against a real Kafka broker (python3 stdlib only).

Kafka comes from CCS_KAFKA_BOOTSTRAP, else from `deploy/dev/kafka.sh bootstrap` (what the
`servers` fixture started); with neither the test is skipped (exit 77). Every run uses its own
topic prefix, so runs never see each other's messages.
"""
import json
import os
import re
import subprocess
import sys
import uuid

SRC = os.environ.get("CCS_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("CCS_BUILD_DIR") or os.path.join(SRC, "build", "dev")
CCSCTL = os.environ.get("CCSCTL") or os.path.join(BUILD, "tools", "ccsctl", "ccsctl")

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def check_eq(got, want, what):
    return check(got == want, "%s: got %r, want %r" % (what, got, want))


def bootstrap():
    bs = os.environ.get("CCS_KAFKA_BOOTSTRAP")
    if bs:
        return bs
    script = os.path.join(SRC, "deploy", "dev", "kafka.sh")
    if os.path.exists(script):
        out = subprocess.run([script, "bootstrap"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[-1]
    print("CCS_KAFKA_BOOTSTRAP unset and no dev broker answers: skipping", flush=True)
    sys.exit(77)


BS = bootstrap()


def ctl(*args, stdin=None):
    """Run ccsctl; returns (exit code, stdout, stderr without librdkafka's own log lines)."""
    out = subprocess.run([CCSCTL, "-b", BS] + list(args), input=stdin, capture_output=True,
                         text=True, timeout=120)
    err = "\n".join(l for l in out.stderr.splitlines() if not l.startswith("%"))
    return out.returncode, out.stdout, err


def lines(stdout):
    return [json.loads(l) for l in stdout.splitlines() if l.strip()]


def jl(*docs):
    return "".join(json.dumps(d) + "\n" for d in docs)


UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

prefix = "it-ccsctl-%s." % uuid.uuid4().hex[:10]
T = prefix + "ccs.referral.submitted.v1"
DLQ = T + ".dlq"
EV = prefix + "ccs.eligibility.evidence.v1"

if not check(os.access(CCSCTL, os.X_OK), "ccsctl binary at " + CCSCTL):
    sys.exit(1)

# --- topics ----------------------------------------------------------------------------
rc, _, err = ctl("topics", "create", "--partitions", "3", T, DLQ, EV)
check_eq(rc, 0, "topics create")
rc, _, err = ctl("topics", "create", "--partitions", "3", T)
check_eq(rc, 0, "topics create of an existing topic is not an error")
check("already exists" in err, "topics create reports an existing topic")
rc, out, _ = ctl("topics", "list")
check_eq(rc, 0, "topics list")
row = [l.split("\t") for l in out.splitlines() if l.split("\t")[0] == T]
check_eq(row, [[T, "3", "ccs.mtp.v1.ReferralSubmitted"]], "topics list row for the test topic")

# --- submit -> tail round trip -----------------------------------------------------------
referral = {
    "referralId": str(uuid.uuid4()),
    "referral_date": "2024-05-01",              # proto field names are accepted too
    "source": "REFERRAL_SOURCE_PHYSICIAN",
    "child": {"firstName": "Test", "birthDate": "2019-03-04", "countyOfResidence": "Fresno",
              "sex": "FEMALE"},                 # enum name without its prefix
    "diagnoses": [{"icd10Code": "G80.0", "description": "spastic"}],
    "requestedServices": ["SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"],
}
canonical = {
    "referralId": referral["referralId"],
    "referralDate": "2024-05-01",
    "source": "REFERRAL_SOURCE_PHYSICIAN",
    "child": {"firstName": "Test", "birthDate": "2019-03-04", "sex": "SEX_FEMALE",
              "countyOfResidence": "Fresno"},
    "diagnoses": [{"icd10Code": "G80.0", "description": "spastic"}],
    "requestedServices": ["SERVICE_LINE_MTP_THERAPY", "SERVICE_LINE_MTP_EQUIPMENT"],
}
env_id, env_key, env_corr = str(uuid.uuid4()), "key-" + uuid.uuid4().hex[:6], str(uuid.uuid4())
envelope = {"id": env_id, "key": env_key, "correlation_id": env_corr,
            "data": {"referralId": str(uuid.uuid4()), "notes": "second"}}

rc, _, err = ctl("submit", "-t", T, stdin=jl(referral) + "\n" + jl(envelope))
check_eq(rc, 0, "submit two lines (and a blank one)")
check("2 produced, 2 delivered" in err, "submit summary on stderr: " + err.strip())

rc, out, err = ctl("tail", "-t", T, "--from-beginning", "--until-end")
check_eq(rc, 0, "tail --until-end")
msgs = lines(out)
check_eq(len(msgs), 2, "tail reads both messages")
plain = [m for m in msgs if m.get("value", {}).get("referralId") == referral["referralId"]]
env = [m for m in msgs if m.get("value", {}).get("notes") == "second"]
if check(len(plain) == 1 and len(env) == 1, "both messages decoded"):
    p, e = plain[0], env[0]
    check_eq(p["value"], canonical, "decoded referral is the canonical proto3 JSON")
    check_eq(p["topic"], T, "topic")
    check(0 <= p["partition"] < 3 and p["offset"] >= 0, "partition and offset")
    check_eq(p["key"], referral["referralId"], "default key = referral_id")
    h = p["headers"]
    check(UUID4.match(h.get("ce_id", "")) is not None, "ce_id is a UUID v4")
    check_eq(h.get("ce_source"), "ccsctl", "ce_source")
    check_eq(h.get("ce_type"), "ccs.mtp.v1.ReferralSubmitted", "ce_type")
    check_eq(h.get("ce_specversion"), "1.0", "ce_specversion")
    check(RFC3339.match(h.get("ce_time", "")) is not None, "ce_time is RFC 3339 UTC")
    check_eq(h.get("content-type"), "application/protobuf", "content-type")
    check_eq(h.get("ccs_correlation_id"), h.get("ce_id"), "correlation id defaults to ce_id")
    check_eq(h.get("ccs_causation_id"), h.get("ce_id"), "causation id defaults to ce_id")
    check_eq(e["key"], env_key, "envelope key")
    check_eq(e["headers"].get("ce_id"), env_id, "envelope id becomes ce_id")
    check_eq(e["headers"].get("ccs_correlation_id"), env_corr, "envelope correlation id")
    check_eq(e["headers"].get("ccs_causation_id"), env_id, "causation id defaults to the id")

rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--count", "1")
check(rc == 0 and len(lines(out)) == 1, "tail --count 1 prints one message")
rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--idle-exit", "2")
check(rc == 0 and len(lines(out)) == 2, "tail --idle-exit reads the whole topic")

# --- bad input ------------------------------------------------------------------------------
good = {"referralId": str(uuid.uuid4())}
rc, _, err = ctl("submit", "-t", T, stdin=jl(good) + '{"referralId": "x"\n' + jl({"referralId": "never"}))
check_eq(rc, 1, "submit exits 1 on invalid JSON")
check("line 2: invalid JSON" in err, "the bad line is named: " + err.strip().splitlines()[0])
check("1 produced, 1 delivered" in err, "lines before the bad one are produced")
rc, _, err = ctl("submit", "-t", T, stdin=jl({"child": {"birthDate": 20190304}}))
check_eq(rc, 1, "submit exits 1 on a type error")
check("line 1: field 'child.birthDate': expected string" in err, "field path in the error")
rc, _, err = ctl("submit", "-t", T, stdin=jl({"referralId": "r", "shoeSize": 3}))
check("field 'shoeSize': unknown field" in err and rc == 1, "unknown fields are rejected")
rc, _, _ = ctl("submit", "-t", prefix + "no.such.topic", stdin=jl(good))
check_eq(rc, 2, "submit to a topic without a known type is a usage error")
rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--until-end")
vals = [m["value"].get("referralId") for m in lines(out)]
check(good["referralId"] in vals and "never" not in vals, "nothing after the bad line was produced")

# --- int64, oneof and key lookup inside a oneof-bearing message ---------------------------
case_id = str(uuid.uuid4())
rc, _, _ = ctl("submit", "-t", EV, stdin=jl({"evidenceId": str(uuid.uuid4()), "caseId": case_id,
                                              "financial": {"agiCents": 3999999, "householdSize": 4}}))
check_eq(rc, 0, "submit evidence")
rc, out, _ = ctl("tail", "-t", EV, "--from-beginning", "--until-end")
ev = lines(out)
if check(len(ev) == 1, "one evidence message"):
    check_eq(ev[0]["key"], case_id, "evidence key = case_id")
    check_eq(ev[0]["headers"].get("ce_type"), "ccs.mtp.v1.EligibilityEvidence", "evidence ce_type")
    check_eq(ev[0]["value"].get("financial"), {"agiCents": "3999999", "householdSize": 4},
             "int64 printed as a string inside the oneof member")

# --- dead letters ----------------------------------------------------------------------------
dead = {"referralId": str(uuid.uuid4())}
dead_id = str(uuid.uuid4())
rc, _, err = ctl("submit", "-t", DLQ,
                 "-H", "dlq_original_topic=" + T, "-H", "dlq_original_partition=2",
                 "-H", "dlq_original_offset=17", "-H", "dlq_error_class=validation",
                 "-H", "dlq_error_message=child.birthDate missing", "-H", "dlq_service=referral",
                 "-H", "ce_id=" + dead_id,
                 stdin=jl(dead))
check_eq(rc, 0, "submit a dead letter with -H headers")
rc, out, _ = ctl("dlq", "list", "-t", DLQ)
dl = lines(out)
if check(rc == 0 and len(dl) == 1, "dlq list shows one dead letter"):
    check_eq(dl[0]["value"], dead, "dead letter value decoded as the base topic's type")
    check_eq(dl[0]["dlq"], {"original_topic": T, "original_partition": 2, "original_offset": 17,
                            "service": "referral", "error_class": "validation",
                            "error_message": "child.birthDate missing"}, "dlq object")
    check_eq(dl[0]["headers"].get("ce_id"), dead_id, "-H replaces the header ccsctl would set")
rc, out, _ = ctl("dlq", "replay", "-t", DLQ, "--dry-run")
check(rc == 0 and len(lines(out)) == 1 and "would_replay" in lines(out)[0], "dlq replay --dry-run")
rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--until-end")
check(dead["referralId"] not in [m["value"].get("referralId") for m in lines(out)],
      "dry run produced nothing")
rc, out, err = ctl("dlq", "replay", "-t", DLQ)
check_eq(rc, 0, "dlq replay")
check("1 replayed, 1 delivered" in err, "replay summary: " + err.strip())
rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--until-end")
back = [m for m in lines(out) if m["value"].get("referralId") == dead["referralId"]]
if check(len(back) == 1, "the replayed message is back on the original topic"):
    hdrs = back[0]["headers"]
    check_eq(hdrs.get("ce_id"), dead_id, "original ce_id kept")
    check_eq(sorted(k for k in hdrs if k.startswith("dlq_")), [], "dlq_* headers removed")
    check_eq(back[0]["key"], dead["referralId"], "original key kept")
rc, out, _ = ctl("dlq", "list", "-t", T)
check_eq(rc, 2, "dlq list refuses a topic that is not a .dlq")

# --- lag -------------------------------------------------------------------------------------
# A group that never committed: committed is null and the lag is everything retained.
rc, out, _ = ctl("tail", "-t", T, "--from-beginning", "--until-end")
total = len(lines(out))
grp = "it-ccsctl-lag-" + uuid.uuid4().hex[:8]
rc, out, _ = ctl("lag", "-g", grp, "-t", T)
rows = lines(out)
check_eq(rc, 0, "lag")
check_eq(sorted(r["partition"] for r in rows), [0, 1, 2], "lag reports every partition")
check(all(r["committed"] is None and r["group"] == grp and r["topic"] == T for r in rows),
      "no committed offsets for a fresh group")
check_eq(sum(r["lag"] for r in rows), total, "lag of a fresh group = messages in the topic")
check_eq(sum(r["end"] for r in rows), total, "end offsets add up to the messages produced")
rc, out, _ = ctl("lag", "-g", grp, "--prefix", prefix)
check_eq(sorted({r["topic"] for r in lines(out)}), sorted([T, EV]),
         "lag --prefix covers the known topics that exist")

if failures:
    print("%d failed:" % len(failures))
    for f in failures:
        print("  " + f)
    sys.exit(1)
print("all checks passed")
