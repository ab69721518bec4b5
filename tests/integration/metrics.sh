#!/bin/sh
# tests/integration/metrics.sh BUILDDIR
#
# Operations (issue 17) against the real fixture: the counters move as
# the scenarios say (a failed fetch counts under its RFC 8460 type, a
# decision under its mode and source), "mtasts metrics" passes
# "promtool check metrics" and writes its file atomically, the example
# rules pass "promtool check rules" and their unit tests, and
# "mtasts refresh" warns about an enforce policy that will lapse, with
# progress on a terminal and as log lines.  TAP on stdout.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
S=$(pwd)/$B/fixture-metrics
M=$(pwd)/$B/asan/mtasts
. "$here/tap.sh"

if ! command -v promtool >/dev/null; then
	echo "Bail out! promtool missing (Debian package prometheus)"
	exit 1
fi
mkdir -p "$B"
check "example rules: promtool check rules" sh -c "promtool check rules \
    '$top/docs/examples/mtasts-rules.yml' >'$B/promtool.log' 2>&1"
check "example rules: promtool test rules (the alerts fire)" \
    sh -c "cd '$here/prometheus' && promtool test rules rules_test.yml \
    >>'$top/$B/promtool.log' 2>&1"

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 3 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
conf=$S/mtasts.conf
err=$S/stderr.log

# value SERIES: its sample in the current output of mtasts metrics.
metrics() { "$M" -c "$conf" metrics >"$S/m.txt" 2>>"$err"; }
value() {
	awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "none" }' \
	    "$S/m.txt"
}
expect() {
	v=$(value "$1")
	if [ "$v" = "$2" ]; then ok "$1 = $2"
	else not_ok "$1 = $2" "got $v"; fi
}

metrics
check "metrics on an empty cache: exit 0" test -s "$S/m.txt"
check "promtool check metrics: empty cache" \
    sh -c "promtool check metrics <'$S/m.txt'"
expect 'mtasts_policy_fetches_total{result="success"}' 0
expect 'mtasts_cache_entries' 0

# One query each: the scenario table of tests/fixture/README.md.
for d in enforce.test http404.test wrongname.test badsyntax.test \
    servfail.test nxdomain.test enforce.test testing.test; do
	"$M" -c "$conf" query "$d" >/dev/null 2>>"$err"
done
metrics
check "promtool check metrics: after the scenarios" \
    sh -c "promtool check metrics <'$S/m.txt'"
expect 'mtasts_policy_fetches_total{result="success"}' 2
expect 'mtasts_policy_fetches_total{result="sts-policy-fetch-error"}' 1
expect 'mtasts_policy_fetches_total{result="sts-webpki-invalid"}' 1
expect 'mtasts_policy_fetches_total{result="sts-policy-invalid"}' 1
expect 'mtasts_policy_fetches_total{result="dns-temporary"}' 1
expect 'mtasts_decisions_total{mode="enforce",source="network"}' 1
expect 'mtasts_decisions_total{mode="enforce",source="cache"}' 1
expect 'mtasts_decisions_total{mode="testing",source="network"}' 1
expect 'mtasts_decisions_total{mode="no-policy",source="none"}' 5
expect 'mtasts_policies{mode="enforce"}' 1
expect 'mtasts_policies{mode="testing"}' 1
expect 'mtasts_policies_lapsing{mode="enforce"}' 0

# The file for node_exporter: the same text, in place at once, mode
# 0644, no temporary file left; a directory that cannot take it fails.
out=$S/textfile/mtasts.prom
mkdir -p "$S/textfile"
"$M" -c "$conf" metrics --output "$out" 2>>"$err"
# (but for the oldest policy's age, which a second can move)
check "--output: exit 0, same text" sh -c \
    "test -s '$out' && [ \"\$(grep -v '^mtasts_policy_oldest_age_seconds ' '$out')\" = \"\$(grep -v '^mtasts_policy_oldest_age_seconds ' '$S/m.txt')\" ]"
check "--output: mode 0644" test "$(stat -c %a "$out")" = 644
check "--output: no temporary file left" \
    test "$(ls "$S/textfile" | wc -l)" -eq 1
"$M" -c "$conf" metrics --output "$S/nonexistent/x.prom" 2>/dev/null
check "--output into a missing directory: exit 2" test $? -eq 2
"$M" -c "$conf" metrics extra 2>/dev/null
check "metrics with an argument: exit 2" test $? -eq 2

# An enforce policy with max_age one hour, whose refresh then fails
# (the policy host serves an invalid policy under a new id).
pol=$S/policies/short-enforce.txt
printf 'version: STSv1\nmode: enforce\nmx: mx1.dynamic.test\nmax_age: 3600\n' \
    >"$pol"
sh "$here/fixture/set" "$S" dynamic.test short1 "$pol" >/dev/null 2>&1
"$M" -c "$conf" query dynamic.test >/dev/null 2>>"$err"
printf 'version: STSv1\nmode enforce\n' >"$S/policies/broken.txt"
sh "$here/fixture/set" "$S" dynamic.test short2 "$S/policies/broken.txt" \
    >/dev/null 2>&1
"$M" -c "$conf" refresh dynamic.test >"$S/r.out" 2>"$S/r.err"
rc=$?
check "refresh of a failing enforce policy: exit 0 (first failure)" \
    test "$rc" -eq 0
if grep -q 'WARNING: dynamic.test: enforce policy id short1 expires in [01]h[0-5][0-9]m (.*) and its refresh failed: policy: line 2' "$S/r.err"
then ok "refresh warns: enforce policy expires within 24 h"
else not_ok "refresh warns: enforce policy expires within 24 h" \
    "$(cat "$S/r.err")"; fi
check "refresh summary counts it" grep -q '1 failed, 0 alerts, 1 expiring' \
    "$S/r.out"
check "not a terminal: plain progress line" \
    grep -q '^mtasts: refresh: 1/1 done, 1 failed, [0-9.]*/s$' "$S/r.err"
check "not a terminal: no carriage return" \
    sh -c "! grep -q \"\$(printf '\\r')\" '$S/r.err'"
metrics
expect 'mtasts_policies_lapsing{mode="enforce"}' 1
expect 'mtasts_policy_fetches_total{result="sts-policy-invalid"}' 2

# On a terminal: one line rewritten in place (script(1) gives a pty).
script -qec "'$M' -c '$conf' refresh --jobs 2 enforce.test testing.test \
    dynamic.test" /dev/null >"$S/tty.out" 2>&1
check "terminal: the line is rewritten in place" \
    grep -q "$(printf '\r\033')\[Krefresh: 3/3 done, 1 failed" "$S/tty.out"
check "terminal: no log lines" sh -c "! grep -q '^mtasts: refresh:' '$S/tty.out'"

# --jitter: a bounded random delay before the first fetch.
"$M" -c "$conf" refresh --jitter 86401 --all >/dev/null 2>&1
check "--jitter above a day: exit 2" test $? -eq 2
"$M" -c "$conf" refresh --jitter x --all >/dev/null 2>&1
check "--jitter not a number: exit 2" test $? -eq 2
t0=$(date +%s)
"$M" -c "$conf" refresh --jitter 2 enforce.test >/dev/null 2>&1
t1=$(date +%s)
check "--jitter 2: done within 2 s plus the fetch" test $((t1 - t0)) -le 4

sh "$here/fixture/set" "$S" dynamic.test dynamicv1 \
    "$S/policies/dynamic-enforce.txt" >/dev/null 2>&1
tap_end
