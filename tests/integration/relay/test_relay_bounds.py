"""No single outbox row can block the relay (issue: an oversized dead letter jammed it).

1. A dead letter larger than dlq.max.bytes is published as a bounded record (no payload, the
   original's size, SHA-256 and a reference to dead_letter_originals, which keeps the bytes),
   and the valid input behind it, with the same key, is decided within seconds.
2. A row that Kafka refuses for good (here: larger than the producer's message.max.bytes) is
   moved to outbox_parked with the reason, counted, and the rows behind it are published.
3. An input over input.max.bytes is dead-lettered unread as an envelope error.
"""
import hashlib
import os
import random
import time
import uuid

import subprocess

import ccs_it
from ccs_it import (Env, check, check_eq, finish, log, scalar, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"

class ArgsDaemon(ccs_it.Daemon):
    """A daemon started with extra command-line arguments (kafka.* has no environment form)."""

    def __init__(self, env, service, instance, extra, args):
        super().__init__(env, service, instance, extra)
        self.args = args

    def start(self):
        e = dict(os.environ)
        e.update(self.vars)
        logf = open(os.path.join(self.env.logdir, "%s-%s.log" % (self.service, self.instance)), "a")
        self.proc = subprocess.Popen([os.path.join(ccs_it.BUILD, ccs_it.SERVICES[self.service])] + self.args,
                                     env=e, stdout=logf, stderr=subprocess.STDOUT)
        self.starts += 1
        return self


env = Env("rly")
try:
    rng = random.Random(11)
    db = env.db("referral")
    # Small bounds so that the test moves kilobytes, not megabytes.
    d = env.daemon("referral", extra={"CCS_DLQ_MAX_BYTES": "16384", "CCS_INPUT_MAX_BYTES": "200000"}).start()
    d.wait_ready()

    # --- 1. bounded dead letter, then a valid input with the same key
    big = os.urandom(60000)
    key = "ref-" + uuid.uuid4().hex[:8]
    bad_id = str(uuid.uuid4())
    env.produce_raw(IN, [(key, {"ce_id": bad_id, "ce_type": "ccs.mtp.v1.ReferralSubmitted"}, big)])
    good = referral(rng)
    t0 = time.time()
    env.submit(IN, [envelope(good, key=key)])
    ok = wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0" and
                    scalar(db, "SELECT count(*) FROM referrals") == "1", 30)
    check(ok, "the valid input behind an oversized dead letter is applied and published")
    log("figures: valid input applied and outbox empty %.1fs after submit" % (time.time() - t0))
    dl = env.tail(IN + ".dlq", idle=2, expect=1, timeout=20)
    check_eq(len(dl), 1, "one dead letter")
    if dl:
        h = dl[0]["headers"]
        check_eq(h.get("dlq_original_size"), str(len(big)), "bounded record names the original size")
        check_eq(h.get("dlq_original_sha256"), hashlib.sha256(big).hexdigest(), "and its SHA-256")
        check(h.get("dlq_original_ref", "").startswith("dead_letter_originals/"), "and where it is kept")
        check_eq(h.get("ce_id"), bad_id, "original headers kept")
    check_eq(scalar(db, "SELECT encode(sha256(payload), 'hex') FROM dead_letter_originals"),
             hashlib.sha256(big).hexdigest(), "the original bytes are kept in the database")
    check_eq(len(env.tail(OUT, idle=2, expect=1, timeout=20)), 1, "the valid input's decision is on the wire")
    d.stop()

    # --- 2. a row Kafka refuses for good is parked; the rows behind it flow
    d2 = ArgsDaemon(env, "referral", "a", {"CCS_DLQ_MAX_BYTES": "1000000", "CCS_INPUT_MAX_BYTES": "200000"},
                    ["-X", "kafka.message.max.bytes=30000"])
    env.daemons.append(d2)
    d2.start()
    d2.wait_ready()
    env.produce_raw(IN, [("k2", {"ce_id": str(uuid.uuid4()), "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
                          os.urandom(40000))])
    env.submit(IN, [envelope(referral(rng))])
    ok = wait_until(lambda: scalar(db, "SELECT count(*) FROM outbox") == "0" and
                    scalar(db, "SELECT count(*) FROM referrals") == "2", 30)
    check(ok, "a row refused for good does not block the rows behind it")
    check_eq(scalar(db, "SELECT count(*) FROM outbox_parked"), "1", "the refused row is parked")
    check(scalar(db, "SELECT reason FROM outbox_parked") != "", "with its reason")
    check_eq(d2.metric("outbox_parked_total"), 1.0, "and counted")
    check_eq(len(env.tail(OUT, idle=2, expect=2, timeout=20)), 2, "both decisions published")
    d2.stop()

    # --- 3. over input.max.bytes: an envelope error, not read
    # The same instance id each time: a static member that restarts keeps its partitions.
    d3 = env.daemon("referral", instance="a", extra={"CCS_INPUT_MAX_BYTES": "100000",
                                                    "CCS_DLQ_MAX_BYTES": "16384"}).start()
    d3.wait_ready()
    env.produce_raw(IN, [("k3", {"ce_id": str(uuid.uuid4()), "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
                          os.urandom(150000))])
    dl = env.tail(IN + ".dlq", idle=2, expect=3, timeout=30)
    k3 = [m["headers"] for m in dl if m.get("key") == "k3"]
    check_eq([h.get("dlq_error_class") for h in k3], ["envelope"], "an input over input.max.bytes is an envelope error")
    check(k3 and "input.max.bytes" in k3[0].get("dlq_error_message", ""), "naming the limit")
finally:
    env.cleanup()
finish()
