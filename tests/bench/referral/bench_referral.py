"""Benchmark: ccs-referrald against the real PostgreSQL and Kafka. Prints figures, asserts no timing.

Two runs against one daemon:

1. Backlog: N referrals (CCS_BENCH_N, default 20000) are produced to a fresh prefixed topic
   BEFORE the daemon starts; then the daemon drains them. Figures: throughput (inputs per
   second between the first and the last decision's Kafka timestamp, and from the process start
   to caught up), end-to-end latency (decision's Kafka timestamp minus its input's Kafka
   timestamp, matched through the decision's ccs_causation_id header; both are CreateTime
   stamped by the producers on this machine, ms resolution), transactions and mean batch size
   from /metrics, the daemon's peak RSS (VmHWM) and CPU time, the outbox backlog peak
   (sampled from PostgreSQL every CCS_BENCH_SAMPLE_MS, default 250).
2. Steady state: for each rate in CCS_BENCH_RATE (inputs/s, comma-separated, default
   "100,500"), CCS_BENCH_SECONDS (default 10) of inputs at that rate against the running, idle
   daemon, paced through one `ccsctl submit` process; latency percentiles of those inputs only.

In the backlog run, latency is mostly time spent waiting in the topic (everything was produced
before the daemon started), so it is also shown from the moment the daemon process started:
max(input time, start time) to the decision. The sampler also polls /livez and /readyz and
reports when /readyz first answered 200 and the longest /livez silence: the loop thread serves
HTTP between batches, so a long batch transaction shows up there.

The mix is like real traffic: about 5% re-referrals of a child already referred (linked), 5%
invalid referrals (rejected), the rest new valid ones. Every input yields exactly one decision;
the only failures (exit 1) are functional: a missing or extra decision, a daemon that dies or
does not catch up. Exit 77 when the servers are not available.
"""
import json
import os
import random
import subprocess
import threading
import time

from ccs_it import (KAFKA, Env, ccsctl, check, check_eq, finish, log, psql, scalar, wait_until)
from ccs_samples import envelope, referral

IN, OUT = "ccs.referral.submitted.v1", "ccs.referral.decided.v1"
N = int(os.environ.get("CCS_BENCH_N", "20000"))
RATES = [int(r) for r in os.environ.get("CCS_BENCH_RATE", "100,500").split(",") if r.strip()]
SECONDS = float(os.environ.get("CCS_BENCH_SECONDS", "10"))
SAMPLE = int(os.environ.get("CCS_BENCH_SAMPLE_MS", "250")) / 1000.0
PARTITIONS = 3


def make_events(rng, n, seen):
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


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def proc_status(pid):
    """VmHWM and VmRSS in KiB, and user+system CPU seconds, of a live process (or Nones)."""
    kib = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    kib[k] = int(v.split()[0])
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None, None, None
    return kib.get("VmHWM"), kib.get("VmRSS"), cpu


class Sampler(threading.Thread):
    """Polls the daemon while a run is under way: outbox rows in PostgreSQL, /proc, /livez, /readyz.

    Also records when /readyz first answered 200 and the longest time /livez went without an
    answer (the loop thread serves HTTP between batches: a long batch is a long silence).
    """

    def __init__(self, db, daemon):
        super().__init__(daemon=True)
        self.db, self.d = db, daemon
        self.stop_ev = threading.Event()
        self.outbox_peak = 0
        self.samples = 0
        self.hwm = None
        self.first_ready = None
        self.livez_gap = 0.0

    def run(self):
        last_live = time.time()
        while not self.stop_ev.is_set():
            try:
                n = int(scalar(self.db, "SELECT count(*) FROM outbox") or 0)
                self.outbox_peak = max(self.outbox_peak, n)
                self.samples += 1
            except RuntimeError:
                pass  # before the migrations created the table
            hwm, _, _ = proc_status(self.d.proc.pid)
            if hwm:
                self.hwm = hwm
            now = time.time()
            if self.d.get("/livez")[0] == 200:
                self.livez_gap = max(self.livez_gap, time.time() - last_live)
                last_live = time.time()
            if self.first_ready is None and self.d.get("/readyz")[0] == 200:
                self.first_ready = time.time()
            self.stop_ev.wait(max(0.0, SAMPLE - (time.time() - now)))

    def stop(self):
        self.stop_ev.set()
        self.join()


def metrics(d):
    """/metrics as {series: value}, series text as rendered (name and labels), with the engine's
    shared names (ccs_x{service="referral",...}) written the per-service way this script reads
    (ccs_referral_x{...}), so both namings work."""
    _, body = d.get("/metrics")
    out = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            svc = 'service="referral"'
            if k.startswith("ccs_") and svc in k and not k.startswith("ccs_referral_"):
                name, _, labels = k.partition("{")
                labels = ",".join(l for l in labels.rstrip("}").split(",") if l != svc)
                k = "ccs_referral_" + name[len("ccs_"):] + ("{%s}" % labels if labels else "")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    return out


def mdelta(after, before, name):
    return after.get(name, 0.0) - before.get(name, 0.0)


def transient(after, before):
    """The daemon's transient failures in a run: non-zero means the figures include recoveries."""
    pg = mdelta(after, before, 'ccs_referral_transient_errors_total{source="postgresql"}')
    kafka = mdelta(after, before, 'ccs_referral_transient_errors_total{source="kafka"}')
    note = "" if pg == 0 and kafka == 0 else "  (recoveries included: figures not representative)"
    return "%d, %d%s" % (pg, kafka, note)


def hist_quantile(after, before, base, q):
    """Upper bound of the histogram bucket holding quantile q of the observations in between."""
    buckets = []
    for k, v in after.items():
        if k.startswith(base + "_bucket{le=\""):
            le = k[len(base + "_bucket{le=\""):-2]
            buckets.append((float("inf") if le == "+Inf" else float(le), v - before.get(k, 0.0)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    for le, c in buckets:
        if total and c >= q * total:
            return le
    return None


def caught_up(db, total):
    try:
        # greatest(): a partition with nothing consumed yet stores a negative sentinel
        done = int(scalar(db, "SELECT COALESCE(sum(greatest(next_offset, 0)), 0) FROM consumer_offsets") or 0)
        backlog = int(scalar(db, "SELECT count(*) FROM outbox") or 0)
    except RuntimeError:
        return False
    return done >= total and backlog == 0


def input_times(env, total):
    """{ce_id: Kafka timestamp ms} of every record on the input topic."""
    msgs = env.tail(IN, idle=3, expect=total, timeout=120)
    return {m["headers"]["ce_id"]: int(m["timestamp"]) for m in msgs}


def decisions(env, total):
    """[(causation id, decision ce_id, Kafka timestamp ms)] of every decision on the wire."""
    msgs = env.tail(OUT, idle=3, expect=total, timeout=180)
    return [(m["headers"].get("ccs_causation_id"), m["headers"].get("ce_id"), int(m["timestamp"]))
            for m in msgs]


def latency_row(vals_ms):
    v = sorted(vals_ms)
    return [percentile(v, 50), percentile(v, 90), percentile(v, 99), v[-1] if v else None]


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.1f" % v if abs(v) < 1000 else "%.0f" % v) + unit
    return "%d%s" % (v, unit)


def table(title, rows):
    log("")
    log(title)
    w = max(len(r[0]) for r in rows)
    for name, val in rows:
        log("  %-*s  %s" % (w, name, val))


def check_decisions(ids, decs, what):
    """Every input exactly one decision; returns {input id: first decision timestamp}."""
    caus = {}
    extra = 0
    for c, did, ts in decs:
        if c not in ids:
            continue
        if c in caus:
            extra += 1  # the same decision re-published (never expected without crashes)
            caus[c] = min(caus[c], ts)
        else:
            caus[c] = ts
    missing = len(ids) - len(caus)
    check_eq(missing, 0, "%s: inputs without a decision" % what)
    check_eq(len({did for c, did, _ in decs if c in ids}), len(caus), "%s: one decision id per input" % what)
    if extra:
        log("note: %d decision(s) published twice on the wire in %s" % (extra, what))
    return caus


def steady(env, d, db, rng, seen, rate, produced_before):
    """One steady-state run at `rate` inputs/s; prints its table.

    Returns ([p50, p90, p99, max] latency in ms, inputs produced, daemon VmHWM in KiB).
    """
    total = int(rate * SECONDS)
    events = make_events(rng, total, seen)
    ids = {e["id"] for e in events}
    lines = [json.dumps(e, separators=(",", ":")) + "\n" for e in events]
    d.wait_ready(60)
    m_before = metrics(d)
    cpu_before = proc_status(d.proc.pid)[2]
    sampler = Sampler(db, d)
    sampler.start()
    sub = subprocess.Popen([ccsctl(), "-b", KAFKA, "submit", "-t", env.topic(IN), "-f", "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    sent = 0
    while sent < total:  # every 10 ms, write what is due by then
        due = min(total, int((time.time() - t0) * rate) + 1)
        if due > sent:
            sub.stdin.write("".join(lines[sent:due]))
            sub.stdin.flush()
            sent = due
        time.sleep(0.01)
    offered = time.time() - t0
    sub.stdin.close()
    sub_err = sub.stderr.read()
    check_eq(sub.wait(), 0, "steady %d/s: ccsctl submit exit status (%s)"
             % (rate, (sub_err.strip().splitlines() or [""])[-1]))
    if "BROKERS_DOWN" in sub_err or "Connection refused" in sub_err:
        log("note: the broker was unreachable during the %d/s run: its figures are not representative" % rate)
    check(wait_until(lambda: caught_up(db, produced_before + total), 300, 0.2), "steady %d/s: daemon caught up" % rate)
    sampler.stop()
    m_after = metrics(d)
    hwm, _, cpu_after = proc_status(d.proc.pid)
    in_ts = input_times(env, produced_before + total)
    first = check_decisions(ids, decisions(env, produced_before + total), "steady %d/s" % rate)
    lat = latency_row([first[i] - in_ts[i] for i in first if i in in_ts])
    tx = mdelta(m_after, m_before, 'ccs_referral_transactions_total{result="commit"}')
    bs = mdelta(m_after, m_before, "ccs_referral_batch_size_sum")
    bc = mdelta(m_after, m_before, "ccs_referral_batch_size_count")
    ts = mdelta(m_after, m_before, "ccs_referral_transaction_seconds_sum")
    table("steady run: %d referrals/s for %.0fs (%d inputs, offered over %.1fs) against the running daemon"
          % (rate, SECONDS, total, offered), [
        ("e2e latency p50/p90/p99/max", " / ".join(fmt(x, "ms") for x in lat)),
        ("transactions (commits)", "%d" % tx),
        ("mean batch size", "%s inputs/transaction" % fmt(bs / bc if bc else None)),
        ("mean transaction time", "%s ms" % fmt(1000 * ts / bc if bc else None)),
        ("transaction time p99 bucket", "<= %g s" % (hist_quantile(m_after, m_before,
                                                                      "ccs_referral_transaction_seconds", 0.99) or 0)),
        ("daemon CPU", "%s s over the run (%s%% of one core)" % (
            fmt(cpu_after - cpu_before), fmt(100.0 * (cpu_after - cpu_before) / offered))),
        ("daemon peak RSS (VmHWM, whole life)", "%s MiB" % fmt(hwm / 1024.0 if hwm else None)),
        ("outbox backlog peak", "%d rows" % sampler.outbox_peak),
        ("longest /livez silence", "%.1f s" % sampler.livez_gap),
        ("transient errors (pg, kafka)", transient(m_after, m_before)),
    ])
    return lat, total, hwm


env = Env("bench")
try:
    rng = random.Random(4488)
    db = env.db("referral")
    seen = []
    events = make_events(rng, N, seen)
    ids = {e["id"] for e in events}

    # The context the figures depend on: PostgreSQL's durability settings and the machine's load.
    pg = psql(db, "SELECT current_setting('server_version'), current_setting('synchronous_commit'),"
                  " current_setting('fsync')")[0]
    log("machine: %d cpus, load average %.2f %.2f %.2f; PostgreSQL %s (synchronous_commit=%s, fsync=%s); "
        "Kafka %s" % ((os.cpu_count() or 0,) + os.getloadavg() + tuple(pg) + (KAFKA,)))

    # ---- run 1: backlog ------------------------------------------------------------------
    out = subprocess.run([ccsctl(), "-b", KAFKA, "topics", "create", "--partitions", str(PARTITIONS),
                          env.topic(IN)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("ccsctl topics create failed: %s" % out.stderr)
    t = time.time()
    env.submit(IN, events)
    produce_s = time.time() - t
    log("produced %d referrals in %.1fs (%.0f/s through ccsctl submit)" % (N, produce_s, N / produce_s))

    # Production defaults, unless the environment sets them (other CCS_* settings pass through).
    d = env.daemon("referral", extra={k: os.environ.get(k, v) for k, v in
                                      (("CCS_RELAY_INTERVAL_MS", "200"), ("CCS_STATS_INTERVAL_MS", "5000"))})
    log("daemon settings: relay.interval.ms=%s batch.max=%s" % (
        d.vars["CCS_RELAY_INTERVAL_MS"], os.environ.get("CCS_BATCH_MAX", "500 (default)")))
    t_start = time.time()
    d.start()
    sampler = Sampler(db, d)
    sampler.start()
    # Not wait_ready(): readiness may come only once the loop has room for HTTP (see Sampler).
    check(wait_until(lambda: d.proc.poll() is not None or caught_up(db, N), 600, 0.2) and d.proc.poll() is None,
          "backlog: daemon caught up (offsets = inputs, outbox empty)")
    t_done = time.time()
    sampler.stop()
    m1 = metrics(d)
    hwm1, rss1, cpu1 = proc_status(d.proc.pid)
    check(d.proc.poll() is None, "backlog: daemon still running")

    in_ts = input_times(env, N)
    check_eq(len(in_ts), N, "backlog: input records on the topic")
    decs = decisions(env, N)
    first = check_decisions(ids, decs, "backlog")
    dts = sorted(first.values())
    span = (dts[-1] - dts[0]) / 1000.0 if len(dts) > 1 else None
    start_ms = int(t_start * 1000)
    lat = [first[i] - in_ts[i] for i in first if i in in_ts]
    lat_start = [first[i] - max(in_ts[i], start_ms) for i in first if i in in_ts]
    # The daemon is fresh: its counters are this run's (metrics are read after catching up).
    tx = m1.get('ccs_referral_transactions_total{result="commit"}', 0.0)
    bsum = m1.get("ccs_referral_batch_size_sum", 0.0)
    bcnt = m1.get("ccs_referral_batch_size_count", 0.0)
    tsum = m1.get("ccs_referral_transaction_seconds_sum", 0.0)
    tcnt = m1.get("ccs_referral_transaction_seconds_count", 0.0)
    outcomes = {k.split('outcome="')[1].rstrip('"}'): int(v) for k, v in m1.items()
                if k.startswith("ccs_referral_decisions_total{") and 'outcome="' in k}
    l1 = latency_row(lat)
    l1s = latency_row(lat_start)
    ready_s = sampler.first_ready - t_start if sampler.first_ready else None
    table("backlog run: %d referrals pre-produced to %d partitions, then ccs-referrald started" % (N, PARTITIONS), [
        ("throughput, first to last decision", "%s inputs/s (%d decisions in %ss)" % (
            fmt(N / span if span else None), len(first), fmt(span))),
        ("throughput, process start to caught up", "%s inputs/s (%.1fs)" % (
            fmt(N / (t_done - t_start)), t_done - t_start)),
        ("e2e latency p50/p90/p99/max", " / ".join(fmt(x / 1000.0, "s") for x in l1)
         + "  (mostly queued before the start)"),
        ("latency from start p50/p90/p99/max", " / ".join(fmt(x, "ms") for x in l1s)),
        ("transactions (commits)", "%d" % tx),
        ("mean batch size", "%s inputs/transaction" % fmt(bsum / bcnt if bcnt else None)),
        ("mean transaction time", "%s ms (p99 bucket <= %g s)" % (
            fmt(1000 * tsum / tcnt if tcnt else None),
            hist_quantile(m1, {}, "ccs_referral_transaction_seconds", 0.99) or 0)),
        ("daemon peak RSS (VmHWM)", "%s MiB (RSS now %s MiB)" % (fmt(hwm1 / 1024.0 if hwm1 else None),
                                                                fmt(rss1 / 1024.0 if rss1 else None))),
        ("daemon CPU time (since start)", "%s s (%s us per input)" % (fmt(cpu1), fmt(1e6 * cpu1 / N if cpu1 else None))),
        ("outbox backlog peak", "%d rows (%d samples every %d ms)" % (sampler.outbox_peak, sampler.samples,
                                                                     SAMPLE * 1000)),
        ("/readyz first 200 after start", "%s s" % fmt(ready_s)),
        ("longest /livez silence", "%.1f s" % sampler.livez_gap),
        ("transient errors (pg, kafka)", transient(m1, {})),
        ("decisions by outcome", ", ".join("%s %d" % kv for kv in sorted(outcomes.items()))),
    ])

    # ---- run 2: steady state, one run per rate -------------------------------------------
    produced = N
    summary = []
    hwm2 = hwm1
    for rate in RATES:
        lat, total, hwm2 = steady(env, d, db, rng, seen, rate, produced)
        produced += total
        summary.append("steady_%d_p50_ms=%s p90=%s p99=%s max=%s" % ((rate,) + tuple(lat)))
    log("")
    log("BENCH referral n=%d backlog_inputs_per_s=%.0f mean_batch=%.1f peak_rss_mib=%.1f outbox_peak=%d %s"
        % (N, N / span if span else 0, bsum / bcnt if bcnt else 0, (hwm2 or 0) / 1024.0,
           sampler.outbox_peak, " ".join(summary)))
    log("load average at the end: %.2f %.2f %.2f" % os.getloadavg())
    check_eq(d.stop(), 0, "daemon drains and exits 0 on SIGTERM")
finally:
    env.cleanup()
finish()
