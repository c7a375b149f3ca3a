"""referrald's two-phase batch decides exactly as one referral at a time (issue 8).

A batch reads every case its referrals may link to in one lookup and decides on that view, which
the handlers update as they go (referral_batch.h). The same inputs, with the same event ids, are
run twice: as one backlog on one partition (one batch, the view) and with batch.max=1 (one
transaction per referral, the per-message statements). The decisions must be byte-identical.
The backlog holds the cases where the view must follow earlier referrals of the same batch:

  A   new child, no CIN                       -> accepted (case A)
  B   same child by name, with CIN 1          -> linked to A by name; CIN 1 recorded on A
  C   other name, CIN 1                       -> linked to A by CIN (recorded by B, same batch)
  D   B's referral id again (new event id)    -> no effect
  E   same name, CIN 2                        -> accepted: A's CIN 1 contradicts it (case E)
  F   same name, CIN 2, school district       -> linked to E by CIN; E's school district set
  G   same name, no CIN                       -> linked to the oldest compatible: A or E by
                                                 (opened_at, case_id), both opened in one
                                                 transaction, so case_id decides
  H   an invalid referral                     -> rejected
plus 40 unrelated referrals, so the batch is a real one.
"""
import copy
import random
import subprocess
import uuid

from ccs_it import KAFKA, Env, ccsctl, check, check_eq, finish, log, scalar, wait_until
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"


def build(rng):
    base = referral(rng)
    base["child"].pop("mediCalCin", None)
    base["child"]["schoolDistrict"] = ""
    a = copy.deepcopy(base)
    b = copy.deepcopy(base)
    b["referralId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    b["child"]["mediCalCin"] = "12345678A"
    c = copy.deepcopy(b)
    c["referralId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    c["child"]["firstName"] = "Different"
    d = copy.deepcopy(b)
    e = copy.deepcopy(base)
    e["referralId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    e["child"]["mediCalCin"] = "87654321B"
    f = copy.deepcopy(e)
    f["referralId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    f["child"]["schoolDistrict"] = "Fresno Unified"
    g = copy.deepcopy(base)
    g["referralId"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    h = referral(rng)
    h["child"]["birthDate"] = "2099-01-01"
    special = [a, b, c, d, e, f, g, h]
    docs = [referral(rng) for _ in range(20)] + special + [referral(rng) for _ in range(20)]
    return [envelope(x, event_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), key="one") for x in docs]


def run(tag, docs, extra):
    env = Env(tag)
    try:
        db = env.db("referral", migrate=True)
        subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3", env.topic(IN)], check=True,
                       capture_output=True)
        env.submit(IN, docs)
        d = env.daemon("referral", extra=extra).start()
        d.wait_ready()
        ok = wait_until(lambda: scalar(db, "SELECT count(*) FROM inbox") == str(len(docs))
                        and scalar(db, "SELECT count(*) FROM outbox") == "0", 90)
        check(ok, "%s: every input applied" % tag)
        out = env.tail(OUT, idle=2, expect=len(docs) - 1, timeout=30)
        cases = scalar(db, "SELECT string_agg(case_id || ':' || coalesce(medi_cal_cin, '-') || ':' ||"
                           " coalesce(school_district, '-'), ',' ORDER BY case_id) FROM cases")
        txs = d.metric("transactions_total", 'result="commit"')
        d.stop()
        return out, cases, txs
    finally:
        env.cleanup()


rng = random.Random(20261129)
docs = build(rng)
batched, cases_b, tx_b = run("bv", docs, {})
single, cases_s, tx_s = run("bv1", docs, {"CCS_BATCH_MAX": "1"})
log("transactions: batched %s, one at a time %s" % (tx_b, tx_s))
check(tx_b is not None and tx_s is not None and tx_b < tx_s, "the first run batched (%s < %s transactions)" % (tx_b, tx_s))
check_eq(len(batched), len(docs) - 1, "one decision per input but the resubmission")


def by_cause(msgs):
    return {m["headers"].get("ccs_causation_id"): (m["headers"].get("ce_id"), m["value"]) for m in msgs}


b, s = by_cause(batched), by_cause(single)
check_eq(sorted(b), sorted(s), "the same inputs were decided")
for doc in docs:
    if b.get(doc["id"]) != s.get(doc["id"]):
        check(False, "input %s decided alike: %s vs %s" % (doc["id"], b.get(doc["id"]), s.get(doc["id"])))
check_eq(cases_b, cases_s, "the same cases, CINs and school districts")
kinds = [b.get(d["id"], (None, {}))[1] for d in docs[20:28]]
want = ["accepted", "linked", "linked", None, "accepted", "linked", "linked", "rejected"]
got = [next((k for k in ("accepted", "linked", "rejected") if k in v), None) if v else None for v in kinds]
check_eq(got, want, "A..H decided as the docstring says")
finish()
