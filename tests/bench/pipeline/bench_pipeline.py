"""Benchmark: every daemon and the whole pipeline against the project's own baseline. Prints figures,
asserts no timing (issue 8, "the engine at the limit").

The baseline is tests/bench/pipe (ccs-bench-pipe): consume -> one-row transaction (inbox row keyed
by the event id + an outbox row) -> produce, in two modes, per-event (BEGIN/INSERT/INSERT/COMMIT
per event, 4 round trips and one commit flush per input) and batched (libpq pipeline mode, up to
100 ready events per transaction, one round trip per batch). It runs on the same servers in the
same run, interleaved with the daemons, so each daemon figure is also a ratio.

Sections (CCS_BENCH_ONLY=a,b,... runs a subset; default all; CCS_BENCH_SUBJECTS=referral,eligibility,
scheduling limits the daemons of the backlog and count sections, the pipe baseline always runs):

  backlog   CCS_BENCH_ROUNDS (default 2) rounds of [pipe per-event, pipe batched, ccs-referrald] on
            the same CCS_BENCH_N (default 10000) pre-produced referrals (a fresh topic per round,
            3 partitions; ~5% re-referrals, ~5% invalid), then one backlog each of eligibilityd
            (accepted referral decisions + three evidence events per case) and schedulingd
            (eligibility decisions), CCS_BENCH_N inputs each.
  count     round trips and statements per input: every subject again on CCS_BENCH_COUNT_N
            (default 2000) inputs, its PostgreSQL connection through a counting proxy (below).
  steady    latency: for each rate in CCS_BENCH_RATES (default 100,500,1000 inputs/s),
            CCS_BENCH_SECONDS (default 8) of referrals paced through `ccsctl submit` to the pipe
            (both modes) and to a running ccs-referrald.
  pipeline  the three daemons together: CCS_BENCH_PIPELINE_N (default 3000) referrals with their
            evidence (application, residency, medical review) pre-produced, all three started at
            once, time until schedulingd has consumed every eligibility decision; then for each
            rate in CCS_BENCH_PIPELINE_RATES (default 100,500) referrals/s for CCS_BENCH_SECONDS,
            each referral's evidence 1 s after it, latency submit -> eligibility decision.
  scale     ccs-referrald on CCS_BENCH_N referrals on six partitions: one instance, then two.

How each figure is measured:
  inputs/s          outputs between the first and the last output's Kafka CreateTime (decisions
                    for daemons, stamped by the relay; the pipe stamps its outputs at produce
                    time), (outputs - 1) / span: the rate while working, without start-up and
                    group join. "start->done" is from process start to caught up (all offsets
                    stored in PostgreSQL, outbox empty) for comparison.
  ratios            daemon inputs/s divided by the same round's pipe inputs/s in each mode.
  PG CPU/input      utime+stime of the PostgreSQL backend processes serving the subject
                    (/proc/<pid>/stat; for daemons the backends of their database not run by psql,
                    read before the daemon stops; the pipe reads its own backend before exiting).
                    Excludes the WAL writer, checkpointer and the Kafka broker.
  WAL/input         bytes of the WAL records of the subject's database between two
                    pg_current_wal_flush_lsn() readings, from pg_walinspect (records touching a
                    relation of the database plus the commit records of those transactions), so
                    other sessions writing at the same time are not counted. A physical
                    replication slot (created at the start, advanced after each reading, dropped
                    at the end) keeps the shared server from recycling that WAL in between. The
                    whole cluster's LSN difference is shown too (it includes everyone's writes).
  table activity    pg_stat_user_tables of the daemon's database after the run, per input:
                    sequential scans (and rows they read), index scans, rows inserted/updated/
                    deleted: where the statements go.
  round trips, statements per input
                    pg_stat_statements is available but not in shared_preload_libraries (enabling
                    it needs a restart of the shared server), so the count pass puts a TCP proxy
                    between the subject and PostgreSQL that parses the protocol: statements =
                    CommandComplete messages from the server (BEGIN, COMMIT, SAVEPOINT, RELEASE
                    each count), round trips = direction changes (client sent, then the server
                    answered), syncs = ReadyForQuery, parses = Parse messages (a statement
                    prepared or sent with parameters). Counted after authentication; includes the
                    daemon's start-up checks and idle relay scans during the pass.
  CPU/input, RSS    the subject's own process: utime+stime and VmHWM from /proc (the pipe reports
                    getrusage()).
  latency           output's Kafka CreateTime minus the input's (both stamped on this machine),
                    nearest-rank percentiles of the paced inputs only.
Also printed: PostgreSQL's fsync, synchronous_commit, wal_sync_method, full_page_writes and
commit_delay, the load average, the daemons' batch.max and relay.interval.ms.

Fails (exit 1) only on functional errors: a pipe or daemon that fails or dies, missing outputs,
a run that does not catch up. Exit 77 when the servers or binaries are not there.
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

from ccs_it import (BUILD, KAFKA, PG_ADMIN, SERVICES, Env, ccsctl, check, check_eq, decision_id, finish, log,
                    psql, scalar, wait_until)
import ccs_elig_samples as es
import ccs_sched_samples as ss
from ccs_samples import COUNTIES, envelope, referral

N = int(os.environ.get("CCS_BENCH_N", "10000"))
ROUNDS = int(os.environ.get("CCS_BENCH_ROUNDS", "2"))
COUNT_N = int(os.environ.get("CCS_BENCH_COUNT_N", "2000"))
RATES = [int(r) for r in os.environ.get("CCS_BENCH_RATES", "100,500,1000").split(",") if r.strip()]
SECONDS = float(os.environ.get("CCS_BENCH_SECONDS", "8"))
PIPE_N = int(os.environ.get("CCS_BENCH_PIPELINE_N", "3000"))
PIPE_RATES = [int(r) for r in os.environ.get("CCS_BENCH_PIPELINE_RATES", "100,500").split(",") if r.strip()]
ONLY = set(s for s in os.environ.get("CCS_BENCH_ONLY", "backlog,count,steady,pipeline,scale").split(",") if s)
# daemons the backlog and count sections run (the pipe baseline always runs)
SUBJECTS = set(s for s in os.environ.get("CCS_BENCH_SUBJECTS", "referral,eligibility,scheduling").split(",") if s)
PARTITIONS = 3
PIPE_BIN = os.path.join(BUILD, "tests/bench/pipe/ccs-bench-pipe")

REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
EVIDENCE, ELIG_OUT = "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1"
SCHED_REQ, SCHED_OUT = "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"
IO = {  # service -> (input topics, output topic)
    "referral": ([REF_IN], REF_OUT),
    "eligibility": ([REF_OUT, EVIDENCE], ELIG_OUT),
    "scheduling": ([ELIG_OUT, SCHED_REQ], SCHED_OUT),
}
SETTINGS = {k: os.environ.get(k, v) for k, v in (("CCS_RELAY_INTERVAL_MS", "200"), ("CCS_STATS_INTERVAL_MS", "5000"))}

for path in [PIPE_BIN] + [os.path.join(BUILD, p) for p in SERVICES.values()]:
    if not os.path.exists(path):
        log("%s not built: skipping" % path)
        sys.exit(77)

results = []  # (section, subject, {figure: value}) for the summary table


# ---- small helpers -------------------------------------------------------------------------
def pct(vals, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not vals:
        return None
    k = max(0, min(len(vals) - 1, int(p / 100.0 * len(vals) + 0.5) - 1))
    return vals[k]


def lat_row(vals):
    v = sorted(vals)
    return [pct(v, 50), pct(v, 90), pct(v, 99), v[-1] if v else None]


def fmt(v, unit="", digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.*f" % (digits, v) if abs(v) < 1000 else "%.0f" % v) + unit
    return "%d%s" % (v, unit)


def table(title, rows):
    log("")
    log(title)
    w = max(len(r[0]) for r in rows)
    for name, val in rows:
        log("  %-*s  %s" % (w, name, val))


def proc_figures(pid):
    """(VmHWM KiB, utime+stime seconds) of a live process, Nones when gone."""
    try:
        hwm = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return hwm, proc_cpu(pid)
    except (OSError, ValueError):
        return None, None


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def db_name(url):
    return urllib.parse.urlsplit(url).path.lstrip("/")


def backend_cpu(dbname):
    """{backend pid: CPU seconds} of the client backends of a database, psql sessions excluded."""
    rows = psql(PG_ADMIN, "SELECT pid FROM pg_stat_activity WHERE datname = '%s' AND backend_type = 'client backend'"
                          " AND coalesce(application_name, '') NOT LIKE 'psql%%'" % dbname)
    out = {}
    for (pid,) in rows:
        c = proc_cpu(int(pid))
        if c is not None:
            out[int(pid)] = c
    return out


def cpu_delta(before, after):
    return sum(v - before.get(p, 0.0) for p, v in after.items())


def lsn():
    return scalar(PG_ADMIN, "SELECT pg_current_wal_flush_lsn()")


def wal_by_db(lsn0, lsn1, dbnames):
    """{database: WAL bytes} between two LSNs from pg_walinspect, and the cluster's whole difference.

    A record belongs to a database when it touches one of its relations ("rel spc/db/rel"), or is
    the commit record of a transaction that did. None when the WAL is gone (recycled) or the
    extension cannot be created."""
    total = int(scalar(PG_ADMIN, "SELECT pg_wal_lsn_diff('%s', '%s')::bigint" % (lsn1, lsn0)))
    try:
        oids = dict(psql(WAL_DB, "SELECT oid, datname FROM pg_database WHERE datname IN (%s)"
                                 % ",".join("'%s'" % d for d in dbnames)))
        rows = psql(WAL_DB, """
            WITH r AS MATERIALIZED (
              SELECT xid::text AS xid, record_length,
                     substring(block_ref from 'rel [0-9]+/([0-9]+)/')::oid AS db
              FROM pg_get_wal_records_info('%s', '%s')),
            x AS (SELECT DISTINCT xid, db FROM r WHERE db IS NOT NULL AND xid <> '0')
            SELECT coalesce(r.db, x.db), sum(r.record_length)::bigint
            FROM r LEFT JOIN x ON r.db IS NULL AND r.xid = x.xid GROUP BY 1""" % (lsn0, lsn1))
    except RuntimeError as e:
        log("note: pg_walinspect figures unavailable (%s)" % str(e).splitlines()[-1][:200])
        return {d: None for d in dbnames}, total
    per = {oid: int(b) for oid, b in rows if oid}
    if WAL_SLOT:  # done with this range: let the server recycle it
        try:
            psql(PG_ADMIN, "SELECT pg_replication_slot_advance('%s', '%s')" % (WAL_SLOT, lsn1))
        except RuntimeError:
            pass
    return {name: per.get(oid, 0) for oid, name in oids.items()}, total


def wal_hold(tag):
    """A physical replication slot that keeps the WAL of the run until pg_walinspect has read it:
    the shared server's checkpoints otherwise recycle segments mid-run (max_wal_size 1GB, other
    sessions writing). Advanced after each reading, dropped at the end. None when not allowed."""
    name = "ccs_bench_%s" % tag
    try:
        psql(PG_ADMIN, "SELECT pg_create_physical_replication_slot('%s', true)" % name)
    except RuntimeError as e:
        log("note: no replication slot to hold the WAL (%s): per-database WAL may be unavailable"
            % str(e).strip().splitlines()[-1][:200])
        return None
    return name


def wal_drop(name):
    if name:
        try:
            psql(PG_ADMIN, "SELECT pg_drop_replication_slot('%s')" % name)
        except RuntimeError:
            pass


def table_stats(db):
    """{table: (seq scans, rows read by seq scans, idx scans, inserted, updated, deleted, index
    entries read)} of a
    database's own tables, to show where the statements go."""
    rows = psql(db, "SELECT t.relname, t.seq_scan, t.seq_tup_read, coalesce(t.idx_scan, 0), t.n_tup_ins, t.n_tup_upd,"
                    " t.n_tup_del, coalesce((SELECT sum(i.idx_tup_read) FROM pg_stat_user_indexes i"
                    "  WHERE i.relid = t.relid), 0) FROM pg_stat_user_tables t")
    return {r[0]: tuple(int(x) for x in r[1:]) for r in rows}


def table_rows(before, after, n):
    """One line: per table, per input, the counters that moved (seq scans flagged)."""
    out = []
    for t in sorted(after):
        a, b = after[t], before.get(t, (0,) * 7)
        d = [x - y for x, y in zip(a, b)]
        if all(v / float(n) < 0.005 for i, v in enumerate(d) if i not in (1, 6)):
            continue  # start-up reads (schema checks) and idle tables
        parts = []
        if d[0] / float(n) >= 0.005:
            parts.append("seq %.2f (%.0f rows)" % (d[0] / n, d[1] / n))
        if d[2] / float(n) >= 0.005:
            # index entries read per index scan: dead entries a scan walks over count too
            parts.append("idx %.2f (%.1f entries/scan)" % (d[2] / n, d[6] / float(d[2])))
        for k, v in (("ins", d[3]), ("upd", d[4]), ("del", d[5])):
            if v / float(n) >= 0.005:
                parts.append("%s %.2f" % (k, v / n))
        out.append("%s: %s" % (t, " ".join(parts)))
    return "; ".join(out)


def create_topics(names, partitions=PARTITIONS):
    out = subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", str(partitions)] + names,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("ccsctl topics create failed: %s" % out.stderr)


def metrics(d):
    _, body = d.get("/metrics")
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def parse_series(key):
    """'name{a="1",b="2"}' -> (name, {a: 1, b: 2})."""
    name, _, rest = key.partition("{")
    labels = {}
    for part in rest.rstrip("}").split(","):
        k, eq, v = part.partition("=")
        if eq:
            labels[k.strip()] = v.strip().strip('"')
    return name, labels


def msum(ms, service, base, **labels):
    """Sum of a daemon metric over a list of /metrics dicts (or {after: ..., before: ...} deltas),
    whichever naming the build has: ccs_<service>_<base>{...} or ccs_<base>{service="<service>",...}."""
    total = 0.0
    for m in ms:
        for k, v in m.items():
            name, lab = parse_series(k)
            if not (name == "ccs_%s_%s" % (service, base) or (name == "ccs_" + base and lab.get("service") == service)):
                continue
            if all(lab.get(lk) == lv for lk, lv in labels.items()):
                total += v
    return total


def mdelta(after, before, service, base, **labels):
    return msum([after], service, base, **labels) - msum([before], service, base, **labels)


# ---- referral samples ------------------------------------------------------------------------
def make_referrals(rng, n, seen):
    """n envelopes: ~5% re-referrals of a child in `seen` (same CIN), ~5% invalid, rest new."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05 and seen:
            doc = referral(rng, mediCalCin=rng.choice(seen))
        elif r < 0.10:
            doc = referral(rng, birthDate="2030-01-01", countyOfResidence="Nowhere")
        else:
            doc = referral(rng)
            seen.append(doc["child"]["mediCalCin"])
        out.append(envelope(doc))
    return out


def make_eligibility_inputs(rng, n):
    """{topic: envelopes}: n/4 accepted referral decisions, each followed by its case's three
    evidence events (application, residency, a cerebral palsy medical review)."""
    cp = es.medical(["G80.1"], cp=["rigidityOrSpasticity"])
    refs, ev = [], []
    for _ in range(max(1, n // 4)):
        county = rng.choice(list(es.COUNTIES))
        env_, case_id = es.accepted(rng, "2019-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)), county=county)
        refs.append(env_)
        ev += es.complete_file(rng, case_id, cp, county=county)
    return {REF_OUT: refs, EVIDENCE: ev}


def make_scheduling_inputs(rng, n):
    """{topic: envelopes}: n eligibility decisions, 85% MTP eligible (most in counties with an MTU)."""
    out = []
    for _ in range(n):
        case_id = ss.new_id(rng)
        county = rng.choice(ss.COUNTIES_WITH_MTU * 3 + ss.COUNTIES_WITHOUT_MTU)
        outcome = "ELIGIBILITY_OUTCOME_ELIGIBLE" if rng.random() < 0.85 else "ELIGIBILITY_OUTCOME_NOT_ELIGIBLE"
        out.append(ss.envelope(ss.eligibility(case_id, county, outcome=outcome, rng=rng), case_id))
    return {ELIG_OUT: out}


def submit_all(env, by_topic):
    for topic, docs in by_topic.items():
        env.submit(topic, docs)


# ---- the counting proxy ----------------------------------------------------------------------
class CountingProxy:
    """A TCP proxy in front of PostgreSQL that counts protocol messages (see the module doc).

    SSL and GSS encryption requests are refused by the proxy itself ('N'), so the session is in
    clear text and can be parsed; libpq then continues unencrypted, as with sslmode=prefer."""

    def __init__(self, host, port):
        self.target = (host, port)
        self.lock = threading.Lock()
        self.c = {"statements": 0, "round_trips": 0, "syncs": 0, "parses": 0, "queries": 0, "executes": 0,
                  "connections": 0}
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stop_ev = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self):
        with self.lock:
            return dict(self.c)

    def _accept(self):
        while not self.stop_ev.is_set():
            try:
                cs, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(cs,), daemon=True).start()

    def _add(self, k, n=1):
        with self.lock:
            self.c[k] += n

    @staticmethod
    def _recv_exact(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _session(self, cs):
        try:
            ss_ = socket.create_connection(self.target)
        except OSError:
            cs.close()
            return
        for s in (cs, ss_):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state = {"client_spoke": False, "ready": False}
        try:
            while True:  # startup: SSLRequest / GSSENCRequest answered here, then StartupMessage
                n = struct.unpack("!I", self._recv_exact(cs, 4))[0]
                body = self._recv_exact(cs, n - 4)
                code = struct.unpack("!I", body[:4])[0]
                if code in (80877103, 80877104):
                    cs.sendall(b"N")
                    continue
                ss_.sendall(struct.pack("!I", n) + body)
                break
        except (EOFError, OSError):
            cs.close()
            ss_.close()
            return
        self._add("connections")
        t = threading.Thread(target=self._pump, args=(ss_, cs, False, state), daemon=True)
        t.start()
        self._pump(cs, ss_, True, state)
        t.join(5)

    def _pump(self, src, dst, from_client, state):
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if from_client:
                    state["client_spoke"] = True
                elif state["client_spoke"] and state["ready"]:
                    state["client_spoke"] = False
                    self._add("round_trips")
                buf += data
                counts = {}
                while len(buf) >= 5:
                    typ = buf[0:1]
                    n = struct.unpack("!I", buf[1:5])[0]
                    if len(buf) < 1 + n:
                        break
                    buf = buf[1 + n:]
                    counts[typ] = counts.get(typ, 0) + 1
                if state["ready"]:
                    if from_client:
                        for k, typ in (("parses", b"P"), ("queries", b"Q"), ("executes", b"E")):
                            if counts.get(typ):
                                self._add(k, counts[typ])
                    else:
                        if counts.get(b"C"):
                            self._add("statements", counts[b"C"])
                        if counts.get(b"Z"):
                            self._add("syncs", counts[b"Z"])
                elif not from_client and counts.get(b"Z"):
                    state["ready"] = True  # authentication done: count from here
                    state["client_spoke"] = False
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def url(self, url):
        """url with host:port replaced by the proxy (user and password kept)."""
        u = urllib.parse.urlsplit(url)
        cred = u.netloc.rsplit("@", 1)[0] + "@" if "@" in u.netloc else ""
        q = u.query + ("&" if u.query else "") + "sslmode=disable"
        return urllib.parse.urlunsplit((u.scheme, "%s127.0.0.1:%d" % (cred, self.port), u.path, q, u.fragment))

    def close(self):
        self.stop_ev.set()
        self.sock.close()


def pg_target():
    u = urllib.parse.urlsplit(PG_ADMIN)
    return u.hostname or "127.0.0.1", u.port or 5432


# ---- the baseline pipe -----------------------------------------------------------------------
def pipe_start(mode, in_topic, n, tag, pg_url=None):
    """Start ccs-bench-pipe on `in_topic` (its output topic is created here); returns the process."""
    out_topic = in_topic + ".pipe-%s-%s" % (mode, tag)
    create_topics([out_topic])
    prefix = "p_%s_%s" % (mode.replace("-", "_"), tag.replace("-", "_").replace(".", "_"))
    args = [PIPE_BIN, "--mode", mode, "-b", KAFKA, "-t", in_topic, "-o", out_topic,
            "-g", "bench-pipe-%s-%s-%d" % (mode, tag, random.randint(0, 1 << 30)),
            "-d", pg_url or PIPE_DB, "-T", prefix, "-n", str(n), "--timeout-s", "900"]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pipe_finish(p, what):
    out, err = p.communicate(timeout=1200)
    fig = {}
    for line in out.splitlines():
        if line.startswith("PIPE "):
            fig = dict(kv.split("=", 1) for kv in line.split()[1:])
    if not check(p.returncode == 0 and fig, "%s: pipe finished (exit %s)" % (what, p.returncode)):
        log(err[-2000:])
    return {k: (v if k == "mode" else float(v)) for k, v in fig.items()}


def pipe_backlog(mode, in_topic, n, tag):
    """One pipe run over a pre-produced topic; figures like daemon_backlog()'s."""
    l0 = lsn()
    p = pipe_start(mode, in_topic, n, tag)
    f = pipe_finish(p, "backlog %s %s" % (mode, tag))
    l1 = lsn()
    wal, wal_all = wal_by_db(l0, l1, [db_name(PIPE_DB)])
    if not f:
        return None
    return {"inputs": n, "inputs_s": f["inputs_per_s"], "start_done_s": f["start_to_done_s"],
            "tx": f["transactions"], "cpu_us": 1e6 * f["cpu_s"] / n, "rss_mib": f["maxrss_kib"] / 1024.0,
            "pg_cpu_us": 1e6 * f["pg_backend_cpu_s"] / n if f["pg_backend_cpu_s"] >= 0 else None,
            "wal_b": wal[db_name(PIPE_DB)] / n if wal[db_name(PIPE_DB)] is not None else None,
            "wal_all_b": wal_all / n}


# ---- daemons ---------------------------------------------------------------------------------
def start_daemons(env, service, instances=1, extra=None, pg_url=None):
    ds = []
    for i in range(instances):
        x = dict(SETTINGS)
        x.update(extra or {})
        if pg_url:
            x["CCS_PG_URL"] = pg_url
        ds.append(env.daemon(service, instance="abcdefgh"[i], extra=x))
    for d in ds:
        d.start()
    return ds


def offsets_done(db):
    try:
        return int(scalar(db, "SELECT COALESCE(sum(greatest(next_offset, 0)), 0) FROM consumer_offsets") or 0)
    except RuntimeError:
        return 0


def caught_up(db, total):
    try:
        return offsets_done(db) >= total and int(scalar(db, "SELECT count(*) FROM outbox") or 0) == 0
    except RuntimeError:
        return False


def out_span(env, topic, expect):
    """(outputs, first-to-last span in s) of an output topic read whole."""
    msgs = env.tail(topic, idle=3, expect=expect, timeout=240)
    ts = sorted(int(m["timestamp"]) for m in msgs)
    return len(msgs), ((ts[-1] - ts[0]) / 1000.0 if len(ts) > 1 else None), msgs


def daemon_backlog(env, service, by_topic, instances=1, partitions=PARTITIONS, what=None):
    """Pre-produce `by_topic`, start the daemon(s), wait until caught up; returns figures."""
    what = what or service
    ins, out = IO[service]
    create_topics([env.topic(t) for t in ins + [out]], partitions)
    submit_all(env, by_topic)
    total = sum(len(v) for v in by_topic.values())
    db = env.db(service, migrate=True)
    l0 = lsn()
    t0 = time.time()
    ds = start_daemons(env, service, instances, {"CCS_TOPICS_PARTITIONS": str(partitions)})
    ok = wait_until(lambda: any(d.proc.poll() is not None for d in ds) or caught_up(db, total), 900, 0.2)
    t_done = time.time()
    alive = all(d.proc.poll() is None for d in ds)
    check(bool(ok) and alive, "%s backlog: %d inputs, daemon(s) caught up and alive" % (what, total))
    ms = [metrics(d) for d in ds]
    procs = [proc_figures(d.proc.pid) for d in ds]
    pg_cpu = cpu_delta({}, backend_cpu(db_name(db)))
    for d in ds:
        check_eq(d.stop(), 0, "%s: daemon drains and exits 0" % what)
    time.sleep(0.7)  # the statistics collector's last flush (PGSTAT_MIN_INTERVAL 1 s) after the exit
    tables = table_rows({}, table_stats(db), total)
    l1 = lsn()
    n_out, span, _ = out_span(env, out, None)
    wal, wal_all = wal_by_db(l0, l1, [db_name(db)])
    tx = msum(ms, service, "transactions_total", result="commit")
    bsum, bcnt = msum(ms, service, "batch_size_sum"), msum(ms, service, "batch_size_count")
    trans = msum(ms, service, "transient_errors_total")
    cpu = sum(c for _, c in procs if c is not None)
    return {"inputs": total, "outputs": n_out,
            "inputs_s": (total - 1) / span if span else None,  # inputs processed over the output span
            "start_done_s": t_done - t0, "tx": tx, "batch": bsum / bcnt if bcnt else None,
            "cpu_us": 1e6 * cpu / total, "rss_mib": max((h or 0) for h, _ in procs) / 1024.0,
            "pg_cpu_us": 1e6 * pg_cpu / total, "wal_b": wal[db_name(db)] / total if wal[db_name(db)] is not None else None,
            "wal_all_b": wal_all / total, "transient": trans, "tables": tables}


def backlog_rows(f, base=None):
    rows = [("inputs/s (first to last output)", "%s  (%d inputs, %d outputs; start->caught up %.1f s)"
             % (fmt(f["inputs_s"]), f["inputs"], f.get("outputs", f["inputs"]), f["start_done_s"]))]
    if base:
        rows.append(("ratio to pipe per-event / batched", "%s / %s" % (
            fmt(f["inputs_s"] / base["per-event"]["inputs_s"], "x", 2) if base.get("per-event") else "-",
            fmt(f["inputs_s"] / base["batched"]["inputs_s"], "x", 2) if base.get("batched") else "-")))
    rows += [("transactions", "%d%s" % (f["tx"], "  (mean batch %s)" % fmt(f["batch"]) if f.get("batch") else "")),
             ("CPU per input (own process)", fmt(f["cpu_us"], " us")),
             ("PostgreSQL backend CPU per input", fmt(f["pg_cpu_us"], " us")),
             ("WAL per input (own database / cluster)", "%s / %s" % (fmt(f["wal_b"], " B", 0), fmt(f["wal_all_b"], " B", 0))),
             ("peak RSS", fmt(f["rss_mib"], " MiB"))]
    if f.get("tables"):
        rows.append(("table activity per input", f["tables"]))
    if "transient" in f:
        rows.append(("transient errors", "%d%s" % (f["transient"], "" if not f["transient"] else
                                                   "  (recoveries included: not representative)")))
    return rows


# ---- sections --------------------------------------------------------------------------------
def section_backlog():
    rng = random.Random(8008)
    referrals = make_referrals(rng, N, [])
    per_round = []
    for rnd in range(1, ROUNDS + 1):
        env = Env("bnch")
        envs.append(env)
        create_topics([env.topic(REF_IN)])
        t = time.time()
        env.submit(REF_IN, referrals)
        log("round %d: produced %d referrals in %.1fs; load average %.2f" % (rnd, N, time.time() - t, os.getloadavg()[0]))
        base = {}
        for mode in ("per-event", "batched"):
            base[mode] = pipe_backlog(mode, env.topic(REF_IN), N, "r%d" % rnd)
        # the referrals are already on the topic: the daemon reads the same backlog the pipes read
        f = None
        if "referral" in SUBJECTS:
            f = daemon_backlog_existing(env, "referral", N, "referrald round %d" % rnd)
        for mode in ("per-event", "batched"):
            if base[mode]:
                table("round %d: pipe %s on %d referrals" % (rnd, mode, N), backlog_rows(base[mode]))
        if f:
            table("round %d: ccs-referrald on the same %d referrals" % (rnd, N), backlog_rows(f, base))
        per_round.append((base, f))
    for mode in ("per-event", "batched"):
        results.append(("backlog", "pipe " + mode, [b[mode] for b, _ in per_round if b.get(mode)]))
    results.append(("backlog", "referrald", [f for _, f in per_round if f], [b for b, _ in per_round]))

    # eligibilityd and schedulingd, each alone on a backlog of its own inputs
    for service, make in (("eligibility", make_eligibility_inputs), ("scheduling", make_scheduling_inputs)):
        if service not in SUBJECTS:
            continue
        env = Env("bnch")
        envs.append(env)
        f = daemon_backlog(env, service, make(random.Random(99), N), what=service + "d")
        table("ccs-%sd alone on a backlog of its inputs" % service, backlog_rows(f, per_round[-1][0]))
        results.append(("backlog", service + "d", [f], [per_round[-1][0]]))


def daemon_backlog_existing(env, service, total, what):
    """daemon_backlog() for inputs already on the topic."""
    ins, out = IO[service]
    create_topics([env.topic(out)])
    db = env.db(service, migrate=True)
    l0 = lsn()
    t0 = time.time()
    ds = start_daemons(env, service)
    ok = wait_until(lambda: any(d.proc.poll() is not None for d in ds) or caught_up(db, total), 900, 0.2)
    t_done = time.time()
    check(bool(ok) and all(d.proc.poll() is None for d in ds), "%s: caught up and alive" % what)
    ms = [metrics(d) for d in ds]
    procs = [proc_figures(d.proc.pid) for d in ds]
    pg_cpu = cpu_delta({}, backend_cpu(db_name(db)))
    for d in ds:
        check_eq(d.stop(), 0, "%s: daemon drains and exits 0" % what)
    time.sleep(0.7)  # the statistics collector's last flush (PGSTAT_MIN_INTERVAL 1 s) after the exit
    tables = table_rows({}, table_stats(db), total)
    l1 = lsn()
    n_out, span, _ = out_span(env, out, total)
    check_eq(n_out, total, "%s: one decision per referral" % what)
    wal, wal_all = wal_by_db(l0, l1, [db_name(db)])
    tx = msum(ms, service, "transactions_total", result="commit")
    bsum, bcnt = msum(ms, service, "batch_size_sum"), msum(ms, service, "batch_size_count")
    cpu = sum(c for _, c in procs if c is not None)
    return {"inputs": total, "outputs": n_out, "inputs_s": (total - 1) / span if span else None,
            "start_done_s": t_done - t0, "tx": tx, "batch": bsum / bcnt if bcnt else None,
            "cpu_us": 1e6 * cpu / total, "rss_mib": max((h or 0) for h, _ in procs) / 1024.0,
            "pg_cpu_us": 1e6 * pg_cpu / total,
            "wal_b": wal[db_name(db)] / total if wal[db_name(db)] is not None else None,
            "wal_all_b": wal_all / total, "transient": msum(ms, service, "transient_errors_total"),
            "tables": tables}


def section_count():
    """Round trips and statements per input through the counting proxy."""
    proxy = CountingProxy(*pg_target())
    rows = []
    rng = random.Random(77)
    env = Env("bcnt")
    envs.append(env)
    create_topics([env.topic(REF_IN)])
    refs = make_referrals(rng, COUNT_N, [])
    env.submit(REF_IN, refs)
    for mode in ("per-event", "batched"):
        c0 = proxy.snapshot()
        f = pipe_finish(pipe_start(mode, env.topic(REF_IN), COUNT_N, "cnt", proxy.url(PIPE_DB)), "count " + mode)
        c1 = proxy.snapshot()
        rows.append(("pipe " + mode, COUNT_N, c0, c1, f.get("transactions")))
    inputs = {"referral": None, "eligibility": make_eligibility_inputs(rng, COUNT_N),
              "scheduling": make_scheduling_inputs(rng, COUNT_N)}
    for service in ("referral", "eligibility", "scheduling"):
        if service not in SUBJECTS:
            continue
        ins, out = IO[service]
        create_topics([env.topic(t) for t in ins + [out] if t != REF_IN])
        if inputs[service]:
            submit_all(env, inputs[service])
        total = COUNT_N if service == "referral" else sum(len(v) for v in inputs[service].values())
        db = env.db(service, migrate=True)
        c0 = proxy.snapshot()
        ds = start_daemons(env, service, pg_url=proxy.url(env.role_url(service, "runtime")))
        ok = wait_until(lambda: ds[0].proc.poll() is not None or caught_up(db, total), 600, 0.2)
        check(bool(ok) and ds[0].proc.poll() is None, "count %sd: caught up through the proxy" % service)
        tx = msum([metrics(ds[0])], service, "transactions_total", result="commit")
        check_eq(ds[0].stop(), 0, "count %sd: daemon drains and exits 0" % service)
        c1 = proxy.snapshot()
        rows.append((service + "d", total, c0, c1, tx))
    proxy.close()
    log("")
    log("round trips and statements per input (counting proxy, %d referrals; eligibilityd and schedulingd"
        " on their own inputs)" % COUNT_N)
    log("  %-18s %8s %12s %12s %8s %8s %8s %8s %12s" % ("subject", "inputs", "round trips", "statements", "syncs",
                                                         "parses", "executes", "queries", "transactions"))
    for name, n, c0, c1, tx in rows:
        d = {k: c1[k] - c0[k] for k in c1}
        log("  %-18s %8d %12.2f %12.2f %8.2f %8.2f %8.2f %8.2f %12s" % (
            name, n, d["round_trips"] / n, d["statements"] / n, d["syncs"] / n, d["parses"] / n,
            d["executes"] / n, d["queries"] / n, "%d" % tx if tx is not None else "-"))
        results.append(("count", name, d, n))
    log("  (per input; parses: Parse messages, executes: Execute messages of the extended protocol,"
        " queries: simple-protocol Query messages)")


def paced_submit(topic, lines_at, duration):
    """lines_at: list of (due second, line). One `ccsctl submit` fed every 10 ms; returns the offered span."""
    sub = subprocess.Popen([ccsctl(), "-b", KAFKA, "submit", "-t", topic, "-f", "-"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    i = 0
    while i < len(lines_at):
        now = time.time() - t0
        j = i
        while j < len(lines_at) and lines_at[j][0] <= now:
            j += 1
        if j > i:
            sub.stdin.write("".join(l for _, l in lines_at[i:j]))
            sub.stdin.flush()
            i = j
        time.sleep(0.01)
    offered = time.time() - t0
    sub.stdin.close()
    err = sub.stderr.read()
    check_eq(sub.wait(), 0, "ccsctl submit to %s (%s)" % (topic, (err.strip().splitlines() or [""])[-1]))
    return offered


def paced_lines(events, rate, delay=0.0):
    return [(delay + i / float(rate), json.dumps(e, separators=(",", ":")) + "\n") for i, e in enumerate(events)]


def first_decisions(msgs):
    """{causation id: earliest decision Kafka timestamp}."""
    out = {}
    for m in msgs:
        c = m["headers"].get("ccs_causation_id")
        ts = int(m["timestamp"])
        if c and (c not in out or ts < out[c]):
            out[c] = ts
    return out


def section_steady():
    rng = random.Random(5150)
    seen = []
    env = Env("bstd")
    envs.append(env)
    create_topics([env.topic(REF_IN), env.topic(REF_OUT)])
    d = start_daemons(env, "referral")[0]
    d.wait_ready(120)
    db = env.db("referral")
    produced = 0
    for rate in RATES:
        total = int(rate * SECONDS)
        row = {}
        for mode in ("per-event", "batched"):
            topic = env.topic("bench.%s.%d.%s" % (mode, rate, REF_IN))
            create_topics([topic])
            ev = make_referrals(rng, total, seen)
            p = pipe_start(mode, topic, total, "st%d" % rate)
            line = p.stdout.readline()  # READY once partitions are assigned
            check(line.startswith("READY"), "steady %s %d/s: pipe assigned (%s)" % (mode, rate, line.strip()))
            paced_submit(topic, paced_lines(ev, rate), SECONDS)
            f = pipe_finish(p, "steady %s %d/s" % (mode, rate))
            row[mode] = [f.get("lat_p50_ms"), f.get("lat_p90_ms"), f.get("lat_p99_ms"), f.get("lat_max_ms")]
        ev = make_referrals(rng, total, seen)
        ids = {e["id"] for e in ev}
        m0, cpu0, pg0 = metrics(d), proc_figures(d.proc.pid)[1], backend_cpu(db_name(db))
        offered = paced_submit(env.topic(REF_IN), paced_lines(ev, rate), SECONDS)
        check(wait_until(lambda: caught_up(db, produced + total), 300, 0.2), "steady %d/s: referrald caught up" % rate)
        m1, (hwm, cpu1), pg1 = metrics(d), proc_figures(d.proc.pid), backend_cpu(db_name(db))
        produced += total
        ins = {m["headers"]["ce_id"]: int(m["timestamp"]) for m in env.tail(REF_IN, idle=3, expect=produced)}
        first = first_decisions(env.tail(REF_OUT, idle=3, expect=produced))
        missing = [i for i in ids if i not in first]
        check_eq(len(missing), 0, "steady %d/s: referrald decided every input" % rate)
        row["referrald"] = lat_row([first[i] - ins[i] for i in ids if i in first and i in ins])
        bc = mdelta(m1, m0, "referral", "batch_size_count")
        table("steady %d inputs/s for %.0f s (%d inputs each; referrald offered over %.1f s)"
              % (rate, SECONDS, total, offered),
              [("latency p50/p90/p99/max, %s" % k, " / ".join(fmt(x, " ms", 0) for x in row[k]))
               for k in ("per-event", "batched", "referrald")] + [
                  ("referrald mean batch", fmt(mdelta(m1, m0, "referral", "batch_size_sum") / bc if bc else None)),
                  ("referrald CPU per input", fmt(1e6 * (cpu1 - cpu0) / total, " us")),
                  ("referrald PG backend CPU per input", fmt(1e6 * cpu_delta(pg0, pg1) / total, " us")),
                  ("referrald peak RSS (lifetime)", fmt(hwm / 1024.0 if hwm else None, " MiB")),
                  ("referrald transient errors", "%d" % mdelta(m1, m0, "referral", "transient_errors_total"))])
        results.append(("steady", rate, row))
    check_eq(d.stop(), 0, "steady: referrald drains and exits 0")


def pipeline_inputs(rng, n):
    """n new valid referrals and, per referral, its case's application, residency and a medical
    review (85% cerebral palsy with findings: eligible; 15% a code alone). Returns
    (referrals, {referral ce_id: [evidence envelopes]}, {case id: referral ce_id})."""
    cp = es.medical(["G80.1"], cp=["rigidityOrSpasticity"])
    code_only = es.medical(["G80.1"])
    refs, evidence, cases = [], {}, {}
    for _ in range(n):
        doc = referral(rng, countyOfResidence=rng.choice(COUNTIES[:8]))
        e = envelope(doc)
        case_id = decision_id(e["id"], "case")  # referrald's case id: UUIDv5(input id, "case")
        refs.append(e)
        cases[case_id] = e["id"]
        evidence[e["id"]] = es.complete_file(rng, case_id, cp if rng.random() < 0.85 else code_only,
                                             county=doc["child"]["countyOfResidence"])
    return refs, evidence, cases


def pipeline_env():
    env = Env("bpip")
    envs.append(env)
    create_topics([env.topic(t) for t in (REF_IN, REF_OUT, EVIDENCE, ELIG_OUT, SCHED_REQ, SCHED_OUT)])
    dbs = {s: env.db(s, migrate=True) for s in ("referral", "eligibility", "scheduling")}
    return env, dbs


def section_pipeline():
    rng = random.Random(2718)
    # -- backlog: everything pre-produced, the three daemons started at once
    env, dbs = pipeline_env()
    refs, evidence, cases = pipeline_inputs(rng, PIPE_N)
    env.submit(REF_IN, refs)
    env.submit(EVIDENCE, [x for e in refs for x in evidence[e["id"]]])
    l0 = lsn()
    t0 = time.time()
    ds = {s: start_daemons(env, s, extra={"CCS_CLOCK_TODAY": "2026-11-01"} if s == "eligibility" else None)[0]
          for s in dbs}
    done_at = {}

    def settled():
        if any(d.proc.poll() is not None for d in ds.values()):
            return True
        if "referral" not in done_at and caught_up(dbs["referral"], PIPE_N):
            done_at["referral"] = time.time()
        if "referral" in done_at and "eligibility" not in done_at and caught_up(dbs["eligibility"], 4 * PIPE_N):
            done_at["eligibility"] = time.time()
        if "eligibility" in done_at:
            # schedulingd has consumed every eligibility decision once its stored offsets reach the
            # number of records on the topic (eligibilityd's outbox is empty by now)
            if offsets_done(dbs["scheduling"]) and caught_up(dbs["scheduling"], elig_total()):
                done_at["scheduling"] = time.time()
                return True
        return False

    elig_total_cache = {}

    def elig_total():
        t = time.time()
        if "v" not in elig_total_cache or t - elig_total_cache["t"] > 3:
            out = subprocess.run([ccsctl(), "-b", KAFKA, "tail", "-t", env.topic(ELIG_OUT), "--from-beginning",
                                  "--idle-exit", "1"], capture_output=True, text=True)
            elig_total_cache.update(v=sum(1 for l in out.stdout.splitlines() if l.strip()), t=t)
        return elig_total_cache["v"]

    ok = wait_until(settled, 900, 0.5)
    alive = all(d.proc.poll() is None for d in ds.values())
    check(bool(ok) and alive and "scheduling" in done_at, "pipeline backlog: all three daemons caught up and alive")
    t_end = done_at.get("scheduling", time.time())
    ms = {s: metrics(d) for s, d in ds.items()}
    procs = {s: proc_figures(d.proc.pid) for s, d in ds.items()}
    pg = {s: cpu_delta({}, backend_cpu(db_name(dbs[s]))) for s in ds}
    for s, d in ds.items():
        check_eq(d.stop(), 0, "pipeline backlog: %sd drains and exits 0" % s)
    l1 = lsn()
    wal, wal_all = wal_by_db(l0, l1, [db_name(u) for u in dbs.values()])
    inputs = {"referral": PIPE_N, "eligibility": 4 * PIPE_N, "scheduling": elig_total()}
    outs = {s: out_span(env, IO[s][1], None) for s in ds}
    span_all = t_end - t0
    stamps = {s: [int(m["timestamp"]) for m in outs[s][2]] for s in outs}
    work = None
    if stamps["referral"] and (stamps["eligibility"] or stamps["scheduling"]):
        work = (max(stamps["eligibility"] + stamps["scheduling"]) - min(stamps["referral"])) / 1000.0
    rows = [("referrals/s with their evidence, first referral decision -> last eligibility/scheduling decision",
             "%s  (%d referrals + %d evidence in %s s)" % (fmt(PIPE_N / work if work else None), PIPE_N, 3 * PIPE_N,
                                                          fmt(work, "", 2))),
            ("referrals/s with their evidence, process start -> schedulingd caught up",
             "%s  (%.1f s, includes start-up, group joins and this script's 0.5 s polling)"
             % (fmt(PIPE_N / span_all), span_all))]
    per = {}
    for s in ds:
        n_in, (n_out, span, _) = inputs[s], outs[s]
        per[s] = {"inputs": n_in, "outputs": n_out, "inputs_s": (n_in - 1) / span if span else None,
                  "cpu_us": 1e6 * (procs[s][1] or 0) / n_in, "rss_mib": (procs[s][0] or 0) / 1024.0,
                  "pg_cpu_us": 1e6 * pg[s] / n_in,
                  "wal_b": wal[db_name(dbs[s])] / n_in if wal[db_name(dbs[s])] is not None else None,
                  "done_s": done_at.get(s, t_end) - t0,
                  "transient": mdelta(ms[s], {}, s, "transient_errors_total")}
        rows.append(("%sd" % s, "%d inputs -> %d outputs; %s inputs/s over its output span; caught up at %.1f s;"
                     " CPU %s/input; PG CPU %s/input; WAL %s/input; RSS %s; transient errors %d" % (
                         n_in, n_out, fmt(per[s]["inputs_s"]), per[s]["done_s"], fmt(per[s]["cpu_us"], " us"),
                         fmt(per[s]["pg_cpu_us"], " us"), fmt(per[s]["wal_b"], " B", 0), fmt(per[s]["rss_mib"], " MiB"),
                         per[s]["transient"])))
    tot_wal = sum(v for v in wal.values() if v is not None)
    rows.append(("whole pipeline per referral", "daemon CPU %s, PG backend CPU %s, WAL %s (cluster %s)" % (
        fmt(1e6 * sum(p[1] or 0 for p in procs.values()) / PIPE_N, " us"), fmt(1e6 * sum(pg.values()) / PIPE_N, " us"),
        fmt(tot_wal / PIPE_N, " B", 0), fmt(wal_all / PIPE_N, " B", 0))))
    table("whole pipeline backlog: %d referrals and their evidence pre-produced, three daemons started together"
          % PIPE_N, rows)
    results.append(("pipeline", "backlog", PIPE_N / work if work else None, per))

    # -- steady: referrals at a rate, each one's evidence 1 s later
    env, dbs = pipeline_env()
    ds = {s: start_daemons(env, s, extra={"CCS_CLOCK_TODAY": "2026-11-01"} if s == "eligibility" else None)[0]
          for s in dbs}
    for d in ds.values():
        d.wait_ready(120)
    produced = 0
    for rate in PIPE_RATES:
        total = int(rate * SECONDS)
        refs, evidence, cases = pipeline_inputs(rng, total)
        ev_lines = []
        for i, e in enumerate(refs):
            for x in evidence[e["id"]]:
                ev_lines.append((1.0 + i / float(rate), json.dumps(x, separators=(",", ":")) + "\n"))
        t = threading.Thread(target=paced_submit, args=(env.topic(EVIDENCE), ev_lines, SECONDS))
        t.start()
        paced_submit(env.topic(REF_IN), paced_lines(refs, rate), SECONDS)
        t.join()
        produced += total
        ok = wait_until(lambda: caught_up(dbs["eligibility"], 4 * produced), 300, 0.5)
        check(bool(ok), "pipeline steady %d/s: eligibilityd caught up" % rate)
        ins = {m["headers"]["ce_id"]: int(m["timestamp"]) for m in env.tail(REF_IN, idle=3, expect=produced)}
        ev_ts = {m["headers"]["ce_id"]: int(m["timestamp"]) for m in env.tail(EVIDENCE, idle=3, expect=3 * produced)}
        rdec = first_decisions(env.tail(REF_OUT, idle=3, expect=produced))
        edec = env.tail(ELIG_OUT, idle=3)
        by_case = {}  # case -> earliest eligibility decision (the referral-triggered one comes first)
        ev_lat = []
        for m in edec:
            v, ts = m["value"], int(m["timestamp"])
            c = v.get("caseId")
            if c in cases and (c not in by_case or ts < by_case[c]):
                by_case[c] = ts
            cz = m["headers"].get("ccs_causation_id")
            if cz in ev_ts:
                ev_lat.append(ts - ev_ts[cz])
        ref_ids = {e["id"] for e in refs}
        lat_ref = lat_row([rdec[i] - ins[i] for i in ref_ids if i in rdec and i in ins])
        lat_elig = lat_row([by_case[c] - ins[r] for c, r in cases.items() if c in by_case and r in ins])
        check_eq(sum(1 for c in cases if c in by_case), total, "pipeline steady %d/s: an eligibility decision per case"
                 % rate)
        table("whole pipeline steady: %d referrals/s for %.0f s, each with 3 evidence events 1 s later" % (rate, SECONDS), [
            ("submit -> referral decision p50/p90/p99/max", " / ".join(fmt(x, " ms", 0) for x in lat_ref)),
            ("submit -> eligibility decision p50/p90/p99/max", " / ".join(fmt(x, " ms", 0) for x in lat_elig)),
            ("evidence -> eligibility decision p50/p90/p99/max", " / ".join(fmt(x, " ms", 0) for x in lat_row(ev_lat))),
        ])
        results.append(("pipeline-steady", rate, lat_ref, lat_elig))
    for s, d in ds.items():
        check_eq(d.stop(), 0, "pipeline steady: %sd drains and exits 0" % s)


def section_scale():
    rng = random.Random(6006)
    refs = make_referrals(rng, N, [])
    figs = {}
    for inst in (1, 2):
        env = Env("bscl")
        envs.append(env)
        f = daemon_backlog(env, "referral", {REF_IN: refs}, instances=inst, partitions=6,
                           what="referrald x%d on 6 partitions" % inst)
        figs[inst] = f
        table("ccs-referrald, %d instance(s), %d referrals on 6 partitions" % (inst, N), backlog_rows(f))
    if figs[1]["inputs_s"] and figs[2]["inputs_s"]:
        log("  two instances / one: %.2fx (first-to-last), %.2fx (start -> caught up)" % (
            figs[2]["inputs_s"] / figs[1]["inputs_s"], figs[1]["start_done_s"] / figs[2]["start_done_s"]))
    results.append(("scale", "referrald", figs))


def summary():
    log("")
    log("=" * 100)
    log("SUMMARY (means over rounds where there are several)")

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return sum(xs) / len(xs) if xs else None

    cnt = {r[1]: r[2] for r in results if r[0] == "count"}
    cntn = {r[1]: r[3] for r in results if r[0] == "count"}
    log("  %-16s %10s %8s %8s %7s %7s %9s %9s %9s %8s" % ("subject", "inputs/s", "/per-ev", "/batched", "RT/in",
                                                          "stmt/in", "PGcpu/in", "WAL/in", "cpu/in", "RSS"))
    bl = {r[1]: r for r in results if r[0] == "backlog"}
    pe = mean([f["inputs_s"] for f in bl.get("pipe per-event", (0, 0, []))[2]])
    ba = mean([f["inputs_s"] for f in bl.get("pipe batched", (0, 0, []))[2]])
    for name, cname in (("pipe per-event", "pipe per-event"), ("pipe batched", "pipe batched"),
                        ("referrald", "referrald"), ("eligibilityd", "eligibilityd"), ("schedulingd", "schedulingd")):
        fs = bl.get(name, (0, 0, []))[2]
        ips = mean([f["inputs_s"] for f in fs])
        c = cnt.get(cname)
        n = cntn.get(cname)
        log("  %-16s %10s %8s %8s %7s %7s %9s %9s %9s %8s" % (
            name, fmt(ips, "", 0), fmt(ips / pe if ips and pe else None, "x", 2), fmt(ips / ba if ips and ba else None, "x", 2),
            fmt(c["round_trips"] / n if c else None, "", 2), fmt(c["statements"] / n if c else None, "", 2),
            fmt(mean([f["pg_cpu_us"] for f in fs]), "us", 0), fmt(mean([f["wal_b"] for f in fs]), "B", 0),
            fmt(mean([f["cpu_us"] for f in fs]), "us", 0), fmt(max([f["rss_mib"] for f in fs] or [0]), "M", 1)))
    for r in results:
        if r[0] == "steady":
            log("  steady %5d/s p50/p90/p99 ms: %s" % (r[1], "; ".join(
                "%s %s" % (k, "/".join(fmt(x, "", 0) for x in r[2][k][:3])) for k in ("per-event", "batched", "referrald"))))
        elif r[0] == "pipeline":
            log("  whole pipeline backlog: %s referrals/s with their evidence (%s)" % (fmt(r[2], "", 0), ", ".join(
                "%sd %s inputs/s" % (s, fmt(f["inputs_s"], "", 0)) for s, f in r[3].items())))
        elif r[0] == "pipeline-steady":
            log("  whole pipeline steady %d referrals/s: submit -> eligibility decision p50/p90/p99 %s ms" % (
                r[1], "/".join(fmt(x, "", 0) for x in r[3][:3])))
        elif r[0] == "scale":
            f = r[2]
            log("  referrald 6 partitions: x1 %s inputs/s, x2 %s inputs/s" % (fmt(f[1]["inputs_s"], "", 0),
                                                                              fmt(f[2]["inputs_s"], "", 0)))
    log("  load average at the end: %.2f %.2f %.2f" % os.getloadavg())


envs = []
PIPE_DB = WAL_DB = WAL_SLOT = None
try:
    env0 = Env("bbase")
    envs.append(env0)
    PIPE_DB = env0.db("benchpipe")
    WAL_DB = PIPE_DB
    try:
        psql(WAL_DB, "CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    except RuntimeError as e:
        log("note: pg_walinspect not available: per-database WAL not shown (%s)" % str(e).strip()[:200])
    WAL_SLOT = wal_hold(env0.tag)
    settings = dict(psql(PG_ADMIN, "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',"
                                   " 'wal_sync_method', 'full_page_writes', 'commit_delay', 'shared_buffers',"
                                   " 'shared_preload_libraries', 'server_version', 'wal_level')"))
    log("PostgreSQL %s: fsync=%s synchronous_commit=%s wal_sync_method=%s full_page_writes=%s commit_delay=%s"
        " shared_buffers=%s wal_level=%s shared_preload_libraries='%s'" % tuple(settings.get(k, "?") for k in (
            "server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes", "commit_delay",
            "shared_buffers", "wal_level", "shared_preload_libraries")))
    if settings.get("fsync") != "on":
        log("NOTE: fsync is OFF on this server (a throwaway dev cluster?): commit costs are not durable ones,"
            " figures are not comparable with fsync=on")
    log("machine: %d cpus, load average %.2f %.2f %.2f; Kafka %s; build %s" % (
        (os.cpu_count() or 0,) + os.getloadavg() + (KAFKA, BUILD)))
    log("daemon settings: relay.interval.ms=%s batch.max=%s; N=%d rounds=%d count_n=%d rates=%s seconds=%g"
        " pipeline_n=%d pipeline_rates=%s sections=%s" % (
            SETTINGS["CCS_RELAY_INTERVAL_MS"], os.environ.get("CCS_BATCH_MAX", "default"), N, ROUNDS, COUNT_N, RATES,
            SECONDS, PIPE_N, PIPE_RATES, ",".join(sorted(ONLY))))
    for name, fn in (("backlog", section_backlog), ("count", section_count), ("steady", section_steady),
                     ("pipeline", section_pipeline), ("scale", section_scale)):
        if name in ONLY:
            t = time.time()
            log("")
            log("---- %s ----" % name)
            fn()
            log("(%s took %.0f s)" % (name, time.time() - t))
    summary()
finally:
    wal_drop(WAL_SLOT)
    for e in envs:
        e.cleanup()
finish()
