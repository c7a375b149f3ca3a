#!/usr/bin/env python3
"""`ccsctl trace` and `ccsctl status` against the three daemons on real PostgreSQL and Kafka.

A referral and its evidence go through referrald -> eligibilityd -> schedulingd. Then:
- `ccsctl trace <referral event id>` shows the referral, its decision, the eligibility and
  scheduling decisions, each with the daemon that published it, in time order, and a dead
  letter of the case with its error class; `ccsctl trace <case id>` finds the same path;
  an unknown id exits 1;
- every decision carries a W3C traceparent whose trace id is the referral's (its correlation id's
  hex digits, or the trace id of the traceparent the referral came with), and `ccsctl trace
  <trace id>` finds the path;
- `ccsctl status` shows the three daemons ready (exit 0); with one stopped it is shown down and
  the exit status is 1.
Skipped (77) when a daemon binary is missing or the servers are not up.
"""
import http.server
import json
import os
import random
import subprocess
import sys
import threading
import uuid

from ccs_it import BUILD, KAFKA, SERVICES, Env, ccsctl, check, check_eq, finish, log, wait_until
from ccs_elig_samples import complete_file, medical
from ccs_samples import envelope, referral

REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
EVIDENCE, DECIDED = "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1"
SCHED_IN, SCHED_OUT = "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"
SRC = {"referral": "urn:ccs:mtp:referral", "eligibility": "urn:ccs:mtp:eligibility",
       "scheduling": "urn:ccs:mtp:scheduling"}

for s in SERVICES.values():
    if not os.path.exists(os.path.join(BUILD, s)):
        log("%s not built: skipping" % s)
        sys.exit(77)


def ctl(*args, stdin=None):
    """ccsctl with the test broker; (exit code, stdout, stderr without librdkafka's log lines)."""
    out = subprocess.run([ccsctl(), "-b", KAFKA] + list(args), input=stdin, capture_output=True, text=True,
                         timeout=180)
    return out.returncode, out.stdout, "\n".join(l for l in out.stderr.splitlines() if not l.startswith("%"))


def trace(env, ident, *extra):
    rc, out, err = ctl("trace", ident, "--prefix", env.prefix, "--json", *extra)
    steps = [json.loads(l) for l in out.splitlines() if l.strip()]
    return rc, steps, err


def base(env, topic):
    return topic[len(env.prefix):] if topic.startswith(env.prefix) else topic


env = Env("trace")
try:
    rng = random.Random(47)
    topics = [env.topic(t) for t in (REF_IN, REF_OUT, EVIDENCE, DECIDED, SCHED_IN, SCHED_OUT)]
    subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3"] + topics, check=True,
                   capture_output=True)
    daemons = {"referral": env.daemon("referral"),
               "eligibility": env.daemon("eligibility", extra={"CCS_CLOCK_TODAY": "2026-11-01"}),
               "scheduling": env.daemon("scheduling")}
    for d in daemons.values():
        d.start()
    for d in daemons.values():
        d.wait_ready()
    endpoints = ",".join("127.0.0.1:%d" % d.port for d in daemons.values())

    # --- one referral through the pipeline -------------------------------------------------------
    ref = envelope(referral(rng, countyOfResidence="Los Angeles", diagnoses=[{"icd10Code": "G80.1"}],
                            coverage="COVERAGE_MEDI_CAL_FULL_SCOPE"))
    ref_id = ref["id"]
    # A second referral arrives with a W3C trace context of its own: its trace id must carry on.
    ref2 = envelope(referral(rng, countyOfResidence="Fresno", diagnoses=[{"icd10Code": "G80.0"}]))
    given_trace, given_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    env.submit(REF_IN, [ref])
    rc, _, err = ctl("submit", "-t", env.topic(REF_IN), "-H",
                     "traceparent=00-%s-%s-01" % (given_trace, given_span), stdin=json.dumps(ref2) + "\n")
    check_eq(rc, 0, "submit with a traceparent header")

    def decision_of(event_id):
        for m in env.tail(REF_OUT, idle=2):
            if m["headers"].get("ccs_causation_id") == event_id:
                return m
        return None
    rdec = wait_until(lambda: decision_of(ref_id), 90, interval=1)
    rdec2 = wait_until(lambda: decision_of(ref2["id"]), 30, interval=1)
    if not check(rdec is not None and "accepted" in rdec["value"], "the referral is accepted"):
        raise SystemExit(finish())
    case_id = rdec["value"]["caseId"]
    log("referral %s -> case %s" % (ref_id, case_id))
    evidence = complete_file(rng, case_id, medical(["G80.1"], cp=["rigidityOrSpasticity"]),
                             county="Los Angeles")
    env.submit(EVIDENCE, evidence)

    def scheduled():
        return [m for m in env.tail(SCHED_OUT, idle=2) if m["value"].get("caseId") == case_id]
    sdecs = wait_until(scheduled, 120, interval=1)
    check(bool(sdecs), "schedulingd decided for the case (%d decisions)" % len(sdecs or []))
    # A poison evidence message of the case: dead-lettered by eligibilityd.
    poison_id = str(uuid.uuid4())
    env.produce_raw(EVIDENCE, [(case_id, {"ce_id": poison_id, "ce_type": "ccs.mtp.v1.EligibilityEvidence",
                                          "ccs_correlation_id": poison_id}, b"\xff\xff\xff")])
    check(bool(wait_until(lambda: env.tail(EVIDENCE + ".dlq", idle=2), 60, interval=1)),
          "the poison evidence is dead-lettered")

    # --- trace by the referral's event id ------------------------------------------------------
    rc, steps, err = trace(env, ref_id)
    check_eq(rc, 0, "trace <referral event id> exits 0 (%s)" % err.strip()[:200])
    by_topic = {}
    for s in steps:
        by_topic.setdefault(base(env, s["topic"]), []).append(s)
    ids = [s["ce_id"] for s in steps]
    check([s["source"] for s in by_topic.get(REF_IN, []) if s["ce_id"] == ref_id] == ["ccsctl"],
          "the referral is on the path, produced by ccsctl")
    check_eq([(s["ce_id"], s["source"]) for s in by_topic.get(REF_OUT, [])],
             [(rdec["headers"]["ce_id"], SRC["referral"])], "the referral decision, by referrald")
    elig = by_topic.get(DECIDED, [])
    check(len(elig) >= 1 and all(s["source"] == SRC["eligibility"] for s in elig),
          "eligibility decisions by eligibilityd: %d" % len(elig))
    sched = by_topic.get(SCHED_OUT, [])
    check(len(sched) >= 1 and all(s["source"] == SRC["scheduling"] for s in sched),
          "scheduling decisions by schedulingd: %d" % len(sched))
    check_eq({s["ce_id"] for s in sched}, {m["headers"]["ce_id"] for m in sdecs},
             "every scheduling decision of the case is on the path")
    check_eq({s["ce_id"] for s in by_topic.get(EVIDENCE, [])}, {e["id"] for e in evidence} | {poison_id},
             "the case's evidence (and the poison message) is on the path")
    dl = by_topic.get(EVIDENCE + ".dlq", [])
    check(len(dl) == 1 and dl[0]["ce_id"] == poison_id and dl[0].get("dead_letter", {}).get("error_class")
          and dl[0]["dead_letter"].get("service") == "eligibility",
          "the dead letter with its error class: %s" % (dl[0].get("dead_letter") if dl else None))
    check(not any(base(env, s["topic"]) == REF_IN and s["ce_id"] == ref2["id"] for s in steps),
          "another child's referral is not on the path")
    ts = [s["timestamp"] for s in steps]
    check(ts == sorted(ts), "steps in time order")
    pos = {s["ce_id"]: i for i, s in reversed(list(enumerate(steps)))}
    check(all(pos.get(s["causation_id"], -1) < i for i, s in enumerate(steps)
              if s["causation_id"] in pos and s["causation_id"] != s["ce_id"]),
          "every step comes after the step that caused it")
    first = [base(env, s["topic"]) for s in steps[:2]]
    check_eq(first, [REF_IN, REF_OUT], "the path starts with the referral and its decision")
    r0 = [s for s in steps if s["ce_id"] == ref_id][0]
    check_eq(r0["handled_by"], ["referral"], "the referral was handled by referrald")
    check("eligibility" in [s for d in by_topic.get(REF_OUT, []) for s in d["handled_by"]] or
          all("eligibility" in s["handled_by"] for s in by_topic.get(EVIDENCE, []) if s["ce_id"] != poison_id),
          "eligibilityd handled the case's inputs")
    check_eq([s["handled_by"] for s in by_topic.get(EVIDENCE, []) if s["ce_id"] == poison_id],
             [["eligibility (dead letter)"]], "the poison evidence was dead-lettered by eligibilityd")

    # --- trace by the case id: the same path ---------------------------------------------------------
    rc, steps_case, err = trace(env, case_id)
    check_eq(rc, 0, "trace <case id> exits 0")
    check_eq(sorted((s["topic"], s["partition"], s["offset"]) for s in steps_case),
             sorted((s["topic"], s["partition"], s["offset"]) for s in steps), "trace <case id> finds the same path")

    # --- text output, unknown ids, usage -----------------------------------------------------------
    rc, out, _ = ctl("trace", ref_id, "--prefix", env.prefix)
    text = out.splitlines()
    log("\n".join("    " + l for l in text))
    check(rc == 0 and len(text) == len(steps), "text output: one line per step (%d)" % len(text))
    check(any(REF_OUT in l and " referral " in l and "accepted" in l for l in text),
          "text line of the referral decision names referrald and the kind: %s"
          % [l for l in text if REF_OUT in l][:1])
    check(any("error=" in l and "dead letter" in l for l in text), "text line of the dead letter has its error")
    rc, out, err = ctl("trace", str(uuid.uuid4()), "--prefix", env.prefix)
    check(rc == 1 and out == "" and "nothing found" in err, "an unknown id: nothing printed, exit 1")
    rc, _, _ = ctl("trace")
    check_eq(rc, 2, "trace without an id is a usage error")

    # --- W3C trace context -----------------------------------------------------------------------------
    want = uuid.UUID(ref_id).hex
    decided = [s for s in steps if (s["source"] or "").startswith("urn:ccs:mtp:") and s["correlation_id"] == ref_id]
    check(len(decided) >= 2 and all(s["trace_id"] == want for s in decided),
          "decisions correlated to the referral carry its trace id %s: %s" % (want, sorted({s["trace_id"] or "-" for s in decided})))
    rc, steps_t, _ = trace(env, want)
    check(rc == 0 and rdec["headers"]["ce_id"] in {s["ce_id"] for s in steps_t},
          "trace <trace id> finds the referral decision")
    tp = rdec["headers"].get("traceparent", "")
    check(tp.startswith("00-%s-%s-" % (want, rdec["headers"]["ce_id"].replace("-", "")[:16])),
          "traceparent = 00-<trace id>-<span from the decision id>-01: %s" % tp)
    check(rdec2 is not None and rdec2["headers"].get("traceparent", "").startswith("00-%s-" % given_trace),
          "a referral's own traceparent carries into its decision: %s"
          % (rdec2 or {}).get("headers", {}).get("traceparent"))
    rc, steps_g, _ = trace(env, given_trace)
    check(rc == 0 and {ref2["id"], (rdec2 or {}).get("headers", {}).get("ce_id")} <= {s["ce_id"] for s in steps_g},
          "trace <given trace id> finds that referral and its decision")

    # --- status ----------------------------------------------------------------------------------------------
    rc, out, err = ctl("status", "--endpoints", endpoints, "--json")
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    check_eq(rc, 0, "status: every daemon ready, exit 0 (%s)" % err.strip()[:200])
    check_eq(sorted((r["service"], r["state"]) for r in rows),
             [("eligibility", "ready"), ("referral", "ready"), ("scheduling", "ready")], "status rows")
    check(all(r["partitions"] and r["partitions"] > 0 and r["processed"] and r["processed"] > 0 and
              r["outbox_backlog"] is not None for r in rows),
          "status shows partitions, processed inputs and the outbox: %s" % rows)
    check_eq([r["dead_letters"] for r in rows if r["service"] == "eligibility"], [1],
             "status counts eligibilityd's dead letter")
    rc, out, _ = ctl("status", "--endpoints", endpoints)
    text = out.splitlines()
    log("\n".join("    " + l for l in text))
    check(rc == 0 and len(text) == 4 and text[0].split()[:3] == ["SERVICE", "ENDPOINT", "STATE"],
          "status text: a header and three rows")
    # A bare port reuses the host before it.
    ports = [str(d.port) for d in daemons.values()]
    rc, out, _ = ctl("status", "--endpoints", "127.0.0.1:%s,%s,%s" % tuple(ports), "--json")
    check_eq(rc, 0, "status with bare ports after the first HOST:PORT")
    daemons["scheduling"].stop()
    rc, out, _ = ctl("status", "--endpoints", endpoints, "--json")
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    down = [r for r in rows if r["endpoint"].endswith(":%d" % daemons["scheduling"].port)]
    check_eq(rc, 1, "status with schedulingd stopped exits 1")
    check(len(down) == 1 and down[0]["state"] == "down" and down[0]["reason"],
          "the stopped daemon is shown down with why: %s" % down)
    check_eq(sorted(r["state"] for r in rows), ["down", "ready", "ready"], "the others still ready")
    rc, out, _ = ctl("status", "--endpoints", endpoints)
    log("\n".join("    " + l for l in out.splitlines()))
    check(rc == 1 and any(" down " in l for l in out.splitlines()), "status text shows it down")
    rc, _, _ = ctl("status", "--endpoints", "nohost")
    check_eq(rc, 2, "a bad endpoint is a usage error")

    # A daemon that answers but is not ready (an endpoint speaking as common/svc does): the
    # failing /readyz checks are the reason, and the figures are summed over their series.
    class Fake(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/readyz":
                code, body = 503, ("not ready\npostgresql ok\nkafka down\npartitions assigned (2, 1 fenced)\n"
                                   "processing paused\n")
            else:
                code, body = 200, "\n".join([
                    '# TYPE ccs_ready gauge', 'ccs_ready{service="eligibility"} 0',
                    'ccs_assigned_partitions{service="eligibility"} 2',
                    'ccs_consumer_lag{service="eligibility",topic="t",partition="0"} 5',
                    'ccs_consumer_lag{service="eligibility",topic="t",partition="1"} 7',
                    'ccs_outbox_backlog{service="eligibility"} 3',
                    'ccs_outbox_oldest_age_seconds{service="eligibility"} 42.5',
                    'ccs_dead_letters_total{service="eligibility",error_class="decode"} 2',
                    'ccs_dead_letters_total{service="eligibility",error_class="validation"} 1',
                    'ccs_messages_total{service="eligibility",result="processed"} 10',
                    'ccs_messages_total{service="eligibility",result="duplicate"} 4',
                    'ccs_transaction_seconds_bucket{service="eligibility",le="0.1"} 9', ""])
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass
    fake = http.server.HTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    fake_ep = "127.0.0.1:%d" % fake.server_address[1]
    rc, out, _ = ctl("status", "--endpoints", "%s,%d" % (fake_ep, daemons["referral"].port), "--json")
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    check_eq(rc, 1, "status with a not-ready daemon exits 1")
    check_eq(rows[0] if rows else None,
             {"endpoint": fake_ep, "service": "eligibility", "state": "not-ready",
              "reason": "kafka down; partitions assigned (2, 1 fenced); processing paused", "partitions": 2,
              "lag": 12, "outbox_backlog": 3, "outbox_oldest_age_seconds": 42, "dead_letters": 3, "processed": 10},
             "a not-ready daemon: the failing checks and the summed figures")
    check_eq([r["state"] for r in rows[1:]], ["ready"], "a bare port after it reuses its host")
    fake.shutdown()
finally:
    env.cleanup()
finish()
