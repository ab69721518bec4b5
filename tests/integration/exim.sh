#!/bin/sh
# tests/integration/exim.sh BUILDDIR
#
# The Exim module (exim-dlfunc/mtasts.so) in Debian's real Exim 4.96,
# run from a dpkg -x tree (tests/exim), against the fixture's DNS and
# HTTPS and five receiving Exims on 127.0.3.x behind byte captures:
# good certificate, wrong name, self-signed, no STARTTLS, never to be
# contacted.  Asserts on what the receivers got and saw, on the sender's
# queue and log, and on the TLS results counted for TLSRPT.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-exim-it
M=$(pwd)/$B/mtasts

. "$here/tap.sh"

if ! sh "$here/exim/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/exim/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
LOG=$EXIM_SENDER_LOG
X="$EXIM_SENDER -DHARNESS_MTASTS"
run=$$

# send DOMAIN: one message with a unique marker in its body, delivered
# at once (-odi); the marker is in $mark.
send() {
	mark="MARKER-$1-$run-$n"
	printf 'Subject: mtasts test\n\n%s\n' "$mark" |
	    $X -odi -f a@harness.test -- "u@$1" 2>>"$S/exim-stderr.log"
}
logged() { grep -q -- "$1" "$LOG"; }
queued() { $X -bp 2>/dev/null | grep -q "u@$1"; }
got() { grep -rqs -- "$2" "$1/Maildir/new"; }	# got RCVDIR MARK
seen_clear() { grep -qs -- "$2" "$1"; }	# seen_clear CAPTURE MARK
counted() {	# counted DOMAIN RESULT: TLS results recorded for TLSRPT
	"$M" -c "$EXIM_MTASTS_CONF" report counts 2>/dev/null |
	    awk -v d="$1" -v r="$2" '$2 == d && $5 == r { c += $8 }
	    END { print c + 0 }'
}

echo "# enforce, good MX"
send exgood.test
check "exgood: delivered by mtasts_enforce/mtasts_smtp over verified TLS" \
    logged "=> u@exgood.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes"
check "exgood: the good receiver stored the message" \
    got "$EXIM_RCV_GOOD_DIR" "$mark"
check "exgood: the message never crossed the wire in clear" \
    sh -c "! grep -qs -- '$mark' '$EXIM_RCV_GOOD_CAPTURE'"
check "exgood: success counted for TLSRPT" \
    test "$(counted exgood.test success)" -ge 1
check "exgood: counted under its policy (sts, id exgoodv1)" test "$("$M" \
    -c "$EXIM_MTASTS_CONF" report counts --json | jq -r '[.[] |
    select(.domain == "exgood.test")][0] | .policy_type + " " +
    .policy_id')" = "sts exgoodv1"

for d in exbadcert:wrongname:-37 exselfsigned:selfsigned:-37 \
    exnotls:notls:-38; do
	dom=${d%%:*}.test
	r=${d#*:}
	r=${r%%:*}
	code=${d##*:}
	eval "cap=\$EXIM_RCV_$(echo "$r" | tr a-z A-Z)_CAPTURE"
	eval "dir=\$EXIM_RCV_$(echo "$r" | tr a-z A-Z)_DIR"
	echo "# enforce, $r receiver"
	send "$dom"
	check "$dom: deferred ($code), not delivered, not bounced" \
	    logged "== u@$dom R=mtasts_enforce T=mtasts_smtp defer ($code)"
	check "$dom: still in the queue" queued "$dom"
	check "$dom: the receiver stored nothing" sh -c \
	    "! grep -rqs -- '$mark' '$dir/Maildir/new'"
	check "$dom: no byte of the message seen in clear" \
	    sh -c "! grep -qs -- '$mark' '$cap'"
done
check "exbadcert: validation-failure counted" \
    test "$(counted exbadcert.test validation-failure)" -ge 1
check "exnotls: starttls-not-supported counted" \
    test "$(counted exnotls.test starttls-not-supported)" -ge 1
check "no bounce was generated for any enforce failure" \
    sh -c "! grep -q ' \*\* ' '$LOG'"

echo "# enforce, MX sets"
send exmixed.test
check "exmixed: delivered to the matching MX only" \
    logged "=> u@exmixed.test .*R=mtasts_enforce .*\[$EXIM_RCV_GOOD_IP\]"
send exnomatch.test
check "exnomatch: deferred with the module's message" \
    logged "== u@exnomatch.test .*MTA-STS: exnomatch.test: policy .* allows none"
check "exnomatch: still queued, not bounced" queued exnomatch.test
# (The capture may hold socat's own notes about the readiness probe.)
check "exmixed/exnomatch: the non-matching MX was never contacted" \
    sh -c "! grep -q 'accepting connection from AF=2 127.0.5.1:' \
    '$EXIM_RCV_NEVER_CAPTURE'"

echo "# testing and none: delivered whatever TLS did"
send extesting.test
check "extesting: delivered by dnslookup despite the bad certificate" \
    logged "=> u@extesting.test .*R=dnslookup T=remote_smtp .*CV=no"
check "extesting: validation-failure counted for TLSRPT" \
    test "$(counted extesting.test validation-failure)" -ge 1
send exnone.test
check "exnone: delivered by dnslookup" \
    logged "=> u@exnone.test .*R=dnslookup"
check "exnone: nothing counted (no policy to report on)" \
    test "$(counted exnone.test validation-failure)" = 0

echo "# a policy change reaches queued mail on the next retry"
P=$S/policies
send exdynamic.test
check "exdynamic (enforce, self-signed MX): deferred" \
    logged "== u@exdynamic.test R=mtasts_enforce .*defer"
sh "$here/fixture/set" "$S" exdynamic.test exdyn2 "$P/exdynamic-none.txt"
"$M" -c "$EXIM_MTASTS_CONF" refresh exdynamic.test >/dev/null 2>&1
$X -qff 2>>"$S/exim-stderr.log"
sleep 1
check "exdynamic after enforce -> none (new id): delivered on retry" \
    logged "=> u@exdynamic.test .*R=dnslookup"

echo "# RFC 8460 reports from what was counted"
RC=$S/report.conf
cp "$EXIM_MTASTS_CONF" "$RC"
printf 'report_organization = mtasts test\nreport_contact = tlsrpt@harness.test\nreport_submitter = harness.test\n' >>"$RC"
today=$(date -u +%F)
"$M" -c "$RC" report show --json --date "$today" >"$S/reports.json" 2>>"$S/exim-stderr.log"
r() { jq -r "$1" "$S/reports.json"; }
check "report: exbadcert's failures as counted (validation-failure)" test \
    "$(r '.["exbadcert.test"].policies[0]."failure-details"[0] |
    ."result-type" + " " + (."failed-session-count" | tostring)')" = \
    "validation-failure $(counted exbadcert.test validation-failure)"
check "report: exgood's policy quoted line by line, mx-host an array (D18)" \
    test "$(r '[.["exgood.test"].policies[] |
    select(.policy."policy-type" == "sts")][0].policy | ."policy-type" + " " +
    ."policy-string"[0] + " " + (."mx-host" | join(","))')" = \
    "sts version: STSv1 mx.exgood.test"
check "report: summary counts are integers, date range is the UTC day" \
    test "$(r '.["exgood.test"] | (.policies[0].summary |
    ."total-successful-session-count" | type) + " " +
    ."date-range"."start-datetime"')" = "number ${today}T00:00:00Z"
check "report: report-id has no ':' (D21)" sh -c \
    "! jq -r '.[].\"report-id\"' '$S/reports.json' | grep -q :"
mkdir -p "$S/out"
"$M" -c "$RC" report generate --date "$today" --out "$S/out" >/dev/null
check "report generate: one file per domain, named per RFC 8460 5.1" \
    test -f "$(ls "$S/out"/harness.test\!exgood.test\!*\!*\!*.json.gz)"
check "report generate: every file is a gzip'd JSON report (5.2)" sh -c \
    "for f in '$S/out'/*.json.gz; do gzip -dc \"\$f\" |
    jq -e '.\"report-id\"' >/dev/null || exit 1; done"
"$M" -c "$EXIM_MTASTS_CONF" report generate --out "$S/out" >/dev/null 2>&1
check "report generate without report_* settings: usage error (2)" \
    test $? = 2

echo "# hostile arguments through exim -be"
be() {	# be EXPANSION: its value in $out; rc 1 if it failed ("Failed:")
	out=$($X -be "$1" 2>/dev/null)
	rc=$?
	case $out in Failed:*) rc=1 ;; esac
}
SO=$EXIM_MODULE_SO
C=$EXIM_MTASTS_CONF
# Exim refuses command-line arguments over 256 bytes itself: from a file.
awk 'BEGIN { while (i++ < 5000) printf "a"; printf ".test" }' >"$S/long"
be "\${dlfunc{$SO}{mtasts_mx}{\${readfile{$S/long}}}{10 mx.exgood.test}{$C}}"
check "5000-byte domain: mtasts_mx declines with a message, no crash" \
    sh -c "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'mtasts_mx: name'" "$out"
be "\${dlfunc{$SO}{mtasts_mode}{ex\\xc3\\xa4mple..test}{$C}}"
check "non-ASCII, empty label: not a domain, so no policy" \
    test "$out" = no-policy
be "\${dlfunc{$SO}{mtasts_mode}{exgood.test}{$C}}"
check "mtasts_mode exgood.test = enforce" test "$out" = enforce
be "\${dlfunc{$SO}{mtasts_mode}}"
check "no arguments: 'wrong arguments'" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'wrong arguments'" "$out"
be "\${dlfunc{$SO}{mtasts_mode}{exgood.test}{relative/path}}"
check "relative config path refused" test "$rc" -ne 0
# 10 000 names are more than one argv string may hold: from a file.
awk 'BEGIN { while (i++ < 10000) printf "%s10 h%d.exgood.test", \
    (i > 1 ? ":" : ""), i }' >"$S/mx10000.txt"
be "\${dlfunc{$SO}{mtasts_mx}{exgood.test}{\${readfile{$S/mx10000.txt}}}{$C}}"
check "10 000 MX names (209 KB): refused with a clear error" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'MX list longer than'" "$out"
awk 'BEGIN { while (i++ < 2000) printf "%s10 h%d.x.test", \
    (i > 1 ? ":" : ""), i }' >"$S/mx2000.txt"
be "\${dlfunc{$SO}{mtasts_mx}{exgood.test}{\${readfile{$S/mx2000.txt}}}{$C}}"
check "2000 MX names: refused, more than 1024" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'more than 1024 MX'" "$out"
be "\${dlfunc{$SO}{mtasts_mx}{exgood.test}{20 mx.exgood.test:10 MX.EXGOOD.TEST.:5 evil.attacker.test:junk junk:99999999 mx.exgood.test}{$C}}"
check "mtasts_mx filters, normalises, dedupes, orders by preference" \
    test "$out" = "mx.exgood.test"
be "\${dlfunc{$SO}{mtasts_mx}{extesting.test}{10 mx.extesting.test}{$C}}"
check "mtasts_mx on a testing domain: forced failure (router declines)" \
    test "$rc" -ne 0
be "\${dlfunc{$SO}{mtasts_record}{exgood.test}{no-such-result}{mx.exgood.test}{127.0.3.1}{$C}}"
check "mtasts_record: unknown result type refused" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'unknown TLS result'" "$out"
be "\${dlfunc{$SO}{mtasts_record}{exgood.test}{success}{mx.exgood.test}{127.0.3.999}{$C}}"
check "mtasts_record: bad address refused" test "$rc" -ne 0
be "\${dlfunc{$SO}{mtasts_record}{exgood.test}{success}{}{}{$C}{10.0.0.999}}"
check "mtasts_record: bad sending address refused" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'sending address'" "$out"
be "\${dlfunc{$SO}{mtasts_record}{exgood.test}{success}{}{}{}{}{mx.exgood.test}{x}}"
check "mtasts_record: eight arguments refused" sh -c \
    "[ $rc -ne 0 ] && echo \"\$0\" | grep -q 'wrong arguments'" "$out"
check "the paniclog holds no module errors" sh -c \
    "! grep -qs mtasts '$EXIM_DIR/sender/log/paniclog'"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
