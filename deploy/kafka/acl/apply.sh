#!/usr/bin/env bash
# deploy/kafka/acl/apply.sh: SCRAM users, topics and ACLs of the CCS MTP pipeline on a Kafka
# cluster that runs an authorizer (KRaft: StandardAuthorizer), from the definitions in ccs.acl
# and the county table. Idempotent: run it again after changing either file.
#
#   usage: deploy/kafka/acl/apply.sh [options]
#     -b, --bootstrap HOST:PORT  the cluster (default $CCS_KAFKA_BOOTSTRAP)
#     -c, --command-config FILE  Java client properties of a super user (security.protocol,
#                                sasl.mechanism, sasl.jaas.config, ssl.*), as for kafka-acls.sh
#     -p, --passwords FILE       "user password" lines; users missing from it get a random
#                                password, appended to FILE (created 0600)
#         --no-users             leave SCRAM credentials alone (users managed elsewhere)
#         --topic-prefix P       prefix of every TOPIC name (the daemons' topics.prefix)
#         --partitions N         partitions of created topics (default: the broker's)
#         --replication-factor N replication of created topics (default: the broker's)
#         --prune                also remove bindings of these principals that ccs.acl no
#                                longer gives them
#         --acl FILE             the definitions (default: ccs.acl next to this script)
#         --counties FILE        the county table (default: deploy/data/counties.tsv)
#         --plan                 print the expanded users, topics and ACLs (no passwords); exit
#         --print-commands[=java]  print the equivalent kafka-configs.sh / kafka-topics.sh /
#                                kafka-acls.sh commands (=java: as java -cp LIB/* CLASS) and
#                                kafka-storage.sh --add-scram arguments; exit
#
# Applying runs AclApply.java (Java AdminClient, one JVM for everything) with Java's source
# launcher, which needs a JDK (jdk.compiler); the Kafka jars come from $CCS_KAFKA_LIB, else
# deploy/kafka/lib (fetched by deploy/dev/kafka.sh up). Without a JDK use --print-commands.
set -euo pipefail

DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DIR/../../.." && pwd)
LIB=${CCS_KAFKA_LIB:-$ROOT/deploy/kafka/lib}
ACL=$DIR/ccs.acl
COUNTIES=$ROOT/deploy/data/counties.tsv
BOOTSTRAP=${CCS_KAFKA_BOOTSTRAP:-}
CMDCFG=
PWFILE=
USERS=1
PREFIX=
PARTS=-1
RF=-1
PRUNE=
MODE=apply

die() {
	echo "apply.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	-b | --bootstrap) BOOTSTRAP=${2:?}; shift ;;
	-c | --command-config) CMDCFG=${2:?}; shift ;;
	-p | --passwords) PWFILE=${2:?}; shift ;;
	--no-users) USERS= ;;
	--topic-prefix) PREFIX=${2?}; shift ;;
	--partitions) PARTS=${2:?}; shift ;;
	--replication-factor) RF=${2:?}; shift ;;
	--prune) PRUNE=--prune ;;
	--acl) ACL=${2:?}; shift ;;
	--counties) COUNTIES=${2:?}; shift ;;
	--plan) MODE=plan ;;
	--print-commands) MODE=print ;;
	--print-commands=java) MODE=printjava ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	*) die "unknown option $1 (--help lists them)" ;;
	esac
	shift
done
[[ $PARTS =~ ^-?[0-9]+$ && $RF =~ ^-?[0-9]+$ ]] || die "--partitions and --replication-factor take numbers"
[ -r "$ACL" ] || die "cannot read the definitions $ACL"
[ -r "$COUNTIES" ] || die "cannot read the county table $COUNTIES (--counties FILE)"

# --- expand the definitions ----------------------------------------------------------
# One ACL per output line: principal, resource type, name (prefixed), pattern type, operation,
# tab-separated. Placeholders: {office} on "office" lines, {county} on "county" lines.
expand() {
	awk -v prefix="$PREFIX" -v aclfile="$ACL" -v ctyfile="$COUNTIES" '
	function slug(s) {
		s = tolower(s)
		gsub(/[^a-z0-9]+/, "-", s)
		sub(/^-+/, "", s)
		sub(/-+$/, "", s)
		return s
	}
	function bad(file, line, why) {
		printf "apply.sh: %s:%d: %s\n", file, line, why > "/dev/stderr"
		failed = 1
		exit 1
	}
	BEGIN { OFS = "\t" }
	FILENAME == ctyfile {
		if ($0 ~ /^#/ || $0 ~ /^[ \t]*$/)
			next
		nf = split($0, f, "\t")
		if (f[1] == "ccs-counties")
			next
		if (nf < 4 || (f[3] != "INDEPENDENT" && f[3] != "DEPENDENT"))
			bad(FILENAME, FNR, "not a county row (name code model office ...)")
		c = slug(f[1])
		if (c == "")
			bad(FILENAME, FNR, "a county name without letters or digits")
		if (!(c in county)) { county[c] = 1; ncounty++; clist[ncounty] = c }
		o = f[3] == "INDEPENDENT" ? c : "region-" slug(f[4])
		if (!(o in office)) { office[o] = 1; noffice++; olist[noffice] = o }
		next
	}
	FILENAME == aclfile {
		if ($0 ~ /^[ \t]*#/ || $0 ~ /^[ \t]*$/)
			next
		if (NF != 6)
			bad(FILENAME, FNR, "expected 6 fields: scope principal resource-type name pattern-type operations")
		if ($2 !~ /^User:[A-Za-z0-9._{}-]+$/)
			bad(FILENAME, FNR, "principal must be User:<name>")
		if ($3 !~ /^(TOPIC|GROUP|CLUSTER|TRANSACTIONAL_ID)$/)
			bad(FILENAME, FNR, "resource type must be TOPIC, GROUP, CLUSTER or TRANSACTIONAL_ID")
		if ($5 !~ /^(LITERAL|PREFIXED)$/)
			bad(FILENAME, FNR, "pattern type must be LITERAL or PREFIXED")
		if ($6 !~ /^[A-Z_]+(,[A-Z_]+)*$/)
			bad(FILENAME, FNR, "operations: comma-separated AclOperation names (READ,DESCRIBE)")
		line = $2 "\t" $3 "\t" ($3 == "TOPIC" ? prefix : "") $4 "\t" $5 "\t" $6
		if ($1 == "-") {
			if (line ~ /[{}]/)
				bad(FILENAME, FNR, "a placeholder on a line of scope -")
			emit(line)
		} else if ($1 == "office" || $1 == "county") {
			other = $1 == "office" ? "{county}" : "{office}"
			if (index(line, other))
				bad(FILENAME, FNR, other " on a line of scope " $1)
			if (!index(line, "{" $1 "}"))
				bad(FILENAME, FNR, "a line of scope " $1 " without {" $1 "}")
			n = $1 == "office" ? noffice : ncounty
			for (i = 1; i <= n; i++) {
				l = line
				gsub("\\{" $1 "\\}", $1 == "office" ? olist[i] : clist[i], l)
				emit(l)
			}
		} else {
			bad(FILENAME, FNR, "scope must be -, office or county")
		}
	}
	function emit(l,   f, ops, k) {
		split(l, f, "\t")
		nops = split(f[5], ops, ",")
		for (k = 1; k <= nops; k++)
			print f[1], f[2], f[3], f[4], ops[k]
	}
	END {
		if (!failed && ncounty == 0) {
			print "apply.sh: no county in " ctyfile > "/dev/stderr"
			exit 1
		}
	}
	' "$COUNTIES" "$ACL"
}

ACLS=$(expand) || exit 1
# User names of every User: principal, in order of first appearance.
USERLIST=$(printf '%s\n' "$ACLS" | awk -F'\t' '{ u = substr($1, 6); if (!(u in s)) { s[u] = 1; print u } }')
# Every LITERAL TOPIC is created.
TOPICS=$(printf '%s\n' "$ACLS" | awk -F'\t' '$2 == "TOPIC" && $4 == "LITERAL" && !s[$3]++ { print $3 }')

if [ "$MODE" = plan ]; then
	printf '%s\n' "$USERLIST" | sed 's/^/user\t/'
	printf '%s\n' "$TOPICS" | awk -v p="$PARTS" -v r="$RF" '{ print "topic\t" $0 "\t" p "\t" r }'
	printf '%s\n' "$ACLS" | sed 's/^/acl\t/'
	exit 0
fi

# --- printed commands ----------------------------------------------------------------
if [ "$MODE" = print ] || [ "$MODE" = printjava ]; then
	BS=${BOOTSTRAP:-BOOTSTRAP}
	CC=${CMDCFG:+ --command-config $CMDCFG}
	tool() { # tool SCRIPT CLASS
		if [ "$MODE" = printjava ]; then echo "java -cp '$LIB/*' $2"; else echo "$1"; fi
	}
	echo "# SCRAM users on a running cluster (replace <password> with each user's password):"
	cfgs=$(tool kafka-configs.sh kafka.admin.ConfigCommand)
	while read -r u; do
		echo "$cfgs --bootstrap-server $BS$CC --alter --entity-type users --entity-name $u" \
			"--add-config 'SCRAM-SHA-512=[iterations=8192,password=<password>]'"
	done <<<"$USERLIST"
	echo "# or, for a fresh KRaft cluster, these arguments to kafka-storage.sh format:"
	while read -r u; do
		echo "#   --add-scram 'SCRAM-SHA-512=[name=$u,password=<password>]'"
	done <<<"$USERLIST"
	echo "# topics:"
	tops=$(tool kafka-topics.sh org.apache.kafka.tools.TopicCommand)
	popt=; [ "$PARTS" -ge 0 ] && popt=" --partitions $PARTS"
	ropt=; [ "$RF" -ge 0 ] && ropt=" --replication-factor $RF"
	while read -r t; do
		echo "$tops --bootstrap-server $BS$CC --create --if-not-exists --topic $t$popt$ropt"
	done <<<"$TOPICS"
	echo "# ACLs (one command per principal and resource):"
	acls=$(tool kafka-acls.sh kafka.admin.AclCommand)
	printf '%s\n' "$ACLS" | awk -F'\t' -v cmd="$acls --bootstrap-server $BS$CC --add" '
	function camel(op,   parts, n, i, s) {
		n = split(tolower(op), parts, "_")
		for (i = 1; i <= n; i++)
			s = s toupper(substr(parts[i], 1, 1)) substr(parts[i], 2)
		return s
	}
	{
		k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
		if (!(k in ops)) { order[++n] = k }
		ops[k] = ops[k] " --operation " camel($5)
	}
	END {
		for (i = 1; i <= n; i++) {
			split(order[i], f, SUBSEP)
			res = f[2] == "TOPIC" ? "--topic " f[3] : f[2] == "GROUP" ? "--group " f[3] \
			    : f[2] == "CLUSTER" ? "--cluster" : "--transactional-id " f[3]
			printf "%s --allow-principal %s%s %s --resource-pattern-type %s\n", cmd, f[1], ops[order[i]],
			    res, tolower(f[4])
		}
	}'
	exit 0
fi

# --- apply ---------------------------------------------------------------------------
[ -n "$BOOTSTRAP" ] || die "no cluster: -b HOST:PORT or CCS_KAFKA_BOOTSTRAP"
[ -z "$CMDCFG" ] || [ -r "$CMDCFG" ] || die "cannot read $CMDCFG"
command -v java >/dev/null 2>&1 || die "java is missing (or use --print-commands)"
java --list-modules 2>/dev/null | grep -q '^jdk\.compiler@' ||
	die "java has no jdk.compiler (a JRE): install a JDK (openjdk-17-jdk-headless) or use --print-commands"
ls "$LIB"/kafka-clients-*.jar >/dev/null 2>&1 ||
	die "no Kafka jars in $LIB: run deploy/dev/kafka.sh up once, or set CCS_KAFKA_LIB to a Kafka libs/ directory"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
umask 077

if [ -n "$USERS" ]; then
	[ -n "$PWFILE" ] || die "-p FILE: where users' passwords are read (and new ones written); or --no-users"
	[ -e "$PWFILE" ] || : >"$PWFILE"
	fresh=0
	while read -r u; do
		if ! awk -v u="$u" '$1 == u { f = 1 } END { exit !f }' "$PWFILE"; then
			# 18 random bytes, URL-safe base64: no character kafka-configs' [a=b,c=d] syntax needs.
			printf '%s %s\n' "$u" "$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" >>"$PWFILE"
			fresh=$((fresh + 1))
		fi
	done <<<"$USERLIST"
	[ "$fresh" -eq 0 ] || echo "apply.sh: $fresh new passwords written to $PWFILE" >&2
fi

{
	if [ -n "$USERS" ]; then
		while read -r u; do
			awk -v u="$u" '$1 == u && !done { print "user\t" u "\t" $2; done = 1 }' "$PWFILE"
		done <<<"$USERLIST"
	fi
	printf '%s\n' "$TOPICS" | awk -v p="$PARTS" -v r="$RF" '{ print "topic\t" $0 "\t" p "\t" r }'
	printf '%s\n' "$ACLS" | sed 's/^/acl\t/'
} >"$TMP/plan"

cat >"$TMP/log4j.properties" <<EOF
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
echo "apply.sh: $(wc -l <<<"$USERLIST") principals, $(wc -l <<<"$TOPICS") topics," \
	"$(wc -l <<<"$ACLS") ACL bindings on $BOOTSTRAP" >&2
java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j.configuration="file:$TMP/log4j.properties" \
	-cp "$LIB/*" "$DIR/AclApply.java" "$BOOTSTRAP" "${CMDCFG:--}" $PRUNE <"$TMP/plan"
