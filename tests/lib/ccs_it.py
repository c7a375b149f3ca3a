"""Integration-test harness: real daemons, real PostgreSQL, real Kafka (python3 stdlib only).

Each test gets its own databases, topic prefix, consumer group and HTTP port, so tests can
share one broker and one PostgreSQL server without seeing each other's data.

Databases are made as in production (deploy/sql/apply.sh): per database an owner role that
runs `--migrate-only` before the daemon's first start, and a runtime role (DML only) that the
daemon connects as. The test itself inspects the database through the admin (superuser) URL
that Env.db() returns.

Servers come from CCS_PG_URL / CCS_KAFKA_BOOTSTRAP, else from `deploy/dev/servers.sh env`.
Binaries come from CCS_BUILD_DIR (set by ctest).
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

SRC = os.environ.get("CCS_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CCS_BUILD_DIR") or os.path.join(SRC, "build", "dev")
CCS_NS = uuid.UUID("6f1c2b9e-4d3a-5b1e-9a77-1cc50d2a6e31")

SERVICES = {
    "referral": "services/referral/ccs-referrald",
    "eligibility": "services/eligibility/ccs-eligibilityd",
    "scheduling": "services/scheduling/ccs-schedulingd",
}

failures = []


def log(*a):
    print(*a, flush=True)


def check(cond, what):
    """Record an assertion; the test keeps going so one run shows every failure."""
    if cond:
        log("ok   " + what)
    else:
        log("FAIL " + what)
        failures.append(what)
    return cond


def short(v, limit=200):
    """repr() cut to `limit` characters, with the size of large collections."""
    r = repr(v)
    if len(r) <= limit:
        return r
    n = " (%d items)" % len(v) if hasattr(v, "__len__") else ""
    return r[:limit] + "..." + n


def check_eq(got, want, what):
    if got == want:
        return check(True, "%s: %s" % (what, short(got, 80)))
    extra = ""
    if isinstance(got, (set, frozenset)) and isinstance(want, (set, frozenset)):
        extra = "; missing %s; unexpected %s" % (short(want - got), short(got - want))
    return check(False, "%s: got %s, want %s%s" % (what, short(got), short(want), extra))


def finish():
    if failures:
        log("%d failed:" % len(failures))
        for f in failures:
            log("  " + f)
        sys.exit(1)
    log("all checks passed")
    sys.exit(0)


def servers():
    pg = os.environ.get("CCS_PG_URL")
    kafka = os.environ.get("CCS_KAFKA_BOOTSTRAP")
    if not pg or not kafka:
        out = subprocess.run([os.path.join(SRC, "deploy/dev/servers.sh"), "env"], capture_output=True, text=True)
        if out.returncode != 0:
            log("servers not available (deploy/dev/servers.sh up first): skipping")
            sys.exit(77)
        for line in out.stdout.splitlines():
            if line.startswith("export "):
                k, v = line[len("export "):].split("=", 1)
                v = v.strip("'\"")
                if k == "CCS_PG_URL" and not pg:
                    pg = v
                if k == "CCS_KAFKA_BOOTSTRAP" and not kafka:
                    kafka = v
    return pg, kafka


PG_ADMIN, KAFKA = servers()


def db_url(name, user=None, password=None):
    """The admin URL with another database, or (with `user`) another role's URL to it."""
    u = urllib.parse.urlsplit(PG_ADMIN)
    netloc = u.netloc
    if user:
        host = netloc.rsplit("@", 1)[-1]
        cred = urllib.parse.quote(user, safe="")
        if password:
            cred += ":" + urllib.parse.quote(password, safe="")
        netloc = cred + "@" + host
    return urllib.parse.urlunsplit((u.scheme, netloc, "/" + name, u.query, u.fragment))


def psql(url, sql):
    """Run SQL, return rows as lists of strings (tab-separated, unaligned)."""
    out = subprocess.run(["psql", url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql, out.stderr))
    return [l.split("\t") for l in out.stdout.splitlines() if l != ""]


def scalar(url, sql):
    rows = psql(url, sql)
    return rows[0][0] if rows else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Env:
    """One isolated environment: a topic prefix and a database per service."""

    def __init__(self, name):
        self.tag = "%s%d%04d" % (name, os.getpid() % 100000, random.randint(0, 9999))
        self.prefix = "it.%s." % self.tag
        self.dbs = {}
        self.roles = {}      # service -> (owner, runtime)
        self.migrated = set()
        # Throwaway passwords for the test roles, so servers that do not trust local
        # connections work too (apply.sh reads them from the environment).
        self.role_password = uuid.uuid4().hex
        self.daemons = []
        self.logdir = os.path.join(BUILD, "test-logs", self.tag)
        os.makedirs(self.logdir, exist_ok=True)

    def db(self, service, migrate=False):
        """The service's database (created with its owner and runtime roles on first use),
        as an admin URL for the test's own queries. `migrate`: also apply the schema now."""
        if service not in self.dbs:
            name = "ccs_%s_%s" % (service, self.tag)
            owner, runtime = name + "_owner", name
            env = dict(os.environ, CCS_PG_OWNER_PASSWORD=self.role_password,
                       CCS_PG_RUNTIME_PASSWORD=self.role_password)
            out = subprocess.run([os.path.join(SRC, "deploy/sql/apply.sh"), "-d", PG_ADMIN, name, owner, runtime],
                                 env=env, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError("deploy/sql/apply.sh %s failed: %s" % (name, out.stderr))
            self.dbs[service] = db_url(name)
            self.roles[service] = (owner, runtime)
        if migrate:
            self.migrate(service)
        return self.dbs[service]

    def role_url(self, service, role="runtime"):
        """URL of the service's database as its "owner" or "runtime" role."""
        self.db(service)
        owner, runtime = self.roles[service]
        name = urllib.parse.urlsplit(self.dbs[service]).path.lstrip("/")
        return db_url(name, owner if role == "owner" else runtime, self.role_password)

    def migrate(self, service, force=False):
        """`ccs-<service>d --migrate-only` as the owner role, once per database (`force`: again)."""
        if service in self.migrated and not force:
            return
        env = dict(os.environ, CCS_PG_URL=self.role_url(service, "owner"))
        out = subprocess.run([os.path.join(BUILD, SERVICES[service]), "--migrate-only"], env=env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError("%s --migrate-only failed: %s%s" % (service, out.stdout, out.stderr))
        self.migrated.add(service)

    def topic(self, name):
        return self.prefix + name

    def daemon(self, service, instance="a", extra=None, migrate=True):
        """A daemon connecting as the runtime role; `migrate`: run the owner's --migrate-only
        before its first start (False: leave the schema as it is)."""
        d = Daemon(self, service, instance, extra or {})
        d.migrate = migrate
        self.daemons.append(d)
        return d

    def cleanup(self):
        for d in self.daemons:
            d.stop()
        if not failures and os.environ.get("CCS_KEEP_DBS") is None:
            for service, url in self.dbs.items():
                name = urllib.parse.urlsplit(url).path.lstrip("/")
                try:
                    psql(PG_ADMIN, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
                    # The roles own nothing outside the dropped database (its default
                    # privileges and grants went with it).
                    for role in self.roles.get(service, ()):
                        psql(PG_ADMIN, "DROP ROLE IF EXISTS %s" % role)
                except RuntimeError:
                    pass

    # --- Kafka through the real tools -------------------------------------------------------
    def submit(self, topic, docs):
        """Produce JSON documents (dicts) through `ccsctl submit`; returns nothing, raises on error."""
        data = "".join(json.dumps(d, separators=(",", ":")) + "\n" for d in docs)
        out = subprocess.run([ccsctl(), "-b", KAFKA, "submit", "-t", self.topic(topic), "-f", "-"],
                             input=data, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("ccsctl submit failed: %s" % out.stderr)

    def produce_raw(self, topic, records):
        """records: (key or None, {header: value}, value bytes)."""
        lines = []
        for key, headers, value in records:
            h = ";".join("%s=%s" % kv for kv in headers.items()) or "-"
            lines.append("%s\t%s\t%s\n" % (key or "-", h, value.hex() or "-"))
        out = subprocess.run([os.path.join(BUILD, "tests/integration/ccs-test-kraw"), KAFKA, self.topic(topic)],
                             input="".join(lines), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("kraw failed: %s" % out.stderr)

    def tail(self, topic, idle=3, expect=None, timeout=60):
        """Read a whole topic as decoded JSON objects. With `expect`, poll until that many arrive."""
        deadline = time.time() + timeout
        while True:
            out = subprocess.run([ccsctl(), "-b", KAFKA, "tail", "-t", self.topic(topic), "--from-beginning",
                                  "--idle-exit", str(idle)], capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError("ccsctl tail failed: %s" % out.stderr)
            msgs = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
            if expect is None or len(msgs) >= expect or time.time() > deadline:
                return msgs
            time.sleep(1)


def ccsctl():
    return os.path.join(BUILD, "tools/ccsctl/ccsctl")


class Daemon:
    def __init__(self, env, service, instance, extra):
        self.env = env
        self.service = service
        self.port = free_port()
        self.proc = None
        self.instance = instance
        self.migrate = True
        self.vars = {
            "CCS_PG_URL": env.role_url(service, "runtime"),
            "CCS_KAFKA_BOOTSTRAP": KAFKA,
            "CCS_TOPICS_PREFIX": env.prefix,
            "CCS_GROUP_ID": "it-%s-%s" % (env.tag, service),
            "CCS_INSTANCE_ID": "it-%s-%s-%s" % (env.tag, service, instance),
            "CCS_HTTP_LISTEN": "127.0.0.1:%d" % self.port,
            "CCS_TOPICS_PARTITIONS": "3",
            "CCS_STATS_INTERVAL_MS": "5000",
            "CCS_RELAY_INTERVAL_MS": "50",
            # Per-office and per-county streams add ~90 topics per environment: only the tests
            # that read them turn them on (extra={"CCS_STREAMS_ENABLED": "true"}).
            "CCS_STREAMS_ENABLED": "false",
        }
        self.vars.update(extra)
        self.starts = 0

    def start(self):
        if self.migrate:
            self.env.migrate(self.service)
        env = dict(os.environ)
        env.update(self.vars)
        logf = open(os.path.join(self.env.logdir, "%s-%s.log" % (self.service, self.instance)), "a")
        self.proc = subprocess.Popen([os.path.join(BUILD, SERVICES[self.service])], env=env,
                                     stdout=logf, stderr=subprocess.STDOUT)
        self.starts += 1
        return self

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return None, ""

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s" % (self.service, self.proc.returncode))
            status, _ = self.get("/readyz")
            if status == 200:
                return True
            time.sleep(0.2)
        raise RuntimeError("%s not ready after %ss" % (self.service, timeout))

    def metric(self, name, labels=""):
        _, body = self.get("/metrics")
        # One name per concept across the daemons; the service is a label (always the first).
        full = 'ccs_%s{service="%s"%s}' % (name, self.service, "," + labels if labels else "")
        for line in body.splitlines():
            if line.startswith(full + " "):
                return float(line.split()[-1])
        return None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=30):
        """SIGTERM and wait for the drain; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "timeout"


def decision_id(event_id, kind):
    return str(uuid.uuid5(CCS_NS, "%s/%s" % (event_id, kind)))


def wait_until(fn, timeout=60, interval=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    return fn()


def end_offsets(env, topic):
    """Next offset per partition of a topic, from what `ccsctl tail` reads."""
    ends = {}
    for m in env.tail(topic, idle=2):
        p = int(m["partition"])
        ends[p] = max(ends.get(p, 0), int(m["offset"]) + 1)
    return ends


class Killer:
    """kill -9 a daemon at random moments and restart it at once: once after each produced
    chunk (while work is in flight), then after short random runs until `kills` is reached."""

    def __init__(self, daemon, kills, rng):
        self.d, self.kills, self.rng, self.done = daemon, kills, rng, 0

    def _kill(self, lo, hi):
        time.sleep(self.rng.uniform(lo, hi))
        self.d.kill9()
        self.done += 1
        self.d.start()

    def after_chunk(self):
        if self.done < self.kills:
            self._kill(0.2, 1.0)

    def finish(self):
        while self.done < self.kills:
            self.d.wait_ready(120)
            self._kill(0.3, 1.5)
        self.d.wait_ready(120)
        return self.done


def wait_end_offsets(env, topic, total, timeout=60):
    """End offsets of `topic` once it holds `total` records (or what it holds at the timeout)."""
    return wait_until(lambda: (lambda e: e if sum(e.values()) == total else None)(end_offsets(env, topic)),
                      timeout) or end_offsets(env, topic)


def wait_caught_up(env, db, topic, ends, timeout=300):
    """True once the daemon's stored offsets for `topic` equal `ends` (partition -> offset)."""
    def caught_up():
        got = {int(p): int(o) for p, o in psql(db, "SELECT partition, next_offset FROM consumer_offsets"
                                                    " WHERE topic = '%s'" % env.topic(topic))}
        return all(got.get(p, -1) == o for p, o in ends.items())
    return wait_until(caught_up, timeout)
