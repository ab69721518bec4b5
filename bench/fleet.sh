#!/bin/sh
# bench/fleet.sh BUILDDIR: the scale figures of issue 16, in a private
# network namespace (loopback only), against bench/bigzone.sh's enforce
# domains next to the fixture, with Debian's redis-server.  FLEET_N
# (10000) domains for the fleet, FLEET_ONE_N (100000) for one host.
# Figures only, printed and written to bench/results/fleet-DATE.json:
#   fleet: 3 hosts (own configurations and caches, one shared store)
#	warming FLEET_N domains at once: fetches counted at nginx (the
#	target: FLEET_N, not 3 x FLEET_N), wall time
#   one host: cold, then warm refresh of FLEET_ONE_N domains (every
#	policy cached, each refetched: RFC 8461 §3.3, D13), wall time, the
#	cost per domain, and the peak RSS of the largest process (the
#	refresh runs FLEET_PROCS workers, by default one per core up to 4)
#   FLEET_SKIP_FLEET=1 skips the fleet (no redis needed then).
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
N=${FLEET_N:-10000}
N1=${FLEET_ONE_N:-100000}
NZ=$N
[ "$N1" -le "$NZ" ] || NZ=$N1
SKIP=${FLEET_SKIP_FLEET:-}
if [ "$(id -u)" != 0 ] || { [ -z "$SKIP" ] &&
    ! command -v redis-server >/dev/null; }; then
	echo "fleet: skipped (needs root and redis-server)"
	exit 0
fi
if [ -z "${FLEET_NETNS:-}" ]; then
	exec env FLEET_NETNS=1 unshare -n sh -c \
	    'ip link set lo up && exec sh "$0" "$1"' "$0" "$B"
fi
P=${FLEET_PROCS:+--procs $FLEET_PROCS}
S=$(pwd)/$B/fixture-bench-fleet
M=$(pwd)/$B/mtasts
W=$S.d
mkdir -p "$W"
rm -rf "${W:?}"/*
sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 || {
	echo "fleet: fixture did not start, see $S.log"
	exit 1
}
trap 'redis-cli -p 16379 shutdown nosave >/dev/null 2>&1
    sh "$here/bench/bigzone.sh" stop "$W/bigzone" "$S" >/dev/null 2>&1
    sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
Z=$W/bigzone
BIGZONE_ACCESS_LOG=$W/access.log sh "$here/bench/bigzone.sh" start "$Z" \
    "$S" "$NZ" >"$W/bigzone.log" 2>&1 || {
	echo "fleet: bench/bigzone.sh failed: $(tail -n 1 "$W/bigzone.log")"
	exit 1
}
if [ -z "$SKIP" ]; then
	redis-server --port 16379 --bind 127.0.0.1 --dir "$W" --save '' \
	    --appendonly no --daemonize yes --logfile "$W/redis.log" >/dev/null
	i=0
	until redis-cli -p 16379 ping 2>/dev/null | grep -q PONG; do
		i=$((i + 1)); [ $i -lt 50 ] || { echo "fleet: no redis"; exit 1; }
		sleep 0.1
	done
fi
i=1
while [ $i -le "$NZ" ]; do echo "d$i.big.test"; i=$((i + 1)); done >"$W/all"
head -n "$N" "$W/all" >"$W/doms"
head -n "$N1" "$W/all" >"$W/doms1"
host() {	# host N [shared]
	mkdir -p "$W/h$1/cache"
	{
		grep -v '^cache_dir\|^resolver' "$FIXTURE_CONF"
		echo "cache_dir = $W/h$1/cache"
		echo "resolver = $(cat "$Z/resolver")"
		[ -z "${2:-}" ] || echo "shared_cache = redis://127.0.0.1:16379/0"
	} >"$W/h$1/conf"
}
ms() { date +%s%3N; }
fetches() { wc -l <"$W/access.log" | tr -d ' '; }

: >"$W/results.jsonl"
rec() { printf '{"name": "%s", %s}\n' "$1" "$2" >>"$W/results.jsonl"; }

# The fleet: three hosts at once.
if [ -z "$SKIP" ]; then
	for h in 1 2 3; do host $h shared; done
	: >"$W/access.log"
	t0=$(ms)
	for h in 1 2 3; do
		# shellcheck disable=SC2046
		"$M" -c "$W/h$h/conf" refresh --jobs 16 $P $(cat "$W/doms") \
		    >"$W/h$h.out" 2>"$W/h$h.err" &
	done
	wait
	t1=$(ms)
	echo "fleet: 3 hosts warming $N domains at once: $(fetches) fetches" \
	    "(target $N, not $((3 * N))), $((t1 - t0)) ms wall"
	for h in 1 2 3; do echo "  host $h: $(tail -n 1 "$W/h$h.out")"; done
	rec fleet "\"domains\": $N, \"fetches\": $(fetches), \"ms\": $((t1 - t0))"
fi

# One host alone: cold, then warm (after a minute: a refresh does not
# refetch what it fetched less than a minute ago).
host 4
for run in cold warm; do
	[ $run = cold ] || sleep 61
	: >"$W/access.log"
	t0=$(ms)
	# shellcheck disable=SC2046
	# In runs of 40 000: more would not fit in ARG_MAX.
	rm -f "$W"/part.*
	split -l 40000 "$W/doms1" "$W/part."
	rss=0
	: >"$W/h4.out"
	for p in "$W"/part.*; do
		# shellcheck disable=SC2046
		/usr/bin/time -f "%M" -o "$W/rss" "$M" -c "$W/h4/conf" \
		    refresh --jobs 16 $P $(cat "$p") >>"$W/h4.out" 2>"$W/h4.err"
		[ "$(cat "$W/rss")" -le $rss ] || rss=$(cat "$W/rss")
	done
	t1=$(ms)
	per=$(awk -v t=$((t1 - t0)) -v n="$N1" 'BEGIN { printf "%.2f", t / n }')
	echo "one host, $run refresh of $N1 domains: $((t1 - t0)) ms wall" \
	    "($per ms per domain), $(fetches) fetches, peak RSS $rss KiB"
	sed 's/^/  /' "$W/h4.out"
	echo "  cache: $("$M" -c "$W/h4/conf" cache stats 2>&1 | tr '\n' ' ')"
	rec "one-host-$run" "\"domains\": $N1, \"ms\": $((t1 - t0)), \"ms_per_domain\": $per, \"fetches\": $(fetches), \"peak_rss_kib\": $rss"
done
mkdir -p "$here/bench/results"
out=$here/bench/results/fleet-$(date -u +%Y%m%dT%H%M%SZ).json
{
	echo "{\"bench\": \"fleet\", \"date\": \"$(date -u +%FT%TZ)\","
	echo " \"host\": \"$(uname -srm)\", \"cpus\": $(nproc),"
	echo " \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
	echo " \"results\": ["
	sed '$!s/$/,/' "$W/results.jsonl"
	echo "]}"
} >"$out"
echo "fleet: written to ${out#$here/}"
