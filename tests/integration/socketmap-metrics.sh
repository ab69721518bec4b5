#!/bin/sh
# tests/integration/socketmap-metrics.sh BUILDDIR
#
# mtasts-socketmap -M (ASan+UBSan build) against the fixture: GET
# /metrics passes promtool check metrics, counts answers as given and
# shows the shared counters; other paths are 404; hostile HTTP clients
# (huge headers, slowloris, a connection flood) are cut off and never
# slow the socketmap answers.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-smmetrics
SM=$(pwd)/$B/asan/mtasts-socketmap
PORT=8471
MPORT=8472
. "$here/tap.sh"

if ! command -v promtool >/dev/null; then
	echo "Bail out! promtool missing (Debian package prometheus)"
	exit 1
fi
ns() { printf '%d:%s,' "${#1}" "$1"; }
q() { printf '%s' "$(ns "postfix $1")" | nc -N -w 10 127.0.0.1 "$PORT"; }
get() { curl -s -m 10 "$@"; }
code() { curl -s -m 10 -o /dev/null -w '%{http_code}' "$@"; }
url=http://127.0.0.1:$MPORT
value() { awk -v s="$1" '$1 == s { print $2 }' "$S/m.txt"; }
expect() {
	v=$(value "$1")
	if [ "$v" = "$2" ]; then ok "$1 = $2"; else not_ok "$1 = $2" "got $v"; fi
}
# elapsed CMD...: seconds (3 decimals) CMD took
elapsed() {
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	echo "$(( ($(date +%s%N) - t0) / 1000000 ))"
}

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

"$SM" -f -c "$FIXTURE_CONF" -l "127.0.0.1:$PORT" -M "$MPORT" \
    >"$S/sm.log" 2>&1 &
smpid=$!
pids="$pids $smpid"
waitfor 50 nc -z 127.0.0.1 "$MPORT" || {
	echo "Bail out! no metrics listener: $(tail -n 3 "$S/sm.log")"
	exit 1
}
check "-M PORT listens on loopback only" \
    sh -c "ss -Hltn 'sport = :$MPORT' | grep -q '127.0.0.1:$MPORT' &&
    ! ss -Hltn 'sport = :$MPORT' | grep -q '0.0.0.0:$MPORT'"

# Answers of each kind, then the counters.
q enforce.test >/dev/null
q enforce.test >/dev/null	# from the memo
q nxdomain.test >/dev/null
q http404.test >/dev/null
printf '%s' "$(ns "postfix a b")" | nc -N -w 10 127.0.0.1 "$PORT" \
    >/dev/null
sleep 1.1		# the core's text is made at most once a second
get -D "$S/h.txt" "$url/metrics" >"$S/m.txt"
check "GET /metrics: 200" grep -q '^HTTP/1.1 200' "$S/h.txt"
check "GET /metrics: text/plain; version=0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$S/h.txt"
check "promtool check metrics" \
    sh -c "promtool check metrics <'$S/m.txt' >'$S/promtool.log' 2>&1"
expect 'mtasts_socketmap_requests_total{answer="OK"}' 2
expect 'mtasts_socketmap_requests_total{answer="NOTFOUND"}' 2
expect 'mtasts_socketmap_requests_total{answer="PERM"}' 1
expect 'mtasts_socketmap_request_duration_seconds_count' 5
expect 'mtasts_policy_fetches_total{result="sts-policy-fetch-error"}' 1
expect 'mtasts_decisions_total{mode="enforce",source="network"}' 1
inf=$(value 'mtasts_socketmap_request_duration_seconds_bucket{le="+Inf"}')
check "histogram: +Inf bucket = count" test "$inf" = 5

# Other paths and methods.
for p in / /metric /metrics/x '/metrics/../etc/passwd' /METRICS; do
	c=$(code "$url$p")
	if [ "$c" = 404 ]; then ok "GET $p: 404"
	else not_ok "GET $p: 404" "got $c"; fi
done
c=$(code -X POST -d x "$url/metrics")
if [ "$c" != 200 ] && [ "$c" != 000 ]; then ok "POST /metrics refused ($c)"
else not_ok "POST /metrics refused" "got $c"; fi

# Huge headers: refused, the server lives on.
big=$(head -c 20000 /dev/zero | tr '\0' a)
c=$(code -H "X-Big: $big" "$url/metrics")
case $c in 4*|000) ok "20 KB of headers: refused ($c)" ;;
*) not_ok "20 KB of headers: refused" "got $c" ;; esac
check "after huge headers: GET /metrics works" \
    test "$(code "$url/metrics")" = 200

# Slowloris: 12 connections that never finish their request.  The
# socketmap answers at once meanwhile; the listener takes at most 8 of
# them (the others wait in the kernel's backlog, no descriptor of ours)
# and cuts each after 10 s.
slow=""
i=0
ts=$(date +%s)
while [ $i -lt 12 ]; do
	(printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n'
	    for k in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
		sleep 1; printf 'X-%d: y\r\n' "$k"; done) |
	    timeout 25 nc 127.0.0.1 "$MPORT" >/dev/null 2>&1 &
	slow="$slow $!"
	i=$((i + 1))
done
# clients: connections made; held: those the server accepted (the
# kernel's queue has no owner)
clients() { ss -Htn state established "( dport = :$MPORT )" | wc -l; }
held() { ss -Htnp state established "( sport = :$MPORT )" |
    grep -c "pid=$smpid,"; }
waitfor 100 sh -c "[ \$(ss -Htn state established '( dport = :$MPORT )' |
    wc -l) -ge 12 ]"
sleep 1
c=$(clients) h=$(held)
check "slowloris: 12 connected ($c), at most 8 accepted ($h)" \
    sh -c "[ $c -eq 12 ] && [ $h -ge 1 ] && [ $h -le 8 ]"
ms=$(elapsed q enforce.test)
check "slowloris: a socketmap answer in ${ms} ms (< 500)" test "$ms" -lt 500
for p in $slow; do wait "$p"; done
t1=$(date +%s)
check "slowloris: every connection cut before nc's own 25 s ($((t1 - ts)) s)" \
    test $((t1 - ts)) -lt 24
check "after slowloris: GET /metrics works" \
    test "$(code "$url/metrics")" = 200

# A flood of scrapes: the socketmap still answers at once.
(i=0; while [ $i -lt 300 ]; do
	curl -s -m 5 -o /dev/null "$url/metrics"; i=$((i + 1)); done) &
flood=$!
sleep 0.5
ms=$(elapsed q enforce.test)
check "scrape flood: a socketmap answer in ${ms} ms (< 500)" \
    test "$ms" -lt 500
kill "$flood" 2>/dev/null
wait "$flood" 2>/dev/null

kill -TERM "$smpid"
wait "$smpid"
rc=$?
pids=""
check "SIGTERM: exit 0, no sanitizer report (exit $rc)" sh -c \
    "test $rc -eq 0 && ! grep -q 'Sanitizer' '$S/sm.log'"
tap_end
