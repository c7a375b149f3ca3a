"""Oversized (1 MiB and 10 MiB) and malformed inputs, each followed by a valid input with the
same key that must be applied within seconds (issue 7).

All three daemons run; the input topics accept records up to 16 MiB (max.message.bytes), the
dead-letter topics keep the broker's default (about 1 MiB), as the daemons create them in
production. For every case the bad record is produced, then a valid input with the same key
(so on the same partition, right behind it); the valid input must be applied within
APPLY_S seconds and the daemon's outbox must be empty within PUBLISH_S seconds (so neither
the consumer nor the relay is jammed by the bad record or by its dead letter). The bad
record must end as exactly one dead letter (or, for an oversized but well-formed input, as an
ordinary effect) and never stop anything behind it. Afterwards the pipeline invariants hold
for every daemon: inputs == effects, decision ids UUIDv5(input, kind) equal to the recorded
ones, dead letters == poison inputs, outboxes empty, stored offsets == end offsets, ready.
"""
import os
import random
import subprocess
import time

from ccs_it import BUILD, Env, ccsctl, check, finish, log, psql, scalar, wait_until
from ccs_chaos import (ELIG_OUT, EVIDENCE, REF_IN, Pipeline, figures, kafka, need_binaries)
import ccs_elig_samples as es
import ccs_samples as rs
import ccs_sched_samples as ss

APPLY_S = float(os.environ.get("CCS_CHAOS_APPLY_S", "10"))
PUBLISH_S = float(os.environ.get("CCS_CHAOS_PUBLISH_S", "15"))
MiB = 1 << 20
SERVICE_OF = {REF_IN: "referral", EVIDENCE: "eligibility", ELIG_OUT: "scheduling"}
TYPE_OF = {REF_IN: "ccs.mtp.v1.ReferralSubmitted", EVIDENCE: "ccs.mtp.v1.EligibilityEvidence",
           ELIG_OUT: "ccs.mtp.v1.EligibilityDecision"}

need_binaries()
env = Env("ppois")
rng = random.Random(8080)


def submit_big(topic, envs, headers=None):
    """ccsctl submit with a producer that takes records up to 16 MiB; -H headers replace ccsctl's."""
    args = [ccsctl(), "-b", kafka(), "-X", "message.max.bytes=16777216", "submit", "-t", env.topic(topic), "-f", "-"]
    for k, v in (headers or {}).items():
        args += ["-H", "%s=%s" % (k, v)]
    import json
    data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in envs)
    out = subprocess.run(args, input=data, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("ccsctl submit failed: %s" % out.stderr[-500:])


def raw(topic, key, headers, value):
    env.produce_raw(topic, [(key, headers, value)])


def valid_for(topic, key):
    """A valid input with this key, as an envelope."""
    if topic == REF_IN:
        return rs.envelope(rs.referral(rng, referralId=key), event_id=es.new_id(rng), key=key)
    if topic == EVIDENCE:
        return es.evidence(rng, key, es.residency("Los Angeles"), "2026-11-05T10:00:00Z")
    return ss.envelope(ss.eligibility(key, "Fresno", rng=rng), key)


def big_doc(topic, key, size):
    """A well-formed input of about `size` bytes (one long string field)."""
    e = valid_for(topic, key)
    pad = "x" * size
    if topic == REF_IN:
        e["data"]["referrerOrganization"] = pad
    elif topic == EVIDENCE:
        e["data"]["recordedBy"] = pad
    else:
        e["data"]["ruleSetVersion"] = pad
    return e


# name, topic, how: "big" (well-formed, may be applied or dead-lettered), "bigtype" (well-formed
# but a wrong ce_type: a dead letter as large as the input), "garbage", "noid", "utf8", "empty".
CASES = [("referral 1MiB", REF_IN, "big", MiB), ("referral 10MiB", REF_IN, "big", 10 * MiB),
         ("referral 1MiB wrong type", REF_IN, "bigtype", MiB), ("referral 10MiB wrong type", REF_IN, "bigtype", 10 * MiB),
         ("referral garbage", REF_IN, "garbage", 0), ("referral no ce_id", REF_IN, "noid", 0),
         ("referral bad UTF-8", REF_IN, "utf8", 0), ("referral empty value", REF_IN, "empty", 0),
         ("evidence 10MiB wrong type", EVIDENCE, "bigtype", 10 * MiB), ("evidence garbage", EVIDENCE, "garbage", 0),
         ("eligibility decision 10MiB", ELIG_OUT, "big", 10 * MiB),
         ("eligibility decision 1MiB wrong type", ELIG_OUT, "bigtype", MiB)]

try:
    big = ["max.message.bytes=16777216"]
    pipe = Pipeline(env, {"referral": 1, "eligibility": 1, "scheduling": 1},
                    topic_config={REF_IN: big, EVIDENCE: big, ELIG_OUT: big})
    pipe.start_all()
    t_all = time.time()
    pipe.submit(pipe.workload(rng, 300))
    check(pipe.settle(90, "before the bad inputs") is not None, "settled before the bad inputs")
    maybe = []  # (topic, ce_id) of well-formed oversized or empty inputs: an effect or a dead letter
    slow = []
    for name, topic, how, size in CASES:
        s = SERVICE_OF[topic]
        db = pipe.db(s)
        key = es.new_id(rng)
        bad_id = es.new_id(rng)
        t0 = time.time()
        if how in ("big", "bigtype"):
            e = big_doc(topic, key, size)
            e["id"] = bad_id
            submit_big(topic, [e], {"ce_type": "ccs.mtp.v1.NotThisType"} if how == "bigtype" else None)
            if how == "big":
                maybe.append((topic, bad_id))
            else:
                pipe.poison.append((topic, bad_id))
        else:
            hdr = {"ce_id": bad_id, "ce_type": TYPE_OF[topic], "ce_specversion": "1.0"}
            if how == "garbage":
                value = b"\xff\xfe\x00 not protobuf"
            elif how == "noid":
                del hdr["ce_id"]
                value = b"\x0a\x04abcd"
            elif how == "utf8":
                value = b"\x0a\x02\xff\xfe"  # field 1 (a string) holding invalid UTF-8
            else:
                value = b""
            raw(topic, key, hdr, value)
            if how == "empty":  # an empty value is a valid empty message: rejected, or a dead letter
                maybe.append((topic, bad_id))
            else:
                pipe.poison.append((topic, bad_id))
        produced = time.time() - t0
        good = valid_for(topic, key)
        t1 = time.time()
        env.submit(topic, [good])
        pipe.mine[topic].append(good)
        applied = wait_until(lambda: scalar(db, "SELECT count(*) FROM inbox WHERE event_id = '%s'" % good["id"]) == "1",
                             APPLY_S, interval=0.2)
        applied_s = time.time() - t1
        drained = wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0", PUBLISH_S, interval=0.2)
        drained_s = time.time() - t1
        check(bool(applied), "%s: the valid input with the same key behind it is applied within %gs (%.1fs)"
              % (name, APPLY_S, applied_s))
        check(bool(drained), "%s: %s's outbox empties within %gs (relay not jammed; %.1fs)"
              % (name, s, PUBLISH_S, drained_s))
        n = pipe.nodes[s][0]
        if not applied or not drained:
            slow.append(name)
            for r in psql(db, "SELECT id, topic, length(payload), length(headers) FROM outbox ORDER BY id LIMIT 3"):
                log("    outbox row: id %s topic %s payload %s bytes, headers %s bytes" % tuple(r))
            n.show_log(r'"level":"(warn|error|fatal)"', 6, name)
        figures("bad_input", case=name.replace(" ", "_"), size=size, produce_seconds=produced,
                applied_after_seconds=applied_s if applied else -1, outbox_empty_after_seconds=drained_s if drained else -1,
                parked=int(n.metric("outbox_parked_total") or 0), alive=int(n.alive()))
        if not n.alive():
            n.show_log(r'"level":"(warn|error|fatal)"', 10, "%s died" % name)
            n.start()
            n.wait_ready(60)
    # Well-formed oversized inputs: an effect (counted with the inputs) or one dead letter.
    for topic, cid in maybe:
        db = pipe.db(SERVICE_OF[topic])
        if scalar(db, "SELECT count(*) FROM inbox WHERE event_id = '%s'" % cid) == "1":
            pipe.mine[topic].append({"id": cid})
            log("well-formed bad %s input %s: applied (an ordinary effect)" % (topic, cid[:8]))
        else:
            pipe.poison.append((topic, cid))
            log("well-formed bad %s input %s: dead-lettered" % (topic, cid[:8]))
    took = pipe.settle(120, "after the bad inputs")
    check(took is not None, "the pipeline settles after the bad inputs")
    pipe.verify("bad_inputs", cases=len(CASES), jammed=len(slow), seconds=time.time() - t_all,
                parked=sum(int(n.metric("outbox_parked_total") or 0) for n in pipe.running()))
    for s in ("referral", "eligibility", "scheduling"):
        try:
            rows = psql(pipe.db(s), "SELECT count(*) FROM outbox_parked")
            log("%s: outbox_parked rows %s" % (s, rows[0][0]))
        except RuntimeError:
            pass
finally:
    env.cleanup()
finish()
