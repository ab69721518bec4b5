#!/bin/sh
# bench/socketmap.sh BUILDDIR: mtasts-socketmap next to
# postfix-mta-sts-resolver 1.1.2 (Debian's mta-sts-daemon; in-memory and
# sqlite cache) and a trivial fixed-answer responder (smload -S, the
# floor), all against the same fixture, in a private network namespace
# (loopback only).  Prints one table and writes it as JSON to
# bench/results/socketmap-DATE.json.  Figures only; a few minutes.
#
#   cache-hit requests/s, p50, p99 at 1, 8, 64 connections (smload,
#	one request in flight per connection; three rounds of 2 s, servers
#	in turn, the median round kept)
#   cold: the 200 bulk domains at 16 in flight, fresh caches; the curl
#	TLS handshake floor
#   resident memory after 1 000 and 10 000 enforce domains, fresh
#	daemons: the fixture has only 200, so bench/bigzone.sh serves
#	10 000 more (d1-d10000.big.test) from its own nsd and nginx
#   mtasts query on a cached domain (one process, wall)
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "socketmap: skipped (the fixture needs root)"
	exit 0
fi
if [ -z "${SMBENCH_NETNS:-}" ]; then
	exec env SMBENCH_NETNS=1 unshare -n sh -c \
	    'ip link set lo up && exec sh "$0" "$1"' "$0" "$B"
fi
S=$(pwd)/$B/fixture-bench-socketmap
SM=$(pwd)/$B/mtasts-socketmap
L=$(pwd)/$B/smload
SECS=${SMBENCH_SECONDS:-2}
mkdir -p "$S.d"
sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 || {
	echo "socketmap: fixture did not start, see $S.log"
	exit 1
}
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; sleep 0.5;
    sh "$here/bench/bigzone.sh" stop "$S.d/bigzone" "$S" >/dev/null 2>&1;
    sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
W=$S.d
rm -rf "${W:?}"/*
theirs=""
command -v mta-sts-daemon >/dev/null && [ -n "$FIXTURE_RESOLV_CONF" ] &&
    theirs=1

listening() { nc -z 127.0.0.1 "$1" 2>/dev/null; }
waitport() {
	w=100
	while ! listening "$1"; do
		w=$((w - 1)); [ $w -gt 0 ] || return 1; sleep 0.1
	done
}
# ours PORT NAME [flags]: a fresh mtasts-socketmap with its own cache
ours() {
	port=$1 name=$2
	shift 2
	mkdir -p "$W/$name.cache"
	sed -e "s|^cache_dir.*|cache_dir = $W/$name.cache|" \
	    -e "s|^resolver.*|resolver = ${OURS_RESOLVER:-$FIXTURE_RESOLVER}|" \
	    "$FIXTURE_CONF" >"$W/$name.conf"
	"$SM" -f -c "$W/$name.conf" -l "127.0.0.1:$port" "$@" \
	    >"$W/$name.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	waitport "$port"
}
# theirs PORT NAME internal|sqlite: a fresh mta-sts-daemon
theirs() {
	port=$1 name=$2
	if [ "$3" = sqlite ]; then
		cache="  type: sqlite
  options:
    filename: \"$W/$name.sqlite\""
	else
		cache="  type: internal
  options:
    cache_size: 20000"
	fi
	cat >"$W/$name.yml" <<EOF
host: 127.0.0.1
port: $port
reuse_port: true
cache:
$cache
default_zone:
  strict_testing: false
  timeout: 4
EOF
	unshare --mount --propagation private sh -c "mount --bind \
	    '${THEIRS_RESOLV:-$FIXTURE_RESOLV_CONF}' /etc/resolv.conf && \
	    SSL_CERT_FILE='$FIXTURE_CA' \
	    exec mta-sts-daemon -c '$W/$name.yml' -v warn" >"$W/$name.log" 2>&1 &
	pids="$pids $!"
	waitport "$port"
	# the python process itself (unshare execs sh, which execs it)
	pid=$(pgrep -f "mta-sts-daemon -c $W/$name.yml" | head -n 1)
}
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }
jget() { sed -n "s/.*\"$2\": \\([0-9.]*\\).*/\\1/p" "$1"; }

: >"$W/results.jsonl"
# rec KEY JSON: one result line
rec() { printf '{"name": "%s", %s\n' "$1" "${2#\{}" >>"$W/results.jsonl"; }

echo "socketmap: starting daemons (fixture in a private netns)"
ours 8461 ours; pid_ours=$pid
ours 8465 ours-nomemo -m 0; pid_nomemo=$pid
"$L" -S 127.0.0.1:8464 >/dev/null 2>&1 &
pids="$pids $!"
waitport 8464
servers="ours:8461 ours-nomemo:8465 floor:8464"
if [ -n "$theirs" ]; then
	theirs 8462 theirs-memory internal
	theirs 8463 theirs-sqlite sqlite
	servers="$servers theirs-memory:8462 theirs-sqlite:8463"
fi

echo "socketmap: cache-hit throughput, ${SECS}s per figure"
# Each concurrency level measures every server in turn, so that the
# machine's other load hits them alike.
up=""
for s in $servers; do
	"$L" -c 1 -n 50 -k enforce.test "127.0.0.1:${s#*:}" >/dev/null &&
	    up="$up $s" || echo "socketmap: ${s%%:*} does not answer"
done
# Three rounds; each figure is the round with the median requests/s.
for c in 1 8 64; do
	for s in $up; do : >"$W/hit-${s%%:*}-$c.jsonl"; done
	for round in 1 2 3; do
		for s in $up; do
			"$L" -c $c -t "$SECS" -n 100000000 -k enforce.test \
			    "127.0.0.1:${s#*:}" >>"$W/hit-${s%%:*}-$c.jsonl"
		done
	done
	for s in $up; do
		m=$(awk -F'"rps": ' '{ split($2, a, ","); print a[1], NR }' \
		    "$W/hit-${s%%:*}-$c.jsonl" | sort -n | sed -n 2p |
		    cut -d' ' -f2)
		[ -n "$m" ] && rec "hit-${s%%:*}-c$c" \
		    "$(sed -n "${m}p" "$W/hit-${s%%:*}-$c.jsonl")"
	done
done

echo "socketmap: cold, 200 bulk domains at 16 in flight"
i=1
: >"$W/bulk.txt"
while [ $i -le 200 ]; do printf 'bulk%03d.test\n' $i >>"$W/bulk.txt"; i=$((i + 1)); done
for run in 1 2; do
	ours $((8470 + run)) "cold-ours-$run"
	"$L" -c 16 -t 600 -n 200 -f "$W/bulk.txt" "127.0.0.1:$((8470 + run))" \
	    >"$W/c.json" && rec "cold-ours-run$run" "$(cat "$W/c.json")"
	kill "$pid"
	if [ -n "$theirs" ]; then
		theirs $((8480 + run)) "cold-theirs-$run" internal
		"$L" -c 16 -t 600 -n 200 -f "$W/bulk.txt" "127.0.0.1:$((8480 + run))" \
		    >"$W/c.json" && rec "cold-theirs-run$run" "$(cat "$W/c.json")"
		kill "$pid"
	fi
done
: >"$W/curl.times"
i=0
while [ $i -lt 20 ]; do
	curl -s -o /dev/null --cacert "$FIXTURE_CA" \
	    --resolve "mta-sts.bulk001.test:443:$FIXTURE_WEB" \
	    -w '%{time_appconnect}\n' \
	    https://mta-sts.bulk001.test/.well-known/mta-sts.txt >>"$W/curl.times"
	i=$((i + 1))
done
curl_ms=$(sort -n "$W/curl.times" | awk '{ a[NR] = $1 } END {
    printf "%.2f", a[int((NR + 1) / 2)] * 1000 }')
rec curl-handshake "{\"p50_ms\": $curl_ms}"

echo "socketmap: resident memory after 1 000 and 10 000 policy domains"
# bench/bigzone.sh: 10 000 enforce domains dN.big.test (own nsd and
# nginx in this namespace, certificates from the fixture's CA).
Z=$W/bigzone
rss_run() {	# rss_run NAME PORT PID
	r0=$(rss_kb "$3") a0=$(anon_kb "$3")
	"$L" -c 16 -t 600 -n 1000 -f "$W/k1000.txt" "127.0.0.1:$2" >"$W/r1.json"
	r1=$(rss_kb "$3") a1=$(anon_kb "$3")
	"$L" -c 16 -t 600 -n 9000 -f "$W/k9000.txt" "127.0.0.1:$2" >"$W/r2.json"
	r2=$(rss_kb "$3") a2=$(anon_kb "$3")
	rec "rss-$1" "{\"start_kb\": $r0, \"after_1000_kb\": $r1, \"after_10000_kb\": $r2, \"anon_start_kb\": $a0, \"anon_after_1000_kb\": $a1, \"anon_after_10000_kb\": $a2, \"secure_answers\": $(($(jget "$W/r1.json" ok) + $(jget "$W/r2.json" ok))), \"seconds_10000\": $(awk -v a="$(jget "$W/r1.json" seconds)" -v b="$(jget "$W/r2.json" seconds)" 'BEGIN { print a + b }')}"
}
if sh "$here/bench/bigzone.sh" start "$Z" "$S" 10000 >"$W/bigzone.log" 2>&1; then
	i=1
	: >"$W/big.txt"
	while [ $i -le 10000 ]; do echo "d$i.big.test" >>"$W/big.txt"; i=$((i + 1)); done
	head -n 1000 "$W/big.txt" >"$W/k1000.txt"
	tail -n 9000 "$W/big.txt" >"$W/k9000.txt"
	OURS_RESOLVER=$(cat "$Z/resolver") ours 8491 rss-ours
	rss_run ours 8491 "$pid"
	if [ -n "$theirs" ]; then
		THEIRS_RESOLV=$Z/resolv.conf theirs 8492 rss-theirs internal
		rss_run theirs 8492 "$pid"
	fi
	sh "$here/bench/bigzone.sh" stop "$Z" "$S"
else
	echo "socketmap: bench/bigzone.sh failed, no memory figures: $(tail -n 1 "$W/bigzone.log")"
fi

echo "socketmap: mtasts query on a cached domain"
"$B/mtasts" -c "$W/ours.conf" query enforce.test >/dev/null 2>&1
: >"$W/q.times"
i=0
while [ $i -lt 20 ]; do
	t0=$(date +%s%N)
	"$B/mtasts" -c "$W/ours.conf" query enforce.test >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000)) >>"$W/q.times"
	i=$((i + 1))
done
q_ms=$(sort -n "$W/q.times" | awk '{ a[NR] = $1 } END {
    printf "%.2f", a[int((NR + 1) / 2)] / 1000 }')
rec mtasts-query-cached "{\"p50_ms\": $q_ms}"

mkdir -p "$here/bench/results"
out=$here/bench/results/socketmap-$(date -u +%Y%m%dT%H%M%SZ).json
{
	echo "{\"bench\": \"socketmap\", \"date\": \"$(date -u +%FT%TZ)\","
	echo " \"host\": \"$(uname -srm)\", \"cpus\": $(nproc),"
	echo " \"results\": ["
	sed '$!s/$/,/' "$W/results.jsonl"
	echo "]}"
} >"$out"
sh "$here/bench/socketmap-table.sh" "$W/results.jsonl"
echo "socketmap: written to ${out#$here/}"
