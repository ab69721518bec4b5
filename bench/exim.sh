#!/bin/sh
# bench/exim.sh BUILDDIR: the Exim module's cost, measured in real Exim
# 4.96 (tests/exim harness on the fixture).  Figures only.
#   1. one ${dlfunc} mtasts_mode call with a warm cache: N calls in one
#      exim -be (${reduce}) minus the same loop without the call, / N;
#   2. messages per second through Exim to the good MX, K messages in
#      one queue run, without and with the MTA-STS router/transport.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-bench-exim
N=${EXIM_BENCH_CALLS:-5000}
K=${EXIM_BENCH_MSGS:-100}
if [ "$(id -u)" != 0 ]; then
	echo "exim: skipped (the harness needs root)"
	exit 0
fi
sh "$here/tests/exim/setup" "$B" >"$S.setup.log" 2>&1 &&
    sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 &&
    sh "$here/tests/exim/start" "$B" "$S" >>"$S.log" 2>&1 || {
	echo "exim: harness did not start, see $S.log"
	sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1
	exit 1
}
trap 'sh "$here/tests/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
. "$S/env"
. "$S/exim/env"
X=$EXIM_SENDER
ms() { date +%s%3N; }

awk -v n="$N" 'BEGIN { while (i++ < n) printf "%s1", (i > 1 ? ":" : "") }' \
    >"$S/items"
call="\${dlfunc{$EXIM_MODULE_SO}{mtasts_mode}{exgood.test}{$EXIM_MTASTS_CONF}}"
$X -be "$call" >/dev/null 2>&1		# fetch once: the cache is warm
t0=$(ms)
$X -be "\${reduce{\${readfile{$S/items}}}{}{$call}}" >/dev/null 2>&1
t1=$(ms)
$X -be "\${reduce{\${readfile{$S/items}}}{}{enforce}}" >/dev/null 2>&1
t2=$(ms)
awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) -v n="$N" 'BEGIN {
	printf "exim: ${dlfunc} mtasts_mode, warm cache: %.1f us per call" \
	    " (%d calls: %d ms, empty loop %d ms)\n", (a - b) * 1000 / n, n,
	    a, b }'

# rate MACROS: K messages queued, then one queue run; messages/second.
rate() {
	i=0
	while [ $i -lt "$K" ]; do
		printf 'Subject: bench %d\n\nbench\n' $i |
		    $X $1 -odq -f a@harness.test -- u@exgood.test
		i=$((i + 1))
	done
	t0=$(ms)
	$X $1 -qff
	t1=$(ms)
	left=$($X -bpc)
	awk -v k="$K" -v t=$((t1 - t0)) -v l="$left" -v w="$2" 'BEGIN {
		printf "exim: %d messages to the good MX %s: %d ms, %.1f msg/s" \
		    " (%d left in queue)\n", k, w, t, k * 1000 / t, l }'
}
rate "" "without mtasts (opportunistic TLS)"
rate "-DHARNESS_MTASTS" "with mtasts (enforce, verified TLS)"
