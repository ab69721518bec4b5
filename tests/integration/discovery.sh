#!/bin/sh
# tests/integration/discovery.sh BUILDDIR
#
# RFC 8461 discovery, fetch and the §5.1 decision against the real
# fixture (nsd + nginx + a throwaway CA, tests/fixture/README.md): every
# scenario's decision, the §5.1 transitions on dynamic.test, one fetch
# for 50 concurrent queries, 8 processes on 200 domains, a refresh in
# worker processes, and a refresh killed with SIGKILL.  TAP on stdout.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-discovery
# The scenario table runs under ASan+UBSan; the load tests on the
# optimised build, as an MTA would run it.
ASAN=$(pwd)/$B/asan/mtasts
FAST=$(pwd)/$B/mtasts

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
check() {		# check DESC CONDITION-COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 3 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
conf=$S/mtasts.conf
errlog=$S/mtasts-stderr.log

# q BIN CONF DOMAIN [query options]: the JSON decision in $j, the exit
# code in $qrc.
q() {
	bin=$1 cf=$2 dom=$3
	shift 3
	"$bin" -c "$cf" query --json "$@" "$dom" >"$S/q.json" 2>>"$errlog"
	qrc=$?
	j=$(cat "$S/q.json")
}

# expect DOMAIN MODE SOURCE ERRTYPE WHY: one fresh decision, asserted.
# ERRTYPE "-" means no error may be reported.
expect() {
	dom=$1 mode=$2 src=$3 et=$4 why=$5
	q "$ASAN" "$conf" "$dom"
	got=$(printf '%s' "$j" | jq -r '[.mode, .source,
	    (if (.errors | length) == 0 then "-" else .errors[0].type end)]
	    | join(" ")' 2>/dev/null)
	if [ "$qrc" = 0 ] && [ "$got" = "$mode $src $et" ]; then
		ok "$dom: $mode ($why)"
	else
		not_ok "$dom: $mode ($why)" "exit $qrc" \
		    "want: $mode $src $et" "got:  $got" "json: $j"
	fi
}

echo "# scenario table (tests/fixture/README.md)"
expect enforce.test	enforce	network	-	"valid enforce policy"
expect testing.test	testing	network	-	"testing policy, CRLF lines"
expect none.test	none	network	-	"mode none"
expect cname.test	enforce	network	-	"_mta-sts and mta-sts via CNAME"
expect split.test	enforce	network	-	"A1: one RR of two strings, concatenated"
expect mixedtxt.test	enforce	network	-	"A1: non-STS TXT records ignored"
expect wildcard.test	enforce	network	-	"wildcard certificate is valid"
expect max.test		enforce	network	-	"A3: a body of exactly 65536 bytes"
expect nxdomain.test	no-policy none	-	"no _mta-sts record"
expect twotxt.test	no-policy none	sts-record-invalid "D2: two STS records"
expect badtxt.test	no-policy none	sts-record-invalid "invalid STS record"
expect servfail.test	no-policy none	dns-temporary "SERVFAIL on the TXT"
expect http404.test	no-policy none	sts-policy-fetch-error "HTTP 404"
expect http500.test	no-policy none	sts-policy-fetch-error "HTTP 500"
expect http301.test	no-policy none	sts-policy-fetch-error "A3: no redirects"
expect html.test	no-policy none	sts-policy-fetch-error "A3: text/html"
expect big.test		no-policy none	sts-policy-fetch-error "A3: 65537 bytes"
expect chunked.test	no-policy none	sts-policy-fetch-error "A3: chunked, over 64 KiB"
expect slow.test	no-policy none	sts-policy-fetch-error "trickles past fetch_timeout"
expect wrongname.test	no-policy none	sts-webpki-invalid "certificate for another name"
expect untrusted.test	no-policy none	sts-webpki-invalid "untrusted CA"
expect expired.test	no-policy none	sts-webpki-invalid "expired certificate"
expect cnonly.test	no-policy none	sts-webpki-invalid "D17: CN only, no SAN"
expect bom.test		no-policy none	sts-policy-invalid "UTF-8 BOM before version"
expect badsyntax.test	no-policy none	sts-policy-invalid "line without ':'"
q "$ASAN" "$conf" tls11.test
t=$(printf '%s' "$j" | jq -r '.mode + " " + (.errors[0].type // "-")')
case $t in
"no-policy sts-"*) ok "tls11.test: no policy (A3: TLS 1.2 at least)" ;;
*) not_ok "tls11.test: no policy (A3: TLS 1.2 at least)" "json: $j" ;;
esac
q "$ASAN" "$conf" mxmismatch.test
check "mxmismatch.test: the policy's own MX list is returned" \
    test "$(printf '%s' "$j" | jq -r '.mx | join(",")')" = \
    "mail.elsewhere.test"

# strict_testing = yes: a testing policy is applied as enforce.
sed 's/^strict_testing.*//' "$conf" >"$S/strict.conf"
echo "strict_testing = yes" >>"$S/strict.conf"
q "$ASAN" "$S/strict.conf" testing.test
check "strict_testing: testing applied as enforce, and said so" test \
    "$(printf '%s' "$j" | jq -r '.mode + " " + .errors[0].type')" = \
    "enforce strict-testing"

# A resolver that never answers: a bounded, temporary failure.
sed "s|^resolver.*|resolver = $FIXTURE_BLACKHOLE|" "$conf" >"$S/blackhole.conf"
t0=$(date +%s)
q "$ASAN" "$S/blackhole.conf" unknown.test --no-cache
t1=$(date +%s)
check "DNS timeout: dns-temporary, no policy, exit 0" test \
    "$qrc $(printf '%s' "$j" | jq -r '.mode + " " + .errors[0].type')" = \
    "0 no-policy dns-temporary"
check "DNS timeout: answered within 15 s (took $((t1 - t0)) s)" \
    test $((t1 - t0)) -le 15

echo "# section 5.1 transitions on dynamic.test"
D=dynamic.test
H=mta-sts.dynamic.test
P=$S/policies
count() { sh "$here/fixture/count" "$S" "$@"; }
field() { printf '%s' "$j" | jq -r "$1"; }
refresh() { "$FAST" -c "$conf" refresh "$@" >>"$errlog" 2>&1; }

sh "$here/fixture/set" "$S" $D dyn1 "$P/dynamic-enforce.txt"
q "$FAST" "$conf" $D
check "new policy fetched: enforce, id dyn1, from the network" \
    test "$(field '.mode + " " + .id + " " + .source')" = \
    "enforce dyn1 network"
c0=$(count $H)
q "$FAST" "$conf" $D
check "fresh cache answers at once: source cache, no request" \
    test "$(field .source) $(count $H)" = "cache $c0"

sh "$here/fixture/set" "$S" $D dyn2 -
refresh $D
q "$FAST" "$conf" $D
check "id changed, fetch failed (404): the cached policy is kept" \
    test "$(field '.mode + " " + .id')" = "enforce dyn1"
c1=$(count $H)
refresh $D
check "failed id not fetched again within retry_interval (A3, 5 min)" \
    test "$(count $H)" = "$c1"
q "$FAST" "$conf" $D --no-cache
check "--no-cache still asks the network" test "$(count $H)" = "$((c1 + 1))"

sh "$here/fixture/set" "$S" $D dyn3 "$P/dynamic-none.txt"
refresh $D
q "$FAST" "$conf" $D
check "mode none replaces enforce (id dyn3)" \
    test "$(field '.mode + " " + .id + " " + (.mx | length | tostring)')" \
    = "none dyn3 0"

sh "$here/fixture/set" "$S" $D dyn4 "$P/dynamic-enforce.txt"
refresh $D
sh "$here/fixture/set" "$S" $D -
refresh $D
q "$FAST" "$conf" $D
check "TXT removed: the unexpired cached policy stays in force" \
    test "$(field '.mode + " " + .id')" = "enforce dyn4"

sed "s|^resolver.*|resolver = $FIXTURE_BLACKHOLE|" "$conf" >"$S/bh.conf"
"$FAST" -c "$S/bh.conf" refresh $D >>"$errlog" 2>&1
q "$FAST" "$conf" $D
check "DNS failure during refresh: the cached policy stays" \
    test "$(field '.mode + " " + .id')" = "enforce dyn4"

sed 's/^max_age:.*/max_age: 1/' "$P/dynamic-enforce.txt" >"$P/dynamic-short.txt"
sh "$here/fixture/set" "$S" $D dyn5 "$P/dynamic-short.txt"
refresh $D
q "$FAST" "$conf" $D
check "short max_age policy cached (id dyn5, max_age 1)" \
    test "$(field '.id + " " + (.max_age | tostring)')" = "dyn5 1"
sh "$here/fixture/set" "$S" $D -
sleep 2
q "$FAST" "$conf" $D
check "expired and TXT gone: no policy (as if never seen)" \
    test "$(field .mode)" = "no-policy"

echo "# concurrency and crashes"
mkconf() {	# mkconf NAME: a config with a fresh cache of its own
	sed "s|^cache_dir.*|cache_dir = $S/$1|" "$conf" >"$S/$1.conf"
	rm -rf "${S:?}/$1"
}
mkconf c50
pids=""
i=0
while [ $i -lt 50 ]; do
	"$FAST" -c "$S/c50.conf" query bulk050.test >"$S/c50.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "50 concurrent processes: all exit 0" test $bad = 0
check "50 concurrent processes: exactly one fetch" \
    test "$(count mta-sts.bulk050.test)" = 1
check "50 concurrent processes: all decided enforce" \
    test "$(grep -l '^mode: *enforce' "$S"/c50.* | wc -l)" = 50
args=""
i=0
while [ $i -lt 50 ]; do args="$args bulk051.test"; i=$((i + 1)); done
"$FAST" -c "$S/c50.conf" refresh --jobs 16 $args >>"$errlog" 2>&1
check "50 concurrent queries in one process: one fetch" \
    test "$(count mta-sts.bulk051.test)" = 1

mkconf c8
bulk=$(i=1; while [ $i -le 200 ]; do printf 'bulk%03d.test ' $i; \
    i=$((i + 1)); done)
pids=""
for p in 1 2 3 4 5 6 7 8; do
	if [ $((p % 2)) = 0 ]; then
		"$FAST" -c "$S/c8.conf" refresh --jobs 16 $bulk \
		    >"$S/c8.$p" 2>&1 &
	else
		( for d in $bulk; do "$FAST" -c "$S/c8.conf" query "$d" \
		    >/dev/null || exit 1; done ) >"$S/c8.$p" 2>&1 &
	fi
	pids="$pids $!"
done
bad=0
for p in $pids; do wait "$p" || bad=$((bad + 1)); done
check "8 processes querying and refreshing 200 domains: no error" \
    test $bad = 0
check "8 processes: 200 entries cached" test "$("$FAST" -c "$S/c8.conf" \
    cache list --json | jq '[.[] | select(.mode == "enforce")] | length')" \
    = 200
check "8 processes: db_verify clean" \
    db5.3_verify -q -h "$S/c8" policies.db

# Worker processes (issue 16) share the list: each domain refreshed
# once, every policy stored, the counts added up.
mkconf procs
: >"$FIXTURE_NGINX_LOG"
"$FAST" -c "$S/procs.conf" refresh --jobs 8 --procs 3 $bulk \
    >"$S/procs.out" 2>>"$errlog"
check "refresh --procs 3 of 200 domains: exit 0, all 200 fetched" \
    test "$? $(cat "$S/procs.out")" = "0 200 due: 200 fetched, 0 kept \
from the cache, 0 without policy, 0 failed, 0 alerts, 0 expiring"
check "... each domain fetched once" test "$(awk \
    '$1 ~ /^mta-sts\.bulk[0-9]+\.test$/ { n++; h[$1] = 1 }
    END { print n + 0, length(h) }' "$FIXTURE_NGINX_LOG")" = "200 200"
check "... 200 enforce policies cached" test "$("$FAST" -c "$S/procs.conf" \
    cache list --json | jq '[.[] | select(.mode == "enforce")] | length')" \
    = 200

mkconf kill
"$FAST" -c "$S/kill.conf" refresh --jobs 16 --procs 2 $bulk >/dev/null 2>&1 &
kp=$!
sleep 0.3
w=0
until workers=$(pgrep -P $kp) || [ $w -ge 30 ]; do
	sleep 0.1
	w=$((w + 1))
done
kill -KILL $kp 2>/dev/null
wait $kp 2>/dev/null
w=0
while [ -n "$workers" ] && ps -p "$(echo $workers | tr ' ' ,)" >/dev/null &&
    [ $w -lt 50 ]; do
	sleep 0.1
	w=$((w + 1))
done
check "refresh SIGKILLed: its workers ($(echo $workers)) end with it" \
    test -n "$workers" -a $w -lt 50
q "$FAST" "$S/kill.conf" bulk199.test
check "after a writer was SIGKILLed mid-refresh, the next process decides" \
    test "$qrc $(field .mode)" = "0 enforce"
"$FAST" -c "$S/kill.conf" refresh --jobs 16 $bulk >>"$errlog" 2>&1
check "... and refreshes all 200 domains" test "$?" = 0
check "... and the database verifies clean" \
    db5.3_verify -q -h "$S/kill" policies.db

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
