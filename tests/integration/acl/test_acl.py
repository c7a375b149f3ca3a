"""Each office reads only its own decisions, enforced by Kafka (deploy/kafka/acl/).

A private single-node broker with SASL/SCRAM-SHA-512 and KRaft's StandardAuthorizer
(allow.everyone.if.no.acl.found=false, sasl_broker.py); deploy/kafka/acl/apply.sh creates the
users, every topic (with this test's topic prefix) and the ACLs through the AdminClient.

apply.sh runs twice: with one right too many (the read it allows works), then with the shipped
definitions and --prune (nothing created again, that right gone). Then the rights, which need
no data:
  - an office reads its own stream and gets an authorization error for another office's, for
    the whole decided topic and for its county's IEP stream; it cannot write its own stream;
  - a regional office reads its region's stream, not an independent county's;
  - a county's IEP principal reads its county's scheduling stream and no other county's;
  - the integration bus reads every topic and writes the external inputs, not a decision topic;
  - a daemon cannot write what it does not own (referrald -> the eligibility decided topic,
    eligibilityd -> the scheduling decided topic); a wrong password is refused;
  - consumer groups: an office may use office-<office>.* but not another office's group.
Then the three daemons as their own principals (topics.create=false, groups ccs-<service>): a
referral for Los Angeles (independent) and one for Imperial (dependent, Southern California
region) flow through referrald and eligibilityd; the bus sees their decisions on
ccs.eligibility.decided.v1, schedulingd consumes that topic to its end, each office stream holds
exactly its county's decisions, and nothing was dead-lettered or refused.
"""
import json
import os
import random
import subprocess
import sys
import time

import ccs_it
from ccs_it import BUILD, SRC, Env, ccsctl, check, check_eq, finish, log, psql, wait_until
from ccs_chaos import Node, use_kafka
from ccs_samples import envelope, referral

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sasl_broker import SaslBroker, java_ok  # noqa: E402

REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
ELIG_OUT, SCHED_OUT = "ccs.eligibility.decided.v1", "ccs.scheduling.decided.v1"
LA, REGION = ELIG_OUT + ".office.los-angeles", ELIG_OUT + ".office.region-southern-california"
SD = ELIG_OUT + ".office.san-diego"
APPLY = os.path.join(SRC, "deploy/kafka/acl/apply.sh")

ok, why = java_ok()
if not ok:
    log("skipping: " + why)
    sys.exit(77)
for s in ("services/referral/ccs-referrald", "services/eligibility/ccs-eligibilityd",
          "services/scheduling/ccs-schedulingd", "tools/ccsctl/ccsctl"):
    if not os.path.exists(os.path.join(BUILD, s)):
        log("skipping: %s not built" % s)
        sys.exit(77)

broker = SaslBroker()
env = None
passwords = {}


def auth_error(out):
    return "authorization failed" in out.stderr.lower() or "authorization_failed" in out.stderr.lower()


def as_user(user, password=None):
    return broker.client_props(user, password if password is not None else passwords[user])


def tail(user, topic, group=None, password=None):
    """ccsctl tail as `user` to the end of the topic; (CompletedProcess, decoded messages)."""
    args = [ccsctl(), "-b", broker.bootstrap] + as_user(user, password) + ["tail", "-t", env.topic(topic)]
    if group:
        # Subscribing waits for an assignment: read for a few idle seconds instead of --until-end.
        args += ["-g", group, "--from-beginning", "--idle-exit", "4"]
    else:
        args += ["--from-beginning", "--until-end", "--idle-exit", "10"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=90)
    msgs = [json.loads(l) for l in out.stdout.splitlines() if l.strip()] if out.returncode == 0 else []
    return out, msgs


def submit(user, topic, docs):
    data = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs)
    return subprocess.run([ccsctl(), "-b", broker.bootstrap] + as_user(user)
                          + ["-X", "message.timeout.ms=15000", "submit", "-t", env.topic(topic), "-f", "-"],
                          input=data, capture_output=True, text=True, timeout=90)


def can_read(user, topic, what):
    out, _ = tail(user, topic)
    return check(out.returncode == 0 and not auth_error(out),
                 "%s: %s reads %s (rc %s %s)" % (what, user, topic, out.returncode, out.stderr.strip()[-200:]))


def refused_read(user, topic, what):
    out, _ = tail(user, topic)
    return check(out.returncode != 0 and auth_error(out),
                 "%s: %s reading %s gets an authorization error (rc %s: %s)"
                 % (what, user, topic, out.returncode, out.stderr.strip()[-200:]))


def refused_write(user, topic, docs, what):
    out = submit(user, topic, docs)
    return check(out.returncode != 0 and auth_error(out),
                 "%s: %s writing %s gets an authorization error (rc %s: %s)"
                 % (what, user, topic, out.returncode, out.stderr.strip()[-200:]))


try:
    t0 = time.time()
    secs = broker.start()
    log("SASL broker up on %s in %.1f s" % (broker.bootstrap, secs))
    use_kafka(broker.bootstrap)
    env = Env("acl")
    pwfile = os.path.join(broker.dir, "kafka-users")

    # --- apply.sh -------------------------------------------------------------------------
    # First with one right too many (Los Angeles reading San Diego's stream): the read works,
    # so the refusal after the second run comes from the ACLs, not from a missing topic.
    def apply(*extra):
        t1 = time.time()
        out = subprocess.run([APPLY, "-b", broker.bootstrap, "-c", broker.admin_config, "-p", pwfile,
                              "--topic-prefix", env.prefix, "--partitions", "2"] + list(extra),
                             capture_output=True, text=True, timeout=300)
        log(out.stdout + out.stderr)
        check(out.returncode == 0, "apply.sh %s: done in %.1f s" % (" ".join(extra), time.time() - t1))
        return out
    extra_acl = os.path.join(broker.dir, "extra.acl")
    with open(os.path.join(SRC, "deploy/kafka/acl/ccs.acl")) as f, open(extra_acl, "w") as g:
        g.write(f.read() + "-  User:office-los-angeles  TOPIC  %s  LITERAL  READ,DESCRIBE\n" % SD)
    if apply("--acl", extra_acl).returncode != 0:
        raise SystemExit(1)
    with open(pwfile) as f:
        passwords = dict(l.split(None, 1) for l in f.read().splitlines() if l.strip())
    passwords = {k: v.strip() for k, v in passwords.items()}
    check(os.stat(pwfile).st_mode & 0o077 == 0, "the passwords file is private (0600)")
    can_read("office-los-angeles", SD, "a right given by the definitions")
    out = apply("--prune")
    check("topics: 0 created" in out.stdout and "prune: 2 bindings removed" in out.stdout,
          "applied again: no topic created, the 2 bindings no longer defined pruned")
    plan = subprocess.run([APPLY, "--plan", "--topic-prefix", env.prefix], capture_output=True, text=True).stdout
    want_topics = {l.split("\t")[1] for l in plan.splitlines() if l.startswith("topic\t")}
    listed = subprocess.run([ccsctl(), "-b", broker.bootstrap] + as_user("admin", broker.admin_password)
                            + ["topics", "list"], capture_output=True, text=True).stdout
    have = {l.split()[0] for l in listed.splitlines() if l.strip()}
    check_eq(want_topics - have, set(), "every topic of the definitions exists (%d)" % len(want_topics))
    check(env.topic(LA) in have and env.topic(REGION) in have and env.topic(SCHED_OUT + ".county.imperial") in have,
          "office and county streams created from the county table")

    # --- rights, before any data ---------------------------------------------------------
    # apply.sh returns once the broker shows every binding; a refusal proves something only
    # when the same broker already grants, so a grant is seen first.
    t2 = time.time()
    check(wait_until(lambda: tail("ccs-bus", ELIG_OUT)[0].returncode == 0, 30, 0.5),
          "the ACLs are in force (%.1f s after apply.sh returned)" % (time.time() - t2))
    can_read("office-los-angeles", LA, "own office stream")
    refused_read("office-los-angeles", SD, "another office's stream")
    refused_read("office-los-angeles", REGION, "a regional office's stream")
    refused_read("office-los-angeles", ELIG_OUT, "the whole decided topic")
    refused_read("office-los-angeles", SCHED_OUT + ".county.los-angeles", "its county's IEP stream (another principal)")
    refused_read("office-los-angeles", REF_OUT, "the referral decisions")
    refused_write("office-los-angeles", LA, [{}], "an office only reads")
    can_read("office-region-southern-california", REGION, "a region's own stream")
    refused_read("office-region-southern-california", LA, "a region and an independent county")
    can_read("county-imperial", SCHED_OUT + ".county.imperial", "a county's IEP stream")
    refused_read("county-imperial", SCHED_OUT + ".county.los-angeles", "another county's IEP stream")
    refused_read("county-imperial", REGION, "IEP coordination and eligibility decisions")
    for t in (ELIG_OUT, LA, REGION, REF_IN, SCHED_OUT + ".county.imperial", REF_IN + ".dlq"):
        can_read("ccs-bus", t, "the bus reads everything")
    refused_write("ccs-bus", ELIG_OUT, [{}], "the bus writes only external inputs")
    refused_write("ccs-referrald", ELIG_OUT, [{}], "a daemon writes only its own topics")
    refused_write("ccs-eligibilityd", SCHED_OUT, [{}], "a daemon writes only its own topics")
    refused_write("ccs-eligibilityd", REF_IN, [{}], "a daemon does not write its input")
    refused_read("ccs-referrald", ELIG_OUT, "a daemon reads only its inputs")
    out, _ = tail("office-los-angeles", LA, password="wrong")
    check(out.returncode != 0 and "authentication" in out.stderr.lower(),
          "a wrong password is refused (rc %s: %s)" % (out.returncode, out.stderr.strip()[-200:]))
    out, _ = tail("office-los-angeles", LA, group="office-los-angeles.worklist")
    check(out.returncode == 0 and not auth_error(out),
          "an office consumes in its own group office-los-angeles.worklist (rc %s: %s)"
          % (out.returncode, out.stderr.strip()[-200:]))
    out, _ = tail("office-los-angeles", LA, group="office-san-diego")
    check(auth_error(out) or "GROUP_AUTHORIZATION" in out.stderr,
          "another office's group is refused (rc %s: %s)" % (out.returncode, out.stderr.strip()[-200:]))
    log("rights checked in %.1f s" % (time.time() - t0))

    # --- the daemons as their principals -------------------------------------------------
    daemons = {}
    for service, user in (("referral", "ccs-referrald"), ("eligibility", "ccs-eligibilityd"),
                          ("scheduling", "ccs-schedulingd")):
        settings = {"kafka.security.protocol": "SASL_PLAINTEXT", "kafka.sasl.mechanisms": "SCRAM-SHA-512",
                    "kafka.sasl.username": user, "kafka.sasl.password": passwords[user],
                    "topics.create": "false", "group.id": "ccs-%s" % service}
        d = Node(env, service, "a", {"CCS_STREAMS_ENABLED": "true"}, settings)
        env.daemons.append(d)
        daemons[service] = d.start()
    for service, d in daemons.items():
        try:
            d.wait_ready(90)
            check(True, "%s ready as its principal with topics.create=false" % service)
        except RuntimeError as e:
            check(False, "%s ready as its principal: %s" % (service, e))

    rng = random.Random(11)
    docs = [envelope(referral(rng, countyOfResidence="Los Angeles")),
            envelope(referral(rng, countyOfResidence="Imperial"))]
    out = submit("ccs-bus", REF_IN, docs)
    check(out.returncode == 0, "the bus submits referrals (%s)" % out.stderr.strip()[-200:])

    def decided():
        _, msgs = tail("ccs-bus", ELIG_OUT)
        got = {(m.get("value") or {}).get("county") for m in msgs}
        return msgs if {"Los Angeles", "Imperial"} <= got else None
    wait_until(decided, 90, 1)
    # Every decision of the two referrals is out once eligibilityd's outbox is empty; then the
    # decided topic is complete (its streams are written in the same transactions).
    edb = env.db("eligibility")
    check(wait_until(lambda: psql(edb, "SELECT count(*) FROM outbox")[0][0] == "0", 60),
          "eligibilityd's outbox drained")
    all_msgs = tail("ccs-bus", ELIG_OUT)[1]
    # Consumers de-duplicate on ce_id (a decision may be published again after a relay retry).
    county_of = {m["headers"].get("ce_id"): (m.get("value") or {}).get("county") for m in all_msgs}
    log("decided: %d records, %d decisions: %s" % (len(all_msgs), len(county_of), sorted(
        "%s %s" % (c, m["headers"].get("ce_type", "")) for m, c in
        ((m, (m.get("value") or {}).get("county")) for m in all_msgs))))
    check_eq(set(county_of.values()), {"Los Angeles", "Imperial"},
             "the bus reads both counties' decisions on %s" % ELIG_OUT)

    # schedulingd, as its principal, consumes the whole decided topic in its group.
    ends = {}
    for m in all_msgs:
        ends[int(m["partition"])] = max(ends.get(int(m["partition"]), 0), int(m["offset"]) + 1)
    sdb = env.db("scheduling")

    def sched_caught_up():
        rows = psql(sdb, "SELECT partition, next_offset FROM consumer_offsets WHERE topic = '%s'"
                    % env.topic(ELIG_OUT))
        got = {int(p): int(o) for p, o in rows}
        return all(got.get(p, -1) >= o for p, o in ends.items())
    check(wait_until(sched_caught_up, 60), "schedulingd read %s to its end as ccs-schedulingd" % ELIG_OUT)

    # --- the office streams' contents ----------------------------------------------------
    for user, topic, county in (("office-los-angeles", LA, "Los Angeles"),
                                ("office-region-southern-california", REGION, "Imperial")):
        want = {i for i, c in county_of.items() if c == county}

        def stream():
            out, msgs = tail(user, topic)
            ids = {m["headers"].get("ce_id") for m in msgs}
            return (ids, msgs) if ids >= want else None
        ids, msgs = wait_until(stream, 30, 1) or (set(), [])
        check_eq(ids, want, "%s read by %s holds exactly %s's decisions (ce_ids)" % (topic, user, county))
        by_id = {m["headers"].get("ce_id"): m for m in all_msgs}
        for m in msgs:
            if "value" in m:  # ccsctl decodes the stream as the decided topic's type
                same = by_id.get(m["headers"].get("ce_id"), {})
                check(same.get("value") == m["value"], "%s carries decision %s unchanged"
                      % (topic, m["headers"].get("ce_id")))
            else:
                log("note: ccsctl does not decode %s (%s)" % (topic, m.get("value_error")))
    _, sd = tail("ccs-bus", SD)
    check_eq(len(sd), 0, "another office's stream stays empty")

    # Nothing was refused on the way: no dead letters, no authorization errors in the logs.
    for t in (REF_IN + ".dlq", REF_OUT + ".dlq"):
        _, dl = tail("ccs-bus", t)
        check_eq(len(dl), 0, "no dead letters on %s" % t)
    for service, d in daemons.items():
        with open(d.logpath, errors="replace") as f:
            text = f.read().lower()
        check("authorization" not in text, "%s logged no authorization error" % service)
    log("test took %.1f s" % (time.time() - t0))
except SystemExit:
    raise
except Exception as e:  # report and clean up; the failure is recorded
    import traceback
    traceback.print_exc()
    check(False, "unexpected error: %s" % e)
finally:
    if env:
        env.cleanup()
    if ccs_it.failures:
        log(broker.log_tail(2000))
    broker.cleanup()
finish()
