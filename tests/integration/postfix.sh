#!/bin/sh
# tests/integration/postfix.sh BUILDDIR
#
# mtasts-socketmap (ASan+UBSan build) in Debian's real Postfix 3.7
# (tests/postfix: run from a dpkg -x tree, never installed), configured
# as docs/postfix.md says: smtp_tls_policy_maps =
# socketmap:unix:mtasts/socketmap:postfix (the socket in Postfix's queue
# directory, named relative to it).  Mail to the fixture's Exim
# scenarios goes to the five receiving Exims of tests/exim behind byte
# captures: enforce domains are delivered only over verified TLS to an
# allowed certificate and otherwise deferred (never bounced, never in
# clear); testing and none domains go out as without MTA-STS.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-postfix-it
SM=$(pwd)/$B/asan/mtasts-socketmap

. "$here/tap.sh"

for s in postfix/setup exim/setup; do
	if ! sh "$here/$s" "$B" >"$S.setup.log" 2>&1; then
		echo "Bail out! tests/$s failed: $(tail -n 2 "$S.setup.log")"
		exit 1
	fi
done
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
smpid=""
trap 'sh "$here/postfix/stop" "$S" >/dev/null 2>&1;
    [ -n "$smpid" ] && kill "$smpid" 2>/dev/null;
    sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Postfix first: its start makes a fresh queue directory, where the
# socket goes (as /var/spool/postfix/mtasts/socketmap in a system).
if ! sh "$here/postfix/start" "$B" "$S" >"$S.postfix.log" 2>&1; then
	echo "Bail out! postfix harness did not start: $(tail -n 3 "$S.postfix.log")"
	exit 1
fi
. "$S/postfix/env"
LOG=$POSTFIX_LOG
mkdir -p "$POSTFIX_DIR/spool/mtasts"
"$SM" -f -v -c "$FIXTURE_CONF" -s "$POSTFIX_DIR/spool/mtasts/socketmap" \
    >"$S/socketmap.log" 2>&1 &
smpid=$!
if ! waitfor 100 test -S "$POSTFIX_DIR/spool/mtasts/socketmap"; then
	echo "Bail out! mtasts-socketmap did not start: $(tail -n 2 "$S/socketmap.log")"
	exit 1
fi
echo "# Postfix $POSTFIX_VERSION, smtp_tls_policy_maps = socketmap:unix:mtasts/socketmap:postfix"
run=$$

# send DOMAIN: one message to u@DOMAIN with a unique marker ($mark) in
# its body, by SMTP to Postfix.
send() {
	mark="MARKER-$1-$run-$n"
	swaks --server "$POSTFIX_IP:$POSTFIX_PORT" --from a@harness.test \
	    --to "u@$1" --body "$mark" --timeout 30 >"$S/swaks-$1.out" 2>&1
}
sent() { grep -q "to=<u@$1>, relay=$2\\[.*status=sent" "$LOG"; }
deferred() { grep -q "to=<u@$1>, relay=.*status=deferred" "$LOG"; }
bounced() { grep -q "to=<u@$1>, .*status=bounced" "$LOG"; }
got() { grep -rqs -- "$2" "$1/Maildir/new"; }	# got RCVDIR MARK

echo "# enforce, good MX"
send exgood.test
check "exgood: accepted by Postfix" grep -q '^<-  250 .*queued as' "$S/swaks-exgood.test.out"
check "exgood: the socketmap answered secure" \
    waitfor 100 grep -q 'exgood.test: enforce' "$S/socketmap.log"
check "exgood: sent to mx.exgood.test" waitfor 150 sent exgood.test mx.exgood.test
check "exgood: over verified TLS" \
    grep -q 'Verified TLS connection established to mx.exgood.test' "$LOG"
check "exgood: the good receiver stored the message" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"
check "exgood: never in clear on the wire" \
    sh -c "! grep -qs -- '$mark' '$EXIM_RCV_GOOD_CAPTURE'"

for d in exbadcert:wrongname exselfsigned:selfsigned exnotls:notls; do
	dom=${d%%:*}.test
	r=$(echo "${d#*:}" | tr a-z A-Z)
	eval "cap=\$EXIM_RCV_${r}_CAPTURE"
	eval "dir=\$EXIM_RCV_${r}_DIR"
	echo "# enforce, ${d#*:} receiver"
	send "$dom"
	check "$dom: deferred" waitfor 150 deferred "$dom"
	check "$dom: the receiver stored nothing" \
	    sh -c "! grep -rqs -- '$mark' '$dir/Maildir/new'"
	check "$dom: no byte of the message seen in clear" \
	    sh -c "! grep -qs -- '$mark' '$cap'"
done
check "exbadcert: refused for the certificate" \
    grep -q 'to=<u@exbadcert.test>.*status=deferred (Server certificate not verified)' "$LOG"
check "exselfsigned: refused for the certificate" \
    grep -q 'to=<u@exselfsigned.test>.*status=deferred (Server certificate not verified)' "$LOG"
check "exnotls: refused for the missing STARTTLS" \
    grep -q 'to=<u@exnotls.test>.*status=deferred (TLS is required, but was not offered' "$LOG"

echo "# enforce, MX 10 outside the policy, MX 20 allowed"
send exmixed.test
check "exmixed: sent to mx2.exmixed.test" \
    waitfor 150 sent exmixed.test mx2.exmixed.test
check "exmixed: the good receiver stored it" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"
check "exmixed: the never receiver stored nothing" \
    sh -c "! grep -rqs -- '$mark' '$EXIM_RCV_NEVER_DIR/Maildir/new'"

echo "# testing and none: as without MTA-STS"
send extesting.test
check "extesting: sent to its (wrong-name) MX anyway" \
    waitfor 150 sent extesting.test mx.extesting.test
send exnone.test
check "exnone: sent to its (self-signed) MX" \
    waitfor 150 sent exnone.test mx.exnone.test

check "no enforce failure was bounced" sh -c "! grep -q 'status=bounced' '$LOG'"
check "the socketmap saw no request it could not answer" \
    sh -c "! grep -q 'TEMP\|PERM\|Sanitizer' '$S/socketmap.log'"

echo "# the socketmap server gone: Postfix defers rather than guess"
kill -TERM "$smpid"
wait "$smpid"
rc=$?
smpid=""
check "mtasts-socketmap: SIGTERM, exit 0 (no leak)" [ "$rc" -eq 0 ]
send exgood.test
check "exgood: deferred while the policy cannot be looked up" \
    waitfor 400 grep -q "to=<u@exgood.test>.*status=deferred (client TLS configuration problem)" "$LOG"
check "Postfix logged the policy table lookup error" \
    grep -q 'smtp_tls_policy_maps, next-hop destination "exgood.test": policy table lookup error' "$LOG"

echo "1..$n"
[ "$failed" -eq 0 ]
