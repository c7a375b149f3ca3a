"""Chaos-test helpers on top of ccs_it: the whole pipeline under faults (python3 stdlib only).

- Node: a daemon instance with extra command-line settings, one-shot failpoints, SIGSTOP/SIGCONT
  and a look at its own log.
- Pipeline: referrald, eligibilityd and schedulingd (any number of instances each) on one Env,
  a mixed workload fed to all three input sides, a settle loop (stored offsets == end offsets,
  outboxes empty) and one verification of the issue-7 invariants for every daemon:
    inputs == effects (inbox and domain rows; 0 lost, none applied twice),
    every decision on the wire has id UUIDv5(causation id, kind) (0 different ids for one input),
    the decision ids on the wire equal the ones the database recorded (0 lost decisions),
    same-id re-publications counted and printed, dead letters == poison inputs,
    outbox empty, stored offsets == end offsets, every running instance ready.
- PrivateBroker: a Kafka broker of the test's own (deploy/dev/kafka.sh with its own run
  directory and ports), so broker faults never hit the shared one.
- PrivatePostgres: a throwaway cluster the test owns (initdb as the postgres user, fsync=off).

ccs_it reads its servers from module globals (KAFKA, PG_ADMIN) at call time; use_kafka() and
use_pg() point them at a private server before any Env is made.
"""
import json
import os
import pwd
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

import ccs_it
from ccs_it import (BUILD, SERVICES, SRC, Daemon, Env, ccsctl, check, check_eq, decision_id, free_port, log,
                    psql, scalar, wait_until)
import ccs_elig_samples as es
import ccs_samples as rs
import ccs_sched_samples as ss

REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
EVIDENCE, ELIG_OUT = "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1"
REQUESTS, SCHED_OUT = "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"

INPUTS = {"referral": [REF_IN], "eligibility": [REF_OUT, EVIDENCE], "scheduling": [ELIG_OUT, REQUESTS]}
OUTPUT = {"referral": REF_OUT, "eligibility": ELIG_OUT, "scheduling": SCHED_OUT}
UPSTREAM = {"eligibility": "referral", "scheduling": "eligibility"}
ALL_TOPICS = [REF_IN, REF_OUT, EVIDENCE, ELIG_OUT, REQUESTS, SCHED_OUT]
POISON_TYPE = {REF_IN: "ccs.mtp.v1.ReferralSubmitted", EVIDENCE: "ccs.mtp.v1.EligibilityEvidence"}


def kafka():
    return ccs_it.KAFKA


def use_kafka(bootstrap):
    ccs_it.KAFKA = bootstrap


def use_pg(admin_url):
    ccs_it.PG_ADMIN = admin_url


def read_topic(env, topic):
    """Every message of a topic up to its current end offsets (ccsctl tail --until-end), decoded."""
    out = subprocess.run([ccsctl(), "-b", kafka(), "-X", "fetch.message.max.bytes=16777216", "tail", "-t",
                          env.topic(topic), "--from-beginning", "--until-end", "--idle-exit", "30"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("ccsctl tail %s failed: %s" % (topic, out.stderr[-500:]))
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def metric(d, name, labels=""):
    """A daemon's metric, in either exposition: `ccs_<name>{service="<s>",<labels>}` (one name
    per concept) or the older `ccs_<service>_<name>{<labels>}`; None when absent."""
    _, body = d.get("/metrics")
    want = {'ccs_%s{service="%s"%s}' % (name, d.service, "," + labels if labels else ""),
            "ccs_%s_%s%s" % (d.service, name, "{%s}" % labels if labels else "")}
    for line in body.splitlines():
        parts = line.rsplit(" ", 1)
        if len(parts) == 2 and parts[0] in want:
            return float(parts[1])
    return None


def figures(fault, **kv):
    """One greppable line per fault: `figures[fault]: k=v ...`."""
    log("figures[%s]: %s" % (fault, " ".join("%s=%s" % (k, ("%.1f" % v) if isinstance(v, float) else v)
                                             for k, v in kv.items())))


def skip(why):
    log("skipping: " + why)
    raise SystemExit(77)


def need_binaries():
    for s in SERVICES.values():
        if not os.path.exists(os.path.join(BUILD, s)):
            skip("%s not built" % s)


# --- a daemon instance ---------------------------------------------------------------------

class Node(Daemon):
    """A daemon with `-X key=value` settings, failpoints armed for the next start only, and
    stop/continue signals."""

    def __init__(self, env, service, instance, extra, settings=None):
        Daemon.__init__(self, env, service, instance, extra)
        self.settings = dict(settings or {})
        self.armed = None
        self.logpath = os.path.join(env.logdir, "%s-%s.log" % (service, instance))

    def arm(self, failpoints):
        """CCS_FAILPOINTS for the next start only (e.g. "batch.before_commit@3")."""
        self.armed = failpoints
        return self

    def start(self):
        if getattr(self, "migrate", True) and hasattr(self.env, "migrate"):
            self.env.migrate(self.service)  # as the owner role, once (ccs_it's roles)
        env = dict(os.environ)
        env.update(self.vars)
        env.pop("CCS_FAILPOINTS", None)
        if self.armed:
            env["CCS_FAILPOINTS"] = self.armed
            self.armed = None
        args = [os.path.join(BUILD, SERVICES[self.service])]
        for k, v in self.settings.items():
            args += ["-X", "%s=%s" % (k, v)]
        logf = open(self.logpath, "a")
        logf.write('{"chaos":"start %d"}\n' % (self.starts + 1))
        logf.flush()
        self.proc = subprocess.Popen(args, env=env, stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        self.starts += 1
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def metric(self, name, labels=""):
        return metric(self, name, labels)

    def sigstop(self):
        self.proc.send_signal(signal.SIGSTOP)

    def sigcont(self):
        self.proc.send_signal(signal.SIGCONT)

    def ready(self):
        return self.alive() and self.get("/readyz")[0] == 200

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_lines(self, pattern=None, last=None):
        try:
            with open(self.logpath, errors="replace") as f:
                lines = [l.rstrip("\n") for l in f]
        except OSError:
            return []
        if pattern:
            rx = re.compile(pattern)
            lines = [l for l in lines if rx.search(l)]
        return lines[-last:] if last else lines

    def show_log(self, pattern=r'"level":"(warn|error)"', last=15, why=""):
        """Print the lines of the log that matter (warnings and errors by default)."""
        lines = self.log_lines(pattern, last)
        log("--- %s-%s log (%s%s lines)%s" % (self.service, self.instance, pattern or "all", "" if not last else
                                             ", last %d" % last, ": " + why if why else ""))
        for l in lines:
            log("    " + l[:400])


# --- the pipeline ----------------------------------------------------------------------------

class Pipeline:
    """Three daemons (instances per service as asked) on one Env, and the workload they share."""

    def __init__(self, env, instances=None, extra=None, settings=None, partitions=3, topic_config=None):
        self.env = env
        self.extra = dict(extra or {})
        self.settings = dict(settings or {})
        self.nodes = {s: [] for s in INPUTS}
        self.mine = {t: [] for t in ALL_TOPICS}  # envelopes produced per topic, in order
        self.poison = []  # (topic, ce_id)
        self.partitions = partitions
        for s in INPUTS:
            env.db(s)
        for t, conf in (topic_config or {}).items():  # topics with their own settings first
            out = subprocess.run([ccsctl(), "-b", kafka(), "topics", "create", "--partitions", str(partitions)]
                                 + sum((["--config", c] for c in conf), []) + [env.topic(t)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError("topics create %s: %s" % (t, out.stderr))
        out = subprocess.run([ccsctl(), "-b", kafka(), "topics", "create", "--partitions", str(partitions)]
                             + [env.topic(t) for t in ALL_TOPICS + [t + ".dlq" for t in ALL_TOPICS]],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("topics create: %s" % out.stderr)
        for s, n in (instances or {}).items():
            for i in range(n):
                self.node(s)

    def node(self, service, instance=None, extra=None, settings=None):
        instance = instance or "abcdefghij"[len(self.nodes[service])]
        x = {"CCS_BATCH_MAX": "200", "CCS_BACKOFF_MAX_MS": "2000", "CCS_GROUP_SESSION_TIMEOUT_MS": "10000"}
        if service == "eligibility":
            x["CCS_CLOCK_TODAY"] = "2026-11-01"
        x.update(self.extra)
        x.update(extra or {})
        st = dict(self.settings)
        st.update(settings or {})
        n = Node(self.env, service, instance, x, st)
        self.env.daemons.append(n)
        self.nodes[service].append(n)
        return n

    def all(self):
        return [n for ns in self.nodes.values() for n in ns]

    def running(self):
        return [n for n in self.all() if n.alive()]

    def db(self, service):
        return self.env.db(service)

    def start_all(self, wait=True):
        for n in self.all():
            n.start()
        if wait:
            for n in self.all():
                n.wait_ready(90)

    # --- workload ------------------------------------------------------------------------
    def workload(self, rng, n):
        """About n inputs over the three daemons' input topics, shuffled per topic family:
        referrals (7% invalid, 5% the same child again), eligibility inputs (accepted referral
        decisions with 2-4 evidence events each, evidence often before its case), eligibility
        decisions for schedulingd. Returns a list of (topic, envelope)."""
        out = []
        while len(out) < n:
            r = rng.random()
            if r < 0.45:
                if rng.random() < 0.07:
                    doc = rs.referral(rng, birthDate="2030-01-01", countyOfResidence="Nowhere")
                else:
                    doc = rs.referral(rng)
                out.append((REF_IN, rs.envelope(doc, event_id=es.new_id(rng))))
            elif r < 0.75:
                birth = "%04d-%02d-%02d" % (rng.randint(2008, 2024), rng.randint(1, 12), rng.randint(1, 28))
                county = rng.choice(sorted(es.COUNTIES))
                ref, cid = es.accepted(rng, birth, county=county)
                out.append((REF_OUT, ref))
                kinds = [es.application(received="2026-11-04"), es.residency(county),
                         rng.choice([es.medical(["G80.1"], cp=["ataxia"]), es.medical(["G80.1"])]),
                         es.financial(rng.choice([2500000, 9000000]))]
                for k in rng.sample(range(len(kinds)), rng.randint(2, len(kinds))):
                    out.append((EVIDENCE, es.evidence(rng, cid, kinds[k], "2026-11-%02dT10:00:00Z" % (3 + k))))
            else:
                case = ss.new_id(rng)
                county = rng.choice(ss.COUNTIES_WITH_MTU * 3 + ss.COUNTIES_WITHOUT_MTU)
                outcome = rng.choice(["ELIGIBILITY_OUTCOME_ELIGIBLE"] * 4 + ["ELIGIBILITY_OUTCOME_NOT_ELIGIBLE"])
                doc = ss.eligibility(case, county, outcome=outcome, rng=rng)
                out.append((ELIG_OUT, ss.envelope(doc, case)))
        return out

    def submit(self, items):
        """Produce (topic, envelope) items, one ccsctl call per topic, keeping their order."""
        by = {}
        for t, e in items:
            by.setdefault(t, []).append(e)
        for t, es_ in by.items():
            self.env.submit(t, es_)
            self.mine[t].extend(es_)

    def submit_poison(self, rng, n):
        """n undecodable records (valid CloudEvents headers, garbage value) on the two raw input
        topics: each must become exactly one dead letter."""
        for topic in (REF_IN, EVIDENCE):
            recs = []
            for i in range(n):
                cid = es.new_id(rng)
                recs.append(("p%d" % i, {"ce_id": cid, "ce_type": POISON_TYPE[topic]}, b"\xff\xfe garbage %d" % i))
                self.poison.append((topic, cid))
            self.env.produce_raw(topic, recs)

    def redeliver(self, rng, n):
        """n inputs produced again with the same ce_id (at other offsets): skipped by the inbox."""
        pool = [(t, e) for t in (REF_IN, EVIDENCE, ELIG_OUT) for e in self.mine[t]]
        items = [rng.choice(pool) for _ in range(min(n, len(pool)))]
        by = {}
        for t, e in items:
            by.setdefault(t, []).append(e)
        for t, es_ in by.items():
            self.env.submit(t, es_)
        return len(items)

    # --- settling --------------------------------------------------------------------------
    def end_offsets(self, service, topic):
        out = subprocess.run([ccsctl(), "-b", kafka(), "lag", "-g", "it-%s-%s" % (self.env.tag, service),
                              "-t", self.env.topic(topic)], capture_output=True, text=True, timeout=60)
        ends = {}
        for l in out.stdout.splitlines():
            try:
                o = json.loads(l)
            except ValueError:
                continue
            ends[int(o["partition"])] = int(o["end"])
        return ends if out.returncode == 0 and ends else None

    def stored_offsets(self, service, topic):
        return {int(p): int(o) for p, o in psql(self.db(service), "SELECT partition, next_offset FROM consumer_offsets"
                                                                    " WHERE topic = '%s'" % self.env.topic(topic))}

    def lagging(self):
        """What is not settled yet (empty list: every offset at the end, every outbox empty)."""
        behind = []
        for s, topics in INPUTS.items():
            try:
                ob = int(scalar(self.db(s), "SELECT count(*) FROM outbox"))
            except RuntimeError as e:
                return ["%s: database: %s" % (s, str(e).splitlines()[-1][:100])]
            if ob:
                behind.append("%s outbox=%d" % (s, ob))
            for t in topics:
                ends = self.end_offsets(s, t)
                if ends is None:
                    behind.append("%s: no end offsets for %s" % (s, t))
                    continue
                got = self.stored_offsets(s, t)
                lag = sum(e - got.get(p, 0) for p, e in ends.items() if e > 0)
                if lag:
                    behind.append("%s %s lag=%d" % (s, t.split(".")[1] + "." + t.split(".")[2], lag))
        return behind

    def settle(self, timeout=240, what="settle"):
        """Wait until every stored offset equals its end offset and every outbox is empty (twice,
        1 s apart); returns seconds taken or None (and prints what was still behind)."""
        t0 = time.time()
        last = None
        while time.time() - t0 < timeout:
            last = self.lagging()
            if not last:
                time.sleep(1)
                last = self.lagging()
                if not last:
                    return time.time() - t0
            time.sleep(1)
        log("%s: still behind after %ds: %s" % (what, timeout, "; ".join(last or [])))
        return None

    def wait_all_ready(self, timeout=60):
        ok = wait_until(lambda: all(n.ready() for n in self.running()), timeout, interval=0.5)
        for n in self.running():
            if not n.ready():
                st, body = n.get("/readyz")
                log("%s-%s not ready: %s %s" % (n.service, n.instance, st, body.replace("\n", "; ")))
                n.show_log()
        return bool(ok)

    # --- verification ----------------------------------------------------------------------
    def verify(self, fault, extra_inputs=None, **more):
        """Check every invariant of issue 7 for the three daemons; print the figures line for
        `fault`; returns a dict of figures. extra_inputs: topic -> envelopes produced outside
        submit() (they count as inputs too)."""
        mine = {t: list(v) for t, v in self.mine.items()}
        for t, v in (extra_inputs or {}).items():
            mine.setdefault(t, []).extend(v)
        poison_ids = {cid for _, cid in self.poison}
        wire = {}
        for s in INPUTS:  # the settle loop already waited: read until the topic is quiet
            wire[s] = read_topic(self.env, OUTPUT[s])
        fig = {}
        lost_total = diff_total = dup_total = 0
        for s, topics in INPUTS.items():
            db = self.db(s)
            # Inputs: what we produced on the service's input topics plus what its upstream
            # daemon published there (distinct ce_ids, poison excluded).
            inputs = set()
            for t in topics:
                inputs |= {e["id"] for e in mine.get(t, [])}
            if s in UPSTREAM:
                inputs |= {m["headers"].get("ce_id") for m in wire[UPSTREAM[s]]}
            inputs -= poison_ids
            inbox = psql(db, "SELECT event_id FROM inbox WHERE topic IN (%s)"
                             % ",".join("'%s'" % self.env.topic(t) for t in topics))
            # A dead-lettered input may be recorded in the inbox too (so that a redelivery is
            # not dead-lettered twice): its effect is the dead letter, counted below.
            effects = {r[0] for r in inbox} - poison_ids
            if s == "referral":
                rows = psql(db, "SELECT event_id FROM referrals")
            elif s == "eligibility":
                rows = psql(db, "SELECT event_id FROM referral_decisions UNION ALL SELECT event_id FROM evidence")
            else:
                rows = psql(db, "SELECT event_id FROM inputs")
            domain = [r[0] for r in rows]
            lost = inputs - effects
            check(not lost and effects == inputs, "%s: every input has its effect (inputs %d, inbox %d, lost %d,"
                  " unexpected %d%s)" % (s, len(inputs), len(effects), len(lost), len(effects - inputs),
                                         (", e.g. lost %s" % sorted(lost)[:2] if lost else "") +
                                         (", e.g. unexpected %s" % sorted(effects - inputs)[:2] if effects - inputs else "")))
            check(len(domain) == len(set(domain)) == len(inputs) and set(domain) == inputs,
                  "%s: exactly one domain row per input (%d rows, %d distinct)" % (s, len(domain), len(set(domain))))
            # Decisions: id = UUIDv5(causation, kind), one id per (input, kind), wire == database.
            foreign = {e["id"] for e in mine.get(OUTPUT[s], [])} | poison_ids
            own = [m for m in wire[s] if m["headers"].get("ce_id") not in foreign]
            ids = [m["headers"].get("ce_id") for m in own]
            per_input = {}
            bad = 0
            for m in own:
                h = m["headers"]
                if h.get("ce_id") != decision_id(h.get("ccs_causation_id"), h.get("ccs_decision_kind")):
                    bad += 1
                per_input.setdefault((h.get("ccs_causation_id"), h.get("ccs_decision_kind")), set()).add(h.get("ce_id"))
            different = sum(1 for v in per_input.values() if len(v) > 1)
            if s == "referral":
                dbids = {r[0] for r in psql(db, "SELECT decision_id FROM referrals")}
            elif s == "eligibility":
                dbids = {r[0] for r in psql(db, "SELECT decision_id FROM decisions")}
            else:
                dbids = {r[0] for r in psql(db, "SELECT unnest(decision_ids) FROM inputs")}
            dups = len(ids) - len(set(ids))
            check_eq(bad, 0, "%s: every decision on the wire has id UUIDv5(causation, kind)" % s)
            check_eq(different, 0, "%s: different decision ids for one input" % s)
            lost_dec = dbids - set(ids)
            check(not lost_dec and set(ids) == dbids, "%s: decision ids on the wire equal the recorded ones"
                  " (recorded %d, on the wire %d distinct, lost %d, unexpected %d)"
                  % (s, len(dbids), len(set(ids)), len(lost_dec), len(set(ids) - dbids)))
            lost_total += len(lost) + len(lost_dec)
            diff_total += different + bad
            dup_total += dups
            fig["%s_inputs" % s] = len(inputs)
            fig["%s_effects" % s] = len(effects)
            fig["%s_decisions" % s] = len(set(ids))
            fig["%s_wire" % s] = len(ids)
            fig["%s_wire_dups" % s] = dups
        # Dead letters: one per poison input (by original topic/partition/offset), none else.
        dlq = []
        poisoned = sorted({t for t, _ in self.poison})
        for t in poisoned:
            dlq += read_topic(self.env, t + ".dlq")
        got = {(m["headers"].get("dlq_original_topic"), m["headers"].get("dlq_original_partition"),
                m["headers"].get("dlq_original_offset")) for m in dlq}
        check_eq(len(got), len(self.poison), "one dead letter per poison input")
        for t in (REF_IN, REF_OUT, EVIDENCE, ELIG_OUT, REQUESTS):
            if t not in poisoned:
                ends = self.end_offsets("referral", t + ".dlq") or {}
                check_eq(sum(ends.values()), 0, "no dead letters from %s" % t)
        # Outbox empty, stored offsets == end offsets, everyone ready.
        behind = self.lagging()
        check(not behind, "outboxes empty and stored offsets == end offsets%s" % (": " + "; ".join(behind) if behind else ""))
        check(self.wait_all_ready(30), "every running instance ready (%d)" % len(self.running()))
        fig.update(lost=lost_total, different_ids=diff_total, wire_dups=dup_total, dead_letters=len(dlq))
        fig.update(more)
        figures(fault, **fig)
        return fig


def scheduling_invariants(pipe):
    """Nobody double-booked; every MTP-eligible child has one evaluation booked or waitlisted."""
    db = pipe.db("scheduling")
    overlaps = scalar(db, "SELECT count(*) FROM appointments a JOIN appointments b ON a.appointment_id < b.appointment_id"
                          " AND a.status = 'booked' AND b.status = 'booked' AND a.day = b.day"
                          " AND a.start_min < b.end_min AND b.start_min < a.end_min"
                          " AND (a.therapist_id = b.therapist_id OR a.case_id = b.case_id"
                          "  OR (a.mtu_id = b.mtu_id AND a.room_id = b.room_id))")
    check_eq(overlaps, "0", "nobody double-booked (therapist, room or child)")
    eligible = int(scalar(db, "SELECT count(*) FROM children WHERE mtp_eligible"))
    one_each = int(scalar(db, "SELECT count(*) FROM children c WHERE c.mtp_eligible AND"
                              " (SELECT count(*) FROM appointments a WHERE a.case_id = c.case_id AND a.kind = 'evaluation'"
                              "   AND a.status = 'booked')"
                              " + (SELECT count(*) FROM waitlist w WHERE w.case_id = c.case_id AND w.kind = 'evaluation'"
                              "   AND w.status = 'waiting') = 1"))
    check_eq(one_each, eligible, "every eligible child has exactly one evaluation booked or waitlisted")


# --- private servers -------------------------------------------------------------------------

class PrivateBroker:
    """A real single-node Kafka broker of the test's own, through deploy/dev/kafka.sh with a
    separate run directory and ports (CCS_RUN_DIR, CCS_KAFKA_PORT, CCS_KAFKA_CONTROLLER_PORT)."""

    def __init__(self):
        self.port, self.cport = free_port(), free_port()
        self.dir = tempfile.mkdtemp(prefix="ccs-chaos-kafka-")
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.env = dict(os.environ, CCS_RUN_DIR=self.dir, CCS_KAFKA_PORT=str(self.port),
                        CCS_KAFKA_CONTROLLER_PORT=str(self.cport), CCS_KAFKA_BOOTSTRAP=self.bootstrap,
                        CCS_KAFKA_HEAP="384m")
        env_mock = os.path.join(BUILD, "tools/mockbroker/ccs-mockbroker")
        if os.path.exists(env_mock):
            self.env["CCS_MOCKBROKER"] = env_mock
        self.env.pop("CCS_KAFKA_MOCK", None)
        self.sh = os.path.join(SRC, "deploy/dev/kafka.sh")

    def available(self):
        java = shutil.which("java") is not None
        jars = os.path.isdir(os.path.join(SRC, "deploy/kafka/lib"))
        return java and jars

    def up(self):
        t0 = time.time()
        out = subprocess.run([self.sh, "up"], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("private broker did not start: %s" % out.stderr[-2000:])
        st = subprocess.run([self.sh, "status"], env=self.env, capture_output=True, text=True).stdout
        if "mock" in st:
            raise RuntimeError("kafka.sh started the mock cluster, not a real broker: %s" % st)
        return time.time() - t0

    def pid(self):
        try:
            with open(os.path.join(self.dir, "kafka", "kafka.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def kill9(self):
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def down(self):
        subprocess.run([self.sh, "down"], env=self.env, capture_output=True)

    def cleanup(self):
        self.down()
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free port, owned by the test (trust auth, fsync=off),
    run as the postgres user since initdb refuses root."""

    def __init__(self):
        self.port = free_port()
        self.bin = None
        for v in ("17", "16", "15", "14", "13"):
            b = "/usr/lib/postgresql/%s/bin" % v
            if os.path.exists(os.path.join(b, "initdb")):
                self.bin = b
                break
        self.dir = tempfile.mkdtemp(prefix="ccs-chaos-pg-")
        self.data = os.path.join(self.dir, "data")
        self.user = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
                self.user = "postgres"
                shutil.chown(self.dir, "postgres")
            except (KeyError, LookupError):
                pass
        self.url = "postgresql://postgres@127.0.0.1:%d/postgres" % self.port

    def _run(self, args, check_rc=True, timeout=60):
        cmd = (["runuser", "-u", self.user, "--"] if self.user else []) + args
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check_rc and out.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (" ".join(args[:2]), out.stdout[-1000:], out.stderr[-1000:]))
        return out

    def available(self):
        return self.bin is not None and (os.geteuid() != 0 or self.user is not None)

    def init(self):
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                   "--no-sync", "-E", "UTF8"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                    "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\nmax_connections = 60\n"
                    "shared_buffers = 64MB\nlogging_collector = off\n" % (self.port, self.dir))
        return self

    def ctl(self, *args, timeout=60):
        return self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", os.path.join(self.dir, "pg.log"),
                          "-w", "-t", str(timeout)] + list(args), timeout=timeout + 10)

    def start(self):
        self.ctl("start")

    def restart_immediate(self):
        self.ctl("restart", "-m", "immediate")

    def stop_immediate(self):
        self.ctl("stop", "-m", "immediate")

    def cleanup(self):
        if self.bin and os.path.exists(self.data):
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "stop", "-m", "immediate"],
                      check_rc=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class Killer:
    """kill -9 a random running instance of the pipeline and start it again at once."""

    def __init__(self, pipe, rng):
        self.pipe, self.rng, self.done, self.per = pipe, rng, 0, {}

    def kill_one(self, service=None):
        cands = [n for n in self.pipe.all() if n.alive() and (service is None or n.service == service)]
        if not cands:
            return None
        n = self.rng.choice(cands)
        n.kill9()
        n.start()
        self.done += 1
        self.per[n.service] = self.per.get(n.service, 0) + 1
        return n
