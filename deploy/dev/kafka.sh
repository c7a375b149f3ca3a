#!/usr/bin/env bash
# deploy/dev/kafka.sh: a Kafka cluster for development and tests.
#
#   usage: deploy/dev/kafka.sh up|down|status|bootstrap|reset|smoke
#     up         make sure a cluster answers (idempotent: reuses a running broker)
#     down       stop the broker this script started (data is kept for the next `up`)
#     status     print what is used; exit 0 if it answers, 3 otherwise
#     bootstrap  print the bootstrap servers; exit 1 when nothing answers
#     reset      down, then delete the broker's data (.run/kafka)
#     smoke [TOPIC]  produce one record and read it back (ccs-mockbroker --probe --roundtrip)
#     topics ARGS    kafka-topics (TopicCommand) against the cluster, e.g.
#                    topics --create --topic T --partitions 3 --replication-factor 1
#     run CLASS ARGS run any class of the broker jars, e.g.
#                    run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server ...
#
# The cluster is the first of:
#   1. $CCS_KAFKA_BOOTSTRAP (any existing cluster; never started or stopped here), unless
#      it names this script's own broker (127.0.0.1:$CCS_KAFKA_PORT), which is managed as usual;
#   2. a broker this script started, or any broker already answering on 127.0.0.1:9092;
#   3. a real Apache Kafka 3.9 broker, single node KRaft, broker on 127.0.0.1:9092 and
#      controller on 9093, jars fetched by Maven into deploy/kafka/lib (deploy/kafka/pom.xml),
#      data, configuration, pid file and logs under .run/kafka;
#   4. with no Java: the librdkafka mock cluster (tools/mockbroker), which keeps only 5 MiB
#      per partition and loses everything when it stops.
# Readiness is a real metadata request made by `ccs-mockbroker --probe`, which this script
# compiles into .run/bin with one `cc` command when no CMake build provides it.
#
# Environment: CCS_KAFKA_PORT (9092), CCS_KAFKA_CONTROLLER_PORT (9093),
# CCS_KAFKA_START_TIMEOUT seconds (120), CCS_KAFKA_HEAP (512m), CCS_KAFKA_MOCK=1 forces 4,
# CCS_RUN_DIR (.run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNROOT=${CCS_RUN_DIR:-$ROOT/.run}
RUN=$RUNROOT/kafka
KDIR=$ROOT/deploy/kafka
LIB=$KDIR/lib
PORT=${CCS_KAFKA_PORT:-9092}
CPORT=${CCS_KAFKA_CONTROLLER_PORT:-9093}
TIMEOUT=${CCS_KAFKA_START_TIMEOUT:-120}
HEAP=${CCS_KAFKA_HEAP:-512m}
LOCAL_BS=127.0.0.1:$PORT

die() {
	echo "kafka.sh: $*" >&2
	exit 1
}

# --- the probe -----------------------------------------------------------------------

# Print the path of a ccs-mockbroker binary, building .run/bin/ccs-mockbroker if needed.
probe_bin() {
	local src=$ROOT/tools/mockbroker/mockbroker.c out=$RUNROOT/bin/ccs-mockbroker b
	if [ -n "${CCS_MOCKBROKER:-}" ] && [ -x "$CCS_MOCKBROKER" ]; then
		echo "$CCS_MOCKBROKER"
		return 0
	fi
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		mkdir -p "$RUNROOT/bin"
		# shellcheck disable=SC2046
		cc -std=c11 -O2 -D_GNU_SOURCE -Wall -o "$out.tmp.$$" "$src" \
			$(pkg-config --cflags --libs rdkafka) 2>"$RUNROOT/bin/build.log" ||
			{
				for b in "$ROOT"/build/*/tools/mockbroker/ccs-mockbroker; do
					[ -x "$b" ] && { echo "$b"; return 0; }
				done
				return 1
			}
		mv -f "$out.tmp.$$" "$out"
	fi
	echo "$out"
}

tcp_open() { # tcp_open HOST PORT
	(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# answers BOOTSTRAP [TIMEOUT_MS]: a metadata request succeeds (TCP only without a probe).
answers() {
	local bin hp=${1%%,*}
	if bin=$(probe_bin); then
		"$bin" --probe "$1" --timeout "${2:-3000}" >/dev/null 2>&1
	else
		tcp_open "${hp%:*}" "${hp##*:}"
	fi
}

# --- state ---------------------------------------------------------------------------

# pid_alive kafka|mock: the process of the pid file runs and is what it should be (a pid
# file left over from before a reboot may name an unrelated process).
pid_alive() {
	local pid want=kafka.Kafka
	[ "$1" = mock ] && want=ccs-mockbroker
	[ -f "$RUN/$1.pid" ] || return 1
	pid=$(cat "$RUN/$1.pid")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$want"
}

# CCS_KAFKA_BOOTSTRAP names a cluster this script does not manage. test.sh exports the
# variable for our own broker too (from `servers.sh env`), and then up/down/status must
# still manage that broker, so a value naming our own listener is not external.
external() {
	local bs=${CCS_KAFKA_BOOTSTRAP:-}
	[ -n "$bs" ] || return 1
	[ "$bs" = "$LOCAL_BS" ] || [ "$bs" = "localhost:$PORT" ] && return 1
	[ -s "$RUN/mock.bootstrap" ] && [ "$bs" = "$(cat "$RUN/mock.bootstrap")" ] && return 1
	return 0
}

# Print the bootstrap servers of a cluster that answers now, without starting anything.
current_bootstrap() {
	if external; then
		answers "$CCS_KAFKA_BOOTSTRAP" 3000 || return 1
		echo "$CCS_KAFKA_BOOTSTRAP"
	elif pid_alive mock && [ -s "$RUN/mock.bootstrap" ]; then
		answers "$(cat "$RUN/mock.bootstrap")" 2000 || return 1
		cat "$RUN/mock.bootstrap"
	elif tcp_open 127.0.0.1 "$PORT" && answers "$LOCAL_BS" 5000; then
		echo "$LOCAL_BS"
	else
		return 1
	fi
}

# --- the real broker -----------------------------------------------------------------

java_ok() {
	local v
	[ "${CCS_KAFKA_MOCK:-0}" != 1 ] || return 1
	command -v java >/dev/null 2>&1 || return 1
	v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
	[ -n "$v" ] && [ "$v" -ge 17 ]
}

# Fetch the broker jars once (and again when the pom changes).
fetch_jars() {
	local t0
	if [ -f "$LIB/.stamp" ] && [ ! "$KDIR/pom.xml" -nt "$LIB/.stamp" ] &&
		ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1; then
		return 0
	fi
	command -v mvn >/dev/null 2>&1 || die "maven is missing; run deploy/dev/deps.sh"
	t0=$(date +%s)
	echo "kafka.sh: fetching Kafka jars with Maven (once)" >&2
	rm -rf "$LIB"
	mkdir -p "$RUN"
	(cd "$KDIR" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$LIB") \
		>"$RUN/mvn.log" 2>&1 || {
		tail -n 30 "$RUN/mvn.log" >&2
		die "mvn dependency:copy-dependencies failed (log: $RUN/mvn.log)"
	}
	touch "$LIB/.stamp"
	echo "kafka.sh: jars fetched in $(($(date +%s) - t0)) s" >&2
}

write_config() {
	mkdir -p "$RUN/data" "$RUN/logs"
	cat >"$RUN/server.properties" <<EOF
# Generated by deploy/dev/kafka.sh: single-node KRaft broker for development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$RUN/data
# Topics are created explicitly (by tests and ccsctl), as in production.
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
# After a kill -9 the new incarnation waits for the old one's session to expire (9 s by
# default) before it may register: keep that short for chaos tests.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=2500
delete.topic.enable=true
# Sized for a 2-core machine and a 512 MiB heap.
num.network.threads=2
num.io.threads=4
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.segment.bytes=67108864
log.retention.hours=24
EOF
	cat >"$RUN/log4j.properties" <<EOF
# Generated by deploy/dev/kafka.sh: warnings and errors only, plus the start/stop lines.
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$RUN/logs/server.log
log4j.appender.file.MaxFileSize=10MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.state.change.logger=WARN
EOF
}

# The JVM options of every Kafka class this script runs.
java_opts() {
	JOPTS=(-Xmx"$HEAP" -Xms128m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
		-Dlog4j.configuration="file:$RUN/log4j.properties" -Dkafka.logs.dir="$RUN/logs"
		-cp "$LIB/*")
}

format_storage() {
	local id
	[ -f "$RUN/data/meta.properties" ] && return 0
	# A Kafka cluster id is 16 random bytes in URL-safe base64 without padding.
	id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	java_opts
	# --cluster-id=ID, not "-t ID": an id that starts with '-' (1 in 64) would read as an option.
	java "${JOPTS[@]}" kafka.tools.StorageTool format --cluster-id="$id" -c "$RUN/server.properties" \
		>"$RUN/logs/format.log" 2>&1 || {
		tail -n 20 "$RUN/logs/format.log" >&2
		die "kafka.tools.StorageTool format failed"
	}
}

log_tail() {
	echo "--- tail of $RUN/logs/kafka.out" >&2
	tail -n 20 "$RUN/logs/kafka.out" >&2 2>/dev/null || true
	echo "--- tail of $RUN/logs/server.log" >&2
	tail -n 30 "$RUN/logs/server.log" >&2 2>/dev/null || true
}

start_broker() {
	local t0 pid i
	t0=$(date +%s%N)
	fetch_jars
	write_config
	format_storage
	# setsid + all fds redirected: the broker outlives this script and never holds its
	# caller's stdout (a CI runner waiting for EOF would hang otherwise).
	java_opts
	setsid java "${JOPTS[@]}" kafka.Kafka "$RUN/server.properties" \
		</dev/null >>"$RUN/logs/kafka.out" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$RUN/kafka.pid"
	for ((i = 0; i < TIMEOUT * 5; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log_tail
			rm -f "$RUN/kafka.pid"
			die "the broker exited during start-up"
		fi
		if tcp_open 127.0.0.1 "$PORT" && answers "$LOCAL_BS" 2000; then
			echo "kafka.sh: broker up on $LOCAL_BS in $((($(date +%s%N) - t0) / 1000000)) ms" >&2
			return 0
		fi
		sleep 0.2
	done
	log_tail
	stop_pid kafka 30
	die "the broker did not answer on $LOCAL_BS within $TIMEOUT s"
}

# --- the mock cluster ----------------------------------------------------------------

start_mock() {
	local bin pid i
	bin=$(probe_bin) || die "cannot build tools/mockbroker (see $RUNROOT/bin/build.log)"
	mkdir -p "$RUN/logs"
	rm -f "$RUN/mock.bootstrap"
	setsid "$bin" -b 1 -f "$RUN/mock.bootstrap" </dev/null >>"$RUN/logs/mock.out" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$RUN/mock.pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$RUN/mock.bootstrap" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$RUN/mock.bootstrap" ] && answers "$(cat "$RUN/mock.bootstrap")" 5000 || {
		tail -n 20 "$RUN/logs/mock.out" >&2
		die "the mock cluster did not start"
	}
	echo "kafka.sh: no Java: using the librdkafka mock cluster on $(cat "$RUN/mock.bootstrap")" \
		"(5 MiB per partition, nothing survives a stop)" >&2
}

# stop_pid NAME GRACE_SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
	local pid i
	[ -f "$RUN/$1.pid" ] || return 0
	pid=$(cat "$RUN/$1.pid")
	if pid_alive "$1"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < $2 * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "kafka.sh: $1 (pid $pid) ignored SIGTERM for $2 s: killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$RUN/$1.pid"
}

# --- commands ------------------------------------------------------------------------

# Serialize up/down/reset: a test fixture and a developer may call `up` at the same time.
lock() {
	mkdir -p "$RUN"
	exec 9>"$RUN/.lock"
	flock 9
}

cmd_up() {
	if external; then
		answers "$CCS_KAFKA_BOOTSTRAP" 10000 ||
			die "CCS_KAFKA_BOOTSTRAP=$CCS_KAFKA_BOOTSTRAP does not answer"
		return 0
	fi
	lock
	current_bootstrap >/dev/null && return 0
	if pid_alive kafka; then
		# Ours but not answering (still starting, or wedged): give it the start timeout.
		local i
		for ((i = 0; i < TIMEOUT; i++)); do
			answers "$LOCAL_BS" 1000 && return 0
			pid_alive kafka || break
		done
		log_tail
		die "the broker (pid $(cat "$RUN/kafka.pid")) runs but does not answer"
	fi
	stop_pid mock 5
	if java_ok; then
		tcp_open 127.0.0.1 "$PORT" &&
			die "port $PORT is taken by something that is not a Kafka broker"
		start_broker
	else
		start_mock
	fi
}

cmd_down() {
	[ -d "$RUN" ] || return 0
	lock
	stop_pid kafka 60
	stop_pid mock 5
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status)
	if bs=$(current_bootstrap); then
		if external; then
			echo "kafka: external $bs"
		elif pid_alive mock; then
			echo "kafka: mock cluster $bs (pid $(cat "$RUN/mock.pid"))"
		elif pid_alive kafka; then
			echo "kafka: broker $bs (pid $(cat "$RUN/kafka.pid"), data $RUN/data)"
		else
			echo "kafka: broker $bs (not started by this checkout)"
		fi
	else
		echo "kafka: down"
		exit 3
	fi
	;;
bootstrap)
	current_bootstrap || die "no Kafka cluster answers; run deploy/dev/kafka.sh up"
	;;
reset)
	cmd_down
	rm -rf "$RUN"
	;;
smoke)
	bs=$(current_bootstrap) || die "no Kafka cluster answers; run deploy/dev/kafka.sh up"
	"$(probe_bin)" --probe "$bs" --roundtrip "${2:-ccs.dev.smoke}" --timeout 30000
	;;
topics)
	shift
	bs=$(current_bootstrap) || die "no Kafka cluster answers; run deploy/dev/kafka.sh up"
	java_ok && [ -f "$RUN/log4j.properties" ] || die "topics needs Java and the broker jars"
	java_opts
	exec java "${JOPTS[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" "$@"
	;;
run)
	shift
	[ $# -ge 1 ] || die "usage: kafka.sh run CLASS ARGS..."
	java_ok || die "run needs Java"
	fetch_jars
	[ -f "$RUN/log4j.properties" ] || write_config
	java_opts
	exec java "${JOPTS[@]}" "$@"
	;;
*)
	sed -n '2,29p' "$0" >&2
	exit 2
	;;
esac
