#!/bin/sh
# bench/filter.sh BUILDDIR: filter-mtasts's RCPT-time cost with a warm
# cache: N rcpt-to requests for enforce and testing domains fed on
# stdin after the handshake, wall time until every answer is written,
# minus the same run with no requests (start-up and shutdown).  Figures
# only.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-bench-filter
N=${FILTER_BENCH_RCPTS:-20000}
F=$(pwd)/$B/filter-mtasts
M=$(pwd)/$B/mtasts
if [ "$(id -u)" != 0 ]; then
	echo "filter: skipped (the fixture needs root)"
	exit 0
fi
sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 || {
	echo "filter: fixture did not start, see $S.log"
	exit 1
}
trap 'sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
. "$S/env"
ms() { date +%s%3N; }

"$M" -c "$S/mtasts.conf" query exgood.test >/dev/null 2>&1	# warm
"$M" -c "$S/mtasts.conf" query extesting.test >/dev/null 2>&1
hs='config|smtpd-version|6.8.0p2\nconfig|ready\n'
printf "$hs" >"$S/empty.in"
{
	printf "$hs"
	awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
		printf "filter|0.6|1.0|smtp-in|rcpt-to|%016x|%016x|u@%s\n",
		    i, i, (i % 2 ? "exgood.test" : "extesting.test") }'
} >"$S/rcpts.in"
run() {	# run INPUT: ms to answer it all (through a pipe, as from smtpd)
	t0=$(ms)
	cat "$1" | "$F" -c "$S/mtasts.conf" -t "$S/enforce.db" >"$S/out" \
	    2>/dev/null
	t1=$(ms)
	echo $((t1 - t0))
}
base=$(run "$S/empty.in")
full=$(run "$S/rcpts.in")
answered=$(grep -c '^filter-result' "$S/out")
awk -v n="$N" -v a="$answered" -v f="$full" -v b="$base" 'BEGIN {
	printf "filter: %d rcpt-to (warm cache, enforce+testing): %d ms," \
	    " %.1f us per RCPT (start-up %d ms subtracted); %d answered\n",
	    n, f, (f - b) * 1000 / n, b, a }'
