#!/bin/sh
# tests/integration/smtpd-pin.sh BUILDDIR
#
# MX pinning (docs/opensmtpd.md, "MX pinning"; the Tier B of
# ../shared/docs/opensmtpd-integration.md §3.3): Debian's real
# OpenSMTPD 6.8 with table-mtasts as "relay domain <mtasts>", so every
# delivery attempt goes to one MX host that the policy allows (RFC 8461
# §4.1 at delivery time).  Same fixture, receivers and captures as
# smtpd.sh; the ASan+UBSan builds of the filter and the table.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-smtpd-pin
AF=$(pwd)/$B/asan/filter-mtasts
AT=$(pwd)/$B/asan/table-mtasts

. "$here/tap.sh"

for s in smtpd/setup exim/setup; do
	if ! sh "$here/$s" "$B" >"$S.setup.log" 2>&1; then
		echo "Bail out! tests/$s failed: $(tail -n 2 "$S.setup.log")"
		exit 1
	fi
done
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/smtpd/stop" "$S" >/dev/null 2>&1;
    sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
if ! TIER=B FILTER=$AF TABLE=$AT sh "$here/smtpd/start" "$B" "$S" \
    >"$S.smtpd.log" 2>&1; then
	echo "Bail out! smtpd harness did not start: $(tail -n 2 "$S.smtpd.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
. "$S/smtpd/env"
. "$here/fixture/lib.sh"
. "$here/smtpd/lib.sh"
LOG=$SMTPD_LOG
SMTPD_ROOT=$(cd "$B/smtpd/root" && pwd -P)
run=$$

send() {	# send DOMAIN: one message to u@DOMAIN marked $mark
	mark="PIN-$1-$run-$n"
	out=$S/swaks-$1.out
	swaks --server "$SMTPD_IP" --from a@harness.test --to "u@$1" \
	    --body "$mark" --timeout 30 >"$out" 2>&1
}
accepted() { grep -q '^<-  250 .*Message accepted' "$out"; }
delivered() { grep -q "mta delivery .* to=<u@$1> .*result=\"Ok\"" "$LOG"; }
tempfailed() {
	grep -q "mta delivery .* to=<u@$1> .*result=\"TempFail\"" "$LOG"
}
# refused DOMAIN: smtpd gave up on the pinned MX for a TLS reason (its
# "mta delivery ... TempFail" line may come a minute later).
refused() {
	tempfailed "$1" ||
	    sm_log_badname "$LOG" "mx.$1" ||
	    grep -q "mtasts-report: session .*: $1 validation-failure" "$LOG" ||
	    { [ "$1" = exnotls.test ] &&
	    grep -q 'TLS required but not supported by remote host' "$LOG"; }
}
pinned() {	# pinned DOMAIN MX: table-mtasts answered smtp+tls://MX
	grep -q "table-mtasts\[mtasts\]: $1: relay via smtp+tls://$2\$" "$LOG"
}
got() { grep -rqs -- "$2" "$1/Maildir/new"; }
as_filter() {	# the cache belongs to the filter's (and table's) user
	setpriv --reuid "$SMTPD_UID" --regid "$SMTPD_GID" --clear-groups "$@"
}

echo "# the reference configuration"
sed -e "s|/etc/ssl/mail.example.com.pem|$S/ca/mx-good.pem|" \
    -e "s|/etc/ssl/private/mail.example.com.key|$S/ca/mx-good.key|" \
    -e "s|/etc/mtasts/opensmtpd.conf|$SMTPD_MTASTS_CONF|" \
    -e "s|/etc/aliases|/dev/null|" -e "s| user _mtasts group _mtasts||" \
    -e "s|listen on eth0|listen on lo|" \
    "$here/../docs/opensmtpd/smtpd-pinning.conf" >"$S/reference.conf"
check "docs/opensmtpd/smtpd-pinning.conf passes smtpd -n (test paths)" \
    sh -c "'$SMTPD_DIR/ns' '$SMTPD_ROOT/usr/sbin/smtpd' -n \
    -f '$S/reference.conf' >/dev/null 2>&1"

echo "# enforce, an MX set whose best MX is not in the policy"
# exmixed.test: MX 10 mx1 -> (e), which has a valid certificate for
# mx1.exmixed.test; MX 20 mx2 -> (a).  The policy allows only mx2.  With
# "relay tls" alone smtpd would try mx1 first, and its certificate
# passes: only pinning keeps the mail away from it.
send exmixed.test
check "exmixed: accepted" accepted
check "exmixed: table-mtasts pinned mx2.exmixed.test" \
    waitfor 150 pinned exmixed.test mx2.exmixed.test
check "exmixed: delivered" waitfor 150 delivered exmixed.test
check "exmixed: the good receiver (mx2) stored it" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"
check "exmixed: mx1 (not in the policy) never contacted" \
    sh -c "! grep -q '^EHLO' '$EXIM_RCV_NEVER_CAPTURE'"
check "exmixed: never in clear on the wire" \
    sh -c "! grep -qs -- '$mark' '$EXIM_RCV_GOOD_CAPTURE'"

echo "# enforce, good MX"
send exgood.test
check "exgood: pinned mx.exgood.test" \
    waitfor 150 pinned exgood.test mx.exgood.test
check "exgood: delivered" waitfor 150 delivered exgood.test
check "exgood: smtpd's certificate check passed" \
    sm_log_verified "$LOG"

# Before the bad receivers: smtpd suspends the route to a receiver that
# failed, and extesting.test shares (b) with exbadcert.test.
echo "# testing and none: not in the table, delivered as usual"
send extesting.test
check "extesting: delivered (wrong certificate name, testing mode)" \
    waitfor 150 delivered extesting.test
check "extesting: not routed through the table" \
    sh -c "! grep -q 'table-mtasts.*extesting.test' '$LOG'"
send exnone.test
check "exnone: delivered" waitfor 150 delivered exnone.test

echo "# enforce, bad receivers: deferred, never in clear"
for d in exbadcert:wrongname exnotls:notls; do
	dom=${d%%:*}.test
	r=$(echo "${d#*:}" | tr a-z A-Z)
	eval "cap=\$EXIM_RCV_${r}_CAPTURE"
	eval "dir=\$EXIM_RCV_${r}_DIR"
	send "$dom"
	check "$dom: pinned mx.$dom" waitfor 150 pinned "$dom" "mx.$dom"
	check "$dom: the attempt refused (TLS), failed temporarily" \
	    waitfor 600 refused "$dom"
	check "$dom: still queued" sm_queued "$SMTPD_DIR" "u@$dom"
	check "$dom: nothing stored, nothing in clear" sh -c \
	    "! grep -rqs -- '$mark' '$dir/Maildir/new' &&
	    ! grep -qs -- '$mark' '$cap'"
done

echo "# enforce, no MX allowed: refused at RCPT by the filter"
send exnomatch.test
check "exnomatch: 451 4.7.5 at RCPT" \
    grep -q '^<\*\* *451 4.7.5 MTA-STS: no MX host' "$out"

echo "# the policy changes while mail waits: the next attempt follows it"
# dynamic.test: MX mx1/mx2.dynamic.test on 127.0.2.1/2, where nothing
# listens, so each attempt fails at once and the mail waits.
send dynamic.test
check "dynamic: pinned mx1.dynamic.test" \
    waitfor 150 pinned dynamic.test mx1.dynamic.test
check "dynamic: the attempt failed temporarily (nothing listens)" \
    waitfor 600 tempfailed dynamic.test
cat >"$S/dynamic-moved.txt" <<EOP
version: STSv1
mode: enforce
mx: mail.elsewhere.test
max_age: 86400
EOP
sh "$here/fixture/set" "$S" dynamic.test dynmoved "$S/dynamic-moved.txt" \
    >/dev/null 2>&1
# A fresh cached policy is used as it is until refreshed (RFC 8461
# §5.1): "mtasts refresh" (cron, timer) sees the new id and fetches.
as_filter "$B/mtasts" -c "$SMTPD_MTASTS_CONF" refresh dynamic.test \
    >"$S/refresh.out" 2>&1
check "dynamic: refresh fetched the new policy" \
    grep -q '1 fetched' "$S/refresh.out"
# smtpctl insists on running setgid opensmtpq; ask again every 5 s (for
# 2 minutes at most) in case the envelope is between attempts.
qgid=$(awk -F: '$1 == "opensmtpq" { print $3 }' "$B/smtpd/etc/group")
nomx() { grep -q 'table-mtasts\[mtasts\]: dynamic.test: no MX host matches its policy' "$LOG"; }
retried() {
	i=0
	while [ "$i" -lt 24 ]; do
		"$SMTPD_DIR/ns" setpriv --regid "$qgid" --clear-groups \
		    "$SMTPD_ROOT/usr/sbin/smtpctl" schedule all \
		    >>"$S/smtpctl.out" 2>&1
		sleep 5
		nomx && return 0
		i=$((i + 1))
	done
	return 1
}
check "dynamic: no MX allowed by the new policy: no relay host" retried
waiting() {
	sm_queued "$SMTPD_DIR" u@dynamic.test &&
	    ! grep -q 'to=<u@dynamic.test> .*result="PermFail"' "$LOG"
}
check "dynamic: still queued, never bounced" waiting
sh "$here/fixture/set" "$S" dynamic.test dynamicv1 \
    "$S/policies/dynamic-enforce.txt" >/dev/null 2>&1

echo "# TLSRPT: failed sessions counted for their domain and MX host"
counted_mx() {	# counted_mx DOMAIN RESULT MX
	as_filter "$B/mtasts" -c "$SMTPD_MTASTS_CONF" report counts --json \
	    2>/dev/null | jq -e --arg d "$1" --arg r "$2" --arg m "$3" \
	    '[.[] | select(.domain == $d and .result == $r and .mx == $m)] |
	    length > 0' >/dev/null 2>&1
}
check "exbadcert: validation-failure at mx.exbadcert.test counted" \
    waitfor 300 counted_mx exbadcert.test validation-failure mx.exbadcert.test
check "exnotls: starttls-not-supported at mx.exnotls.test counted" \
    waitfor 300 counted_mx exnotls.test starttls-not-supported mx.exnotls.test
check "exmixed: success at mx2.exmixed.test counted" \
    waitfor 300 counted_mx exmixed.test success mx2.exmixed.test

echo "# health"
check "no sanitizer report in smtpd's log" \
    sh -c "! grep -q 'Sanitizer\|runtime error' '$LOG'"
check "smtpd (and so the table and the filter) still running" \
    sh -c "[ -d /proc/\$(cat '$SMTPD_DIR/smtpd.pid') ]"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
