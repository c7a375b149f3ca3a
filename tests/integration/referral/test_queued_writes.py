"""Queued writes (ccs_tx_write, issue 8): a write that fails late is charged to its own message.

Writes whose result a handler does not read (referrald's advisory locks and case insert) are
queued in the pipeline and checked only at the next read or the commit, possibly while a later
message of the batch runs. Here a trigger on `cases` refuses one child's case (an unexpected
data error, as a corrupt row or a new constraint would give), in the middle of a backlog of one
partition. Expected: the batch runs again with a savepoint per message, only that referral is a
dead letter, its reason is the trigger's message (not "current transaction is aborted", which
every statement after the failure would report), and every other referral is decided once.
"""
import random
import subprocess

from ccs_it import KAFKA, Env, ccsctl, check, check_eq, finish, log, psql, scalar, wait_until
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
POISON = "Queuedwrite"

env = Env("qw")
try:
    rng = random.Random(8)
    db = env.db("referral", migrate=True)
    psql(db, """
CREATE FUNCTION refuse_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_name = '%s' THEN RAISE EXCEPTION 'case refused by the test trigger'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_case BEFORE INSERT ON cases FOR EACH ROW EXECUTE FUNCTION refuse_case();
""" % POISON)
    docs = []
    for i in range(40):
        r = referral(rng)
        if i == 17:
            r["child"]["lastName"] = POISON
        docs.append(envelope(r, key="one-partition"))
    subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3", env.topic(IN)], check=True)
    env.submit(IN, docs)  # before the daemon starts: one backlog, one partition, one batch
    d = env.daemon("referral").start()
    d.wait_ready()
    ok = wait_until(lambda: scalar(db, "SELECT count(*) FROM referrals") == "39"
                    and scalar(db, "SELECT count(*) FROM outbox") == "0", 60)
    check(ok, "the 39 other referrals are recorded and published")
    dl = env.tail(IN + ".dlq", idle=2, expect=1, timeout=30)
    check_eq(len(dl), 1, "one dead letter")
    h = dl[0]["headers"] if dl else {}
    check_eq(h.get("ce_id"), docs[17]["id"], "the dead letter is the refused child's referral")
    check("case refused by the test trigger" in h.get("dlq_error_message", ""),
          "its reason is the failing write's own error (%s)" % h.get("dlq_error_message"))
    decisions = env.tail(OUT, idle=2, expect=39, timeout=30)
    check_eq(len(decisions), 39, "39 decisions")
    check_eq(len(set(m["headers"].get("ccs_causation_id") for m in decisions)), 39, "one per referral")
    retried = d.metric("batches_retried_total")
    check(retried is not None and retried >= 1, "the batch ran again with savepoints (%s)" % retried)
    log("figures: decisions=%d dead letters=%d batches retried=%s" % (len(decisions), len(dl), retried))
finally:
    env.cleanup()
finish()
