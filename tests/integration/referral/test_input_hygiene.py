"""Input hygiene (issue 7, defect 3): what the engine refuses before a handler sees it.

- ce_time is copied into every decision's header, so it must be an RFC 3339 date-time:
  "yesterday')" is an envelope error, not a header on the wire.
- A NUL byte inside a protobuf string used to cut the field silently ("Gar\\0cia" was read as
  "Gar"): it is a validation error naming the field.
Each bad input is followed by a valid one with the same key, which must be decided at once.
"""
import random
import subprocess
import time
import uuid

from ccs_it import (SRC, Env, check, check_eq, finish, log, scalar, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
TYPE = "ccs.mtp.v1.ReferralSubmitted"


def encode(text):
    out = subprocess.run(["protoc", "--encode=" + TYPE, "-I", SRC + "/proto", SRC + "/proto/ccs/mtp/v1/referral.proto"],
                         input=text.encode(), capture_output=True, check=True)
    return out.stdout


NUL_NAME = encode('''referral_id: "%s" submitted_at: "2026-11-02T17:00:00Z" referral_date: "2026-11-02"
source: REFERRAL_SOURCE_SELF requested_program: REQUESTED_PROGRAM_MTP
child { first_name: "Ana" last_name: "Gar\\000cia" birth_date: "2019-05-01" county_of_residence: "Fresno" }
''' % uuid.uuid4())

env = Env("hyg")
try:
    rng = random.Random(3)
    db = env.db("referral")
    d = env.daemon("referral").start()
    d.wait_ready()
    cases = [
        ("bad-time", {"ce_id": str(uuid.uuid4()), "ce_type": TYPE, "ce_time": "yesterday')"}, encode('referral_id: "x"'),
         "envelope", "ce_time"),
        ("nul-name", {"ce_id": str(uuid.uuid4()), "ce_type": TYPE, "ce_time": "2026-11-02T17:00:00Z"}, NUL_NAME,
         "validation", "child.last_name"),
    ]
    for key, headers, value, cls, words in cases:
        want = str(int(scalar(db, "SELECT count(*) FROM referrals")) + 1)
        env.produce_raw(IN, [(key, headers, value)])
        t0 = time.time()
        env.submit(IN, [envelope(referral(rng), key=key)])
        ok = wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == want
                        and scalar(db, "SELECT count(*) FROM outbox") == "0", 20)
        check(ok, "%s: the valid input with the same key is applied (%.1fs)" % (key, time.time() - t0))
    dl = env.tail(IN + ".dlq", idle=2, expect=2, timeout=30)
    by_key = {m.get("key"): m["headers"] for m in dl}
    for key, _, _, cls, words in cases:
        h = by_key.get(key, {})
        check_eq(h.get("dlq_error_class"), cls, "%s: dead-lettered as %s" % (key, cls))
        check(words in h.get("dlq_error_message", ""), "%s: the reason names %s (%s)" % (key, words, h.get("dlq_error_message")))
    decisions = env.tail(OUT, idle=2, expect=2, timeout=20)
    check_eq(len(decisions), 2, "only the valid inputs were decided")
    check(all(m["headers"].get("ce_time", "").endswith("Z") for m in decisions), "decisions carry RFC 3339 ce_time")
    log("figures: dead letters=%d decisions=%d" % (len(dl), len(decisions)))
finally:
    env.cleanup()
finish()
