"""Least privilege: the roles of deploy/sql/ and referrald running as its runtime role.

A fresh database gets an owner and a runtime role (deploy/sql/apply.sh, through the harness).
The daemon as the runtime role refuses an unmigrated, an older and a newer schema with a clear
message; --migrate-only as the owner applies it; then the runtime role starts and decides a
referral. The runtime role cannot create tables, forge a schema version, or connect to another
daemon's database. A grant revoked while the daemon runs is a configuration fault: the input
waits (not ready, no dead letter, not stored) and is decided once the grant is back.
"""
import random
import time
import urllib.parse

from ccs_it import (Env, check, check_eq, db_url, finish, log, psql, scalar, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"


def refused_start(d, what):
    """Start `d`, expect it to exit non-zero at once; return what it logged this time."""
    logf = "%s/referral-%s.log" % (d.env.logdir, d.instance)
    try:
        start = len(open(logf).read())
    except FileNotFoundError:
        start = 0
    d.start()
    try:
        rc = d.proc.wait(timeout=90)
    except Exception:  # still running: stop it and report
        d.stop()
        rc = "still running"
    check(rc not in (0, "still running"), "%s: the runtime role's daemon refuses to start (exit %s)" % (what, rc))
    text = open(logf).read()[start:]
    log("  logged: " + text.strip()[-400:])
    return text


def denied(url, sql):
    """The error text when `sql` fails at `url`, or None when it succeeds."""
    try:
        psql(url, sql)
        return None
    except RuntimeError as e:
        return str(e)


env = Env("roles")
try:
    rng = random.Random(11)
    db = env.db("referral")  # admin URL; roles made, schema not applied
    owner, runtime = env.roles["referral"]
    name = urllib.parse.urlsplit(db).path.lstrip("/")

    # ---- the roles -------------------------------------------------------------------------
    rows = psql(db, "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles"
                    " WHERE rolname IN ('%s', '%s') ORDER BY rolname" % (owner, runtime))
    check_eq(rows, sorted([[owner, "f", "f", "f", "f"], [runtime, "f", "f", "f", "f"]]),
             "owner and runtime roles exist, neither superuser nor able to create databases or roles")
    check_eq(scalar(db, "SELECT datdba::regrole FROM pg_database WHERE datname = current_database()"), owner,
             "the owner role owns the database")
    check_eq(scalar(db, "SELECT pg_has_role('%s', '%s', 'MEMBER')" % (runtime, owner)), "f",
             "the runtime role is not a member of the owner role")

    # ---- unmigrated: refused, nothing created --------------------------------------------------
    d = env.daemon("referral", migrate=False, extra={"CCS_BACKOFF_MAX_MS": "1000"})
    text = refused_start(d, "unmigrated database")
    check("this binary needs" in text and "--migrate-only" in text and "owner role" in text,
          "unmigrated database: the message says to run --migrate-only as the owner role")
    check_eq(scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'schema_migrations'"), "0", "the runtime role created nothing")

    # ---- the owner migrates --------------------------------------------------------------------
    try:
        env.migrate("referral")
        check(True, "--migrate-only as the owner role succeeds")
    except RuntimeError as e:
        check(False, "--migrate-only as the owner role succeeds: %s" % e)
    comps = {r[0] for r in psql(db, "SELECT DISTINCT component FROM schema_migrations")}
    check_eq(comps, {"runtime", "referral"}, "both components migrated")
    check_eq(scalar(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> '%s'" % owner),
             "0", "every table belongs to the owner role")

    # ---- the runtime role runs the daemon -------------------------------------------------------
    d.start()
    d.wait_ready()
    check(True, "the daemon starts as the runtime role on the migrated schema")
    r1 = envelope(referral(rng))
    env.submit(IN, [r1])
    out = env.tail(OUT, expect=1, timeout=60)
    check_eq([m["value"]["referralId"] for m in out], [r1["data"]["referralId"]], "the referral is decided")

    # ---- what the runtime role may not do -------------------------------------------------------
    rt_url = env.role_url("referral")
    err = denied(rt_url, "CREATE TABLE intruder (x int)")
    check(err is not None and "permission denied" in err, "runtime role cannot CREATE TABLE: %s" % (err or "it could"))
    err = denied(rt_url, "ALTER TABLE referrals ADD COLUMN intruder int")
    check(err is not None and "must be owner" in err, "runtime role cannot ALTER TABLE: %s" % (err or "it could"))
    err = denied(rt_url, "INSERT INTO schema_migrations(component, version, name) VALUES ('referral', 99, 'forged')")
    check(err is not None and "permission denied" in err, "runtime role cannot forge a schema version")
    env.db("eligibility")
    other = urllib.parse.urlsplit(env.dbs["eligibility"]).path.lstrip("/")
    err = denied(db_url(other, runtime, env.role_password), "SELECT 1")
    check(err is not None and "permission denied" in err,
          "referral's runtime role cannot connect to eligibility's database: %s" % (err or "it could"))
    err = denied(db_url(name, env.roles["eligibility"][1], env.role_password), "SELECT 1")
    check(err is not None and "permission denied" in err,
          "eligibility's runtime role cannot connect to referral's database")

    # ---- a revoked grant: configuration fault, no dead letter -----------------------------------
    psql(db, "REVOKE INSERT ON referrals FROM %s" % runtime)
    r2 = envelope(referral(rng))
    env.submit(IN, [r2])
    check(wait_until(lambda: d.get("/readyz")[0] == 503, 30), "not ready after the grant was revoked")
    # Sampled over a few seconds: the daemon stays not ready while the fault lasts (needs the
    # engine to hold readiness down on a configuration fault, not only while backing off).
    samples = []
    for _ in range(10):
        samples.append(d.get("/readyz"))
        time.sleep(0.3)
    check_eq([s for s, _ in samples if s != 503], [], "stays not ready while the grant is missing")
    body = samples[-1][1]
    log("  /readyz: " + body.replace("\n", " | "))
    check("42501" in body or "permission denied" in body, "/readyz names the configuration fault")
    check_eq(d.metric("messages_total", 'result="dead_letter"') or 0.0, 0.0, "no dead letter counted")
    check_eq(env.tail(IN + ".dlq", idle=2), [], "nothing on the dead-letter topic")
    check_eq(scalar(db, "SELECT count(*) FROM referrals WHERE referral_id = '%s'" % r2["data"]["referralId"]), "0",
             "the input is not stored while the grant is missing")
    check(d.proc.poll() is None, "the daemon keeps running")

    psql(db, "GRANT INSERT ON referrals TO %s" % runtime)
    out = env.tail(OUT, expect=2, timeout=60)
    check_eq(sorted(m["value"]["referralId"] for m in out),
             sorted([r1["data"]["referralId"], r2["data"]["referralId"]]), "decided once the grant is back")
    check(wait_until(lambda: d.get("/readyz")[0] == 200, 30), "ready again")
    check_eq(env.tail(IN + ".dlq", idle=2), [], "still nothing on the dead-letter topic")
    check_eq(scalar(db, "SELECT count(*) FROM inbox"), "2", "each input applied once")
    check_eq(d.stop(), 0, "SIGTERM drains and exits 0")

    # ---- an older and a newer schema: refused ------------------------------------------------
    top = scalar(db, "SELECT max(version) FROM schema_migrations WHERE component = 'referral'")
    saved = psql(db, "SELECT name FROM schema_migrations WHERE component = 'referral' AND version = %s" % top)[0][0]
    psql(db, "DELETE FROM schema_migrations WHERE component = 'referral' AND version = %s" % top)
    text = refused_start(d, "older schema")
    check("this binary needs %s" % top in text and "--migrate-only" in text,
          "older schema: the message names the version needed and --migrate-only")
    psql(db, "INSERT INTO schema_migrations(component, version, name) VALUES ('referral', %s, '%s')" % (top, saved))
    psql(db, "INSERT INTO schema_migrations(component, version, name) VALUES ('referral', 9999, '9999_future')")
    text = refused_start(d, "newer schema")
    check("newer than this binary" in text, "newer schema: refused as newer")
    psql(db, "DELETE FROM schema_migrations WHERE component = 'referral' AND version = 9999")
finally:
    env.cleanup()
finish()
