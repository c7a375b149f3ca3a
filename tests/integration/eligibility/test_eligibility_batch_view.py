"""eligibilityd's two-phase referral batch decides exactly as one referral decision at a time.

A referral batch locks and reads every case its decisions are about in one statement (opening
the accepted ones, reading the evidence they held) and decides on that view, which the handlers
keep current. The same inputs, with the same event ids, are run twice: the referral decisions as
one backlog on one partition (one batch, the view) and with CCS_BATCH_MAX=1 (one transaction per
input, the per-message statements). Decisions, cases and referral records must be byte-identical.

  before the backlog   C opened; evidence held for A and B (their cases are not open yet)
  the backlog          A accepted (folds its held evidence)
                       A linked, adds a line, school district Fresno (A has none of its own)
                       A linked, adds nothing, school district Clovis (recorded; newest district)
                       A linked, adds a line (decided on both links' lines and Clovis)
                       A accepted again under a new event id (case exists: no decision)
                       B linked before B is open (recorded), then B accepted (held evidence),
                       then B linked adding a line (B's lines include the first link's)
                       C linked, adds a line (C open before the batch)
                       a rejected decision, plus 30 unrelated accepted cases around them
  after the backlog    evidence for A, B and C (decided on the cases the backlog left)
"""
import copy
import random
import subprocess

from ccs_it import KAFKA, Env, ccsctl, check, check_eq, finish, log, scalar, wait_until
from ccs_elig_samples import (DECIDED, EVIDENCE, REFERRALS, accepted, complete_file, evidence, financial, linked,
                              medical, new_id, rejected)

CP = medical(["G80.1"], cp=["rigidityOrSpasticity"])
TODAY = "2026-11-01"  # before every due date: no timer fires


def one(doc):
    return dict(doc, key="one")


def build(rng):
    a_ref, a = accepted(rng, "2019-04-04", school_district="")
    b_ref, b = accepted(rng, "2018-02-02", school_district="")
    c_ref, c = accepted(rng, "2017-03-03")
    before = complete_file(rng, a, CP) + complete_file(rng, b, medical(["G80.1"]))[:2] + complete_file(rng, c, CP)
    a_again = copy.deepcopy(a_ref)
    a_again["id"] = new_id(rng)
    special = [
        a_ref,
        linked(rng, a, lines=("SERVICE_LINE_DIAGNOSTIC",), school_district="Fresno Unified"),
        linked(rng, a, school_district="Clovis Unified"),
        linked(rng, a, lines=("SERVICE_LINE_CCS_TREATMENT",), decided_at="2026-11-04T10:00:00Z"),
        a_again,
        linked(rng, b, lines=("SERVICE_LINE_DIAGNOSTIC",), school_district="Sanger Unified"),
        b_ref,
        linked(rng, b, lines=("SERVICE_LINE_CCS_TREATMENT",), decided_at="2026-11-04T10:00:00Z"),
        linked(rng, c, lines=("SERVICE_LINE_DIAGNOSTIC",), codes=("G80.1",)),
        rejected(rng),
    ]
    others = [accepted(rng, "2016-0%d-1%d" % (1 + i % 9, i % 10))[0] for i in range(30)]
    backlog = [one(d) for d in others[:15] + special + others[15:]]
    after = [evidence(rng, a, financial(3000000), "2026-11-09T10:00:00Z"),
             evidence(rng, b, medical(["G80.1"]), "2026-11-09T10:00:00Z"),
             evidence(rng, c, financial(3500000), "2026-11-09T10:00:00Z")]
    return c_ref, [one(d) for d in before], backlog, [one(d) for d in after]


def applied(db, n):
    return lambda: scalar(db, "SELECT count(*) FROM inbox") == str(n) and scalar(db, "SELECT count(*) FROM outbox") == "0"


def run(tag, inputs, extra):
    c_ref, before, backlog, after = inputs
    env = Env(tag)
    try:
        db = env.db("eligibility")
        for t in (REFERRALS, EVIDENCE):
            subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3", env.topic(t)], check=True,
                           capture_output=True)
        settings = dict(extra, CCS_CLOCK_TODAY=TODAY)
        d = env.daemon("eligibility", extra=settings).start()
        d.wait_ready()
        env.submit(REFERRALS, [c_ref])
        check(wait_until(applied(db, 1), 60), "%s: C opened" % tag)
        env.submit(EVIDENCE, before)
        n = 1 + len(before)
        check(wait_until(applied(db, n), 60), "%s: evidence before the cases stored" % tag)
        check_eq(scalar(db, "SELECT count(*) FROM evidence WHERE NOT case_known"), "5", "%s: A's and B's held" % tag)
        d.stop()
        # the backlog while no instance runs: one partition, taken as one batch
        env.submit(REFERRALS, backlog)
        d = env.daemon("eligibility", extra=settings).start()
        d.wait_ready()
        n += len(backlog)
        check(wait_until(applied(db, n), 90), "%s: the backlog applied" % tag)
        txs = d.metric("transactions_total", 'result="commit"')
        env.submit(EVIDENCE, after)
        n += len(after)
        check(wait_until(applied(db, n), 60), "%s: the evidence after applied" % tag)
        out = env.tail(DECIDED, idle=2)
        cases = scalar(db, "SELECT string_agg(case_id || ':' || requested_lines || ':' || school_district || ':'"
                           " || opened_by_event, ',' ORDER BY case_id) FROM cases")
        refs = scalar(db, "SELECT string_agg(event_id || ':' || outcome || ':' || coalesce(case_id::text, '-') || ':'"
                          " || opened_case || ':' || lines || ':' || referred_codes::text || ':' || school_district,"
                          " ',' ORDER BY event_id) FROM referral_decisions")
        rows = scalar(db, "SELECT string_agg(decision_id || ':' || case_id || ':' || outcome || ':' || lines || ':'"
                          " || signature, ',' ORDER BY decision_id) FROM decisions")
        due = scalar(db, "SELECT string_agg(kind || ':' || subject || ':' || due_date, ',' ORDER BY 1) FROM due_work")
        wl = scalar(db, "SELECT string_agg(case_id || ':' || kind || ':' || since || ':' || coalesce(due_date::text,"
                        " '-') || ':' || decision_id, ',' ORDER BY 1) FROM worklist")
        d.stop()
        return out, (cases, refs, rows, due, wl), txs
    finally:
        env.cleanup()


rng = random.Random(20261129)
inputs = build(rng)
batched, db_b, tx_b = run("ebv", inputs, {})
single, db_s, tx_s = run("ebv1", inputs, {"CCS_BATCH_MAX": "1"})
backlog = inputs[2]
log("backlog transactions: batched %s, one at a time %s" % (tx_b, tx_s))
check(tx_b is not None and tx_s is not None and tx_b < tx_s,
      "the first run batched the backlog (%s < %s transactions)" % (tx_b, tx_s))


def by_cause(msgs):
    return {m["headers"].get("ccs_causation_id"): (m["headers"].get("ce_id"), m["value"]) for m in msgs}


b, s = by_cause(batched), by_cause(single)
check_eq(len(batched), len(b), "one decision per input at most")
check_eq(sorted(b), sorted(s), "the same inputs were decided")
for doc in inputs[1] + backlog + inputs[3]:
    if b.get(doc["id"]) != s.get(doc["id"]):
        check(False, "input %s decided alike: %s vs %s" % (doc["id"], b.get(doc["id"]), s.get(doc["id"])))
for name, x, y in zip(("cases", "referral records", "decisions", "due work", "worklist"), db_b, db_s):
    check_eq(x, y, "the same %s" % name)
special = backlog[15:25]
decided = [d["id"] in b for d in special]
check_eq(decided, [True, True, False, True, False, False, True, True, True, False],
         "the backlog's special inputs decided as the docstring says")
check(all(d["id"] in b for d in inputs[3]), "the evidence after the backlog decided")
finish()
