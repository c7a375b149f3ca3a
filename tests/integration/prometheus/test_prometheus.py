"""A real Prometheus scrapes the three daemons and evaluates deploy/prometheus/ccs-rules.yml.

The three daemons run on real PostgreSQL and Kafka; Prometheus (the Debian package, 2.42)
scrapes their /metrics every second. Referrals and poison messages go to referrald; then the
HTTP API must show `up` and `ccs_ready` at 1 for every daemon, the recording rules
ccs:messages:rate5m (processed) and ccs:dead_letters:rate5m above 0 for referral, and the
alert CcsDeadLetters pending or firing for service referral. Stopping a daemon turns its `up`
to 0. Skipped (77) when prometheus or a daemon binary is missing.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from ccs_it import (BUILD, KAFKA, SERVICES, SRC, Env, ccsctl, check, check_eq, finish, free_port, log,
                    wait_until)
from ccs_samples import envelope, referral

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
REF_IN, REF_OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
EVIDENCE, DECIDED = "ccs.eligibility.evidence.v1", "ccs.eligibility.decided.v1"
SCHED_IN, SCHED_OUT = "ccs.scheduling.requests.v1", "ccs.scheduling.decided.v1"
JOBS = {"referral": "ccs-referrald", "eligibility": "ccs-eligibilityd", "scheduling": "ccs-schedulingd"}

if not os.access(PROMETHEUS, os.X_OK):
    log("prometheus not installed: skipping")
    sys.exit(77)
for s in SERVICES.values():
    if not os.path.exists(os.path.join(BUILD, s)):
        log("%s not built: skipping" % s)
        sys.exit(77)


def rules_copy(dst):
    """deploy/prometheus/ccs-rules.yml with only its evaluation interval lowered.

    The recording group evaluates every 30s; in the copy it evaluates every 1s so that the
    recording rules (and CcsDeadLetters, which reads one of them) have values within the
    test's time. No expression, threshold or `for:` changes: CcsDeadLetters has no `for:`,
    and CcsDaemonDown's 2m `for:` is left alone (the test checks its `up` series instead)."""
    text = open(os.path.join(SRC, "deploy/prometheus/ccs-rules.yml")).read()
    lowered = text.replace("interval: 30s", "interval: 1s")
    if lowered == text:
        raise RuntimeError("ccs-rules.yml: the recording group's `interval: 30s` is gone; update the test")
    with open(dst, "w") as f:
        f.write(lowered)


class Prometheus:
    def __init__(self, tmp, daemons, logdir):
        self.tmp = tmp
        self.port = free_port()
        rules = os.path.join(tmp, "ccs-rules.yml")
        rules_copy(rules)
        # JSON is YAML: the configuration needs no YAML writer.
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [rules],
            "scrape_configs": [{"job_name": JOBS[d.service],
                                "static_configs": [{"targets": ["127.0.0.1:%d" % d.port]}]} for d in daemons],
        }
        self.config = os.path.join(tmp, "prometheus.yml")
        with open(self.config, "w") as f:
            json.dump(config, f, indent=1)
        self.logf = open(os.path.join(logdir, "prometheus.log"), "a")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([PROMETHEUS, "--config.file=" + self.config,
                                      "--storage.tsdb.path=" + os.path.join(self.tmp, "data"),
                                      "--web.listen-address=127.0.0.1:%d" % self.port],
                                     stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.tmp)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.loads(r.read().decode())
        except (OSError, ValueError):
            return None
        return body.get("data") if body.get("status") == "success" else None

    def query(self, expr):
        """Instant vector as {frozenset(labels.items()): value}; {} when empty or unreachable."""
        data = self.api("query", query=expr)
        if not data or data.get("resultType") != "vector":
            return {}
        return {frozenset(r["metric"].items()): float(r["value"][1]) for r in data["result"]}

    def by(self, expr, label):
        """label value -> sample value (the last of equal label values)."""
        return {dict(k).get(label): v for k, v in self.query(expr).items()}

    def targets_health(self):
        data = self.api("targets", state="active")
        if not data:
            return {}
        return {t["labels"].get("job"): t["health"] for t in data["activeTargets"]}


def poison(env, n, seq):
    """`n` undecodable referrals (error class of a decode failure), distinct ce_ids."""
    env.produce_raw(REF_IN, [("p%d" % i, {"ce_id": "44444444-4444-4444-8444-%012d" % (seq * 1000 + i),
                                          "ce_type": "ccs.mtp.v1.ReferralSubmitted"},
                              b"\xff\xff\xff\x0fnot protobuf") for i in range(n)])


env = Env("prom")
tmp = tempfile.mkdtemp(prefix="ccs-prom-")
prom = None
try:
    t0 = time.time()
    rng = random.Random(11)
    topics = [env.topic(t) for t in (REF_IN, REF_OUT, EVIDENCE, DECIDED, SCHED_IN, SCHED_OUT)]
    subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", "3"] + topics, check=True,
                   capture_output=True)
    daemons = {"referral": env.daemon("referral"),
               "eligibility": env.daemon("eligibility", extra={"CCS_CLOCK_TODAY": "2026-11-01"}),
               "scheduling": env.daemon("scheduling")}
    for d in daemons.values():
        d.start()
    for d in daemons.values():
        d.wait_ready()

    prom = Prometheus(tmp, list(daemons.values()), env.logdir)
    prom.start()
    health = wait_until(lambda: (lambda h: h if len(h) == 3 and all(v == "up" for v in h.values()) else None)(
        prom.targets_health()), 30, interval=0.5)
    check_eq(health or prom.targets_health(), {j: "up" for j in JOBS.values()}, "every daemon's target is up")

    # Counters must move between scrapes for rate() to see them: a series' first sample is its
    # baseline. The dead-letter series appears with the first dead letter, so the poison comes
    # in two waves: the second once Prometheus holds the first's samples, and a scrape later.
    poison(env, 2, 1)
    env.submit(REF_IN, [envelope(referral(rng)) for _ in range(5)])
    seen = wait_until(lambda: prom.query('ccs_dead_letters_total{service="referral"}')
                      and prom.query('ccs_messages_total{service="referral",result="processed"} > 0'), 30)
    check(bool(seen), "Prometheus scraped the first wave's dead letters and processed referrals")
    time.sleep(2)
    poison(env, 3, 2)
    env.submit(REF_IN, [envelope(referral(rng)) for _ in range(10)])

    ups = wait_until(lambda: (lambda u: u if len(u) == 3 else None)(prom.by('up{job=~"ccs-.*"}', "job")), 10)
    check_eq(ups, {j: 1.0 for j in JOBS.values()}, "up is 1 for the three jobs")
    ready = wait_until(lambda: (lambda r: r if len(r) == 3 else None)(prom.by("ccs_ready", "service")), 10)
    check_eq(ready, {s: 1.0 for s in JOBS}, "ccs_ready is 1 for each service")

    processed = wait_until(lambda: prom.by('ccs:messages:rate5m{service="referral",result="processed"} > 0',
                                           "service"), 60, interval=1)
    check(bool(processed), "ccs:messages:rate5m{service=referral,result=processed} > 0: %s" % processed)
    dead = wait_until(lambda: prom.query('ccs:dead_letters:rate5m{service="referral"} > 0'), 60, interval=1)
    check(bool(dead), "ccs:dead_letters:rate5m{service=referral} > 0: %s"
          % [(dict(k).get("error_class"), v) for k, v in dead.items()])

    def dead_letter_alert():
        data = prom.api("alerts") or {}
        return [a for a in data.get("alerts", []) if a["labels"].get("alertname") == "CcsDeadLetters"
                and a["labels"].get("service") == "referral" and a.get("state") in ("pending", "firing")]
    alerts = wait_until(dead_letter_alert, 30, interval=1)
    check(bool(alerts), "CcsDeadLetters is pending or firing for service referral: %s"
          % [(a["state"], a["labels"].get("job"), a["labels"].get("error_class")) for a in alerts])
    check(all(a["labels"].get("job") == "ccs-referrald" and a["labels"].get("severity") == "warning"
              for a in alerts), "the alert names the referrald job and severity warning")

    # A stopped daemon: its target's `up` turns 0 (CcsDaemonDown itself waits 2 minutes).
    check_eq(daemons["scheduling"].stop(), 0, "schedulingd stops cleanly")
    downs = wait_until(lambda: (lambda u: u if u.get("ccs-schedulingd") == 0.0 else None)(
        prom.by('up{job=~"ccs-.*"}', "job")), 20, interval=0.5)
    check_eq(downs, {"ccs-referrald": 1.0, "ccs-eligibilityd": 1.0, "ccs-schedulingd": 0.0},
             "up turns 0 for the stopped schedulingd only")
    log("seconds=%.1f" % (time.time() - t0))
finally:
    if prom:
        prom.stop()
    env.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
