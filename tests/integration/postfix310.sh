#!/bin/sh
# tests/integration/postfix310.sh BUILDDIR
#
# mtasts-socketmap (ASan+UBSan build) with Postfix 3.10's TLSRPT policy
# attributes (socketmap/attr.c, docs/postfix.md "Postfix 3.10"), in
# Debian 13's real Postfix (tests/postfix: dpkg -x, never installed)
# with smtp_tls_policy_maps = socketmap:unix:mtasts/socketmap:QUERYwithTLSRPT
# (postfix-tlspol's map name) and smtp_tls_enforce_sts_mx_patterns = yes
# (3.10.5 and later): an enforce domain's MX host outside the policy is
# never contacted (RFC 8461 §4.1), a bad certificate is deferred, a good
# one delivered; a testing domain and a domain whose policy fetch failed
# are delivered as without MTA-STS (§5, §5.1).  The receivers are those
# of tests/exim behind byte captures.  Last, Postfix's own TLSRPT events
# (smtp_tlsrpt_enable = yes) for those sessions, through mtasts-tlsrptd
# into mtasts report show: success, certificate-host-mismatch, the
# testing domain's session, sts-policy-fetch-error.  On Debian 12
# (Postfix 3.7, which refuses these attributes) it skips.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-postfix310-it
SM=$(pwd)/$B/asan/mtasts-socketmap

. "$here/tap.sh"

if ! sh "$here/postfix/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/postfix/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
v=$(cat "$B/postfix/VERSION")
if ! dpkg --compare-versions "$v" ge 3.10.5; then
	echo "1..0 # SKIP Postfix $v: TLSRPT attributes and MX pattern" \
	    "enforcement need 3.10.5 or later (Debian 13)"
	exit 0
fi
if ! sh "$here/exim/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/exim/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
smpid="" tdpid=""
trap 'sh "$here/postfix/stop" "$S" >/dev/null 2>&1;
    [ -n "$smpid" ] && kill "$smpid" 2>/dev/null;
    [ -n "$tdpid" ] && kill "$tdpid" 2>/dev/null;
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
# --- TLSRPT (RFC 8460): Postfix's own events, through mtasts-tlsrptd
# into the results store that mtasts report show reads.  Postfix reports
# only for domains that publish a TLSRPT record: the fixture gives one to
# exgood.test; the others get theirs here (nsd rereads a zone file whose
# mtime changed).
TD=$(pwd)/$B/asan/mtasts-tlsrptd
MT=$(pwd)/$B/asan/mtasts
TLSRPT_SOCK=$S/tlsrpt/tlsrpt.sock
for d in exbadcert extesting exdynamic exmixed; do
	zf=$S/nsd/zones/$d.test.zone
	awk -v d="$d" '$2 == "SOA" { $5 = $5 + 1 } $1 == "_smtp._tls" { next }
	    { print } END { printf "_smtp._tls\tTXT\t\"v=TLSRPTv1; rua=mailto:tlsrpt@%s.test\"\n", d }' \
	    "$zf" >"$zf.new"
	mv -f "$zf.new" "$zf"
	touch -d "@$(($(date +%s) + 1))" "$zf"
done
kill -HUP "$(cat "$S/nsd/nsd.pid")"
for d in exbadcert extesting exdynamic exmixed; do
	if ! waitfor 100 sh -c "dig +short @$FIXTURE_DNS53 TXT _smtp._tls.$d.test |
	    grep -q TLSRPTv1"; then
		echo "Bail out! nsd does not serve _smtp._tls.$d.test"
		exit 1
	fi
done
mkdir -p "$S/tlsrpt"
# Postfix's smtp runs as user postfix: the socket takes its datagrams.
"$TD" -f -v -c "$FIXTURE_CONF" -s "$TLSRPT_SOCK" -m 0222 \
    >"$S/tlsrptd.log" 2>&1 &
tdpid=$!
if ! waitfor 100 test -S "$TLSRPT_SOCK"; then
	echo "Bail out! mtasts-tlsrptd did not start: $(tail -n 2 "$S/tlsrptd.log")"
	exit 1
fi
MAP=socketmap:unix:mtasts/socketmap:QUERYwithTLSRPT
if ! POSTFIX_TLS_POLICY_MAPS=$MAP \
    POSTFIX_MAIN_EXTRA="smtp_tls_enforce_sts_mx_patterns = yes
smtp_tls_loglevel = 1, untrusted
smtp_tlsrpt_enable = yes
smtp_tlsrpt_socket_name = $TLSRPT_SOCK" \
    sh "$here/postfix/start" "$B" "$S" >"$S.postfix.log" 2>&1; then
	echo "Bail out! postfix harness did not start: $(tail -n 3 "$S.postfix.log")"
	exit 1
fi
. "$S/postfix/env"
LOG=$POSTFIX_LOG
SOCK=$POSTFIX_DIR/spool/mtasts/socketmap
mkdir -p "$POSTFIX_DIR/spool/mtasts"
# sm_start CONF: mtasts-socketmap on the socket in Postfix's queue
# directory, with CONF.
sm_start() {
	"$SM" -f -v -c "$1" -s "$SOCK" >>"$S/socketmap.log" 2>&1 &
	smpid=$!
	waitfor 100 test -S "$SOCK"
}
sm_stop() {
	kill -TERM "$smpid"
	wait "$smpid"
	smrc=$?
	smpid=""
	rm -f "$SOCK"
}
if ! sm_start "$FIXTURE_CONF"; then
	echo "Bail out! mtasts-socketmap did not start: $(tail -n 2 "$S/socketmap.log")"
	exit 1
fi
echo "# Postfix $POSTFIX_VERSION, smtp_tls_policy_maps = $MAP"
run=$$

# ask NAME DOMAIN: the socketmap's answer, as Postfix would get it.
ask() {
	q="$1 $2"
	printf '%d:%s,' "${#q}" "$q" | nc -U -N "$SOCK" 2>/dev/null |
	    sed 's/^[0-9]*://; s/,$//'
}
# answered DOMAIN ERE: the answer to QUERYwithTLSRPT matches ERE.
answered() { ask QUERYwithTLSRPT "$1" | grep -Eq -- "$2"; }
send() {
	mark="MARKER-$1-$run-$n"
	swaks --server "$POSTFIX_IP:$POSTFIX_PORT" --from a@harness.test \
	    --to "u@$1" --body "$mark" --timeout 30 >"$S/swaks-$1.out" 2>&1
}
sent() { grep -q "to=<u@$1>, relay=$2\\[.*status=sent" "$LOG"; }
deferred() { grep -q "to=<u@$1>, relay=.*status=deferred" "$LOG"; }
got() { grep -rqs -- "$2" "$1/Maildir/new"; }	# got RCVDIR MARK
# contacted CAPTURE: a connection reached that receiver's relay.
contacted() { grep -q 'accepting connection' "$1"; }

echo "# Postfix's own view of the parameters"
check "smtp_tls_enforce_sts_mx_patterns = yes" sh -c \
    "'$POSTFIX_NS' '$POSTFIX_ROOT/usr/sbin/postconf' -c '$POSTFIX_CONF' \
    smtp_tls_enforce_sts_mx_patterns | grep -qx 'smtp_tls_enforce_sts_mx_patterns = yes'"

echo "# enforce, good MX"
send exgood.test
check "exgood: answered secure with the policy's attributes" \
    answered exgood.test '^OK secure match=mx\.exgood\.test servername=hostname policy_type=sts policy_domain=exgood\.test mx_host_pattern=mx\.exgood\.test \{ policy_string = version: STSv1 \}'
check "exgood: sent to mx.exgood.test" waitfor 150 sent exgood.test mx.exgood.test
check "exgood: over verified TLS" \
    grep -q 'Verified TLS connection established to mx.exgood.test' "$LOG"
check "exgood: the good receiver stored the message" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"

echo "# enforce, MX 10 outside the policy (never contacted), MX 20 allowed"
: >"$EXIM_RCV_NEVER_CAPTURE"
send exmixed.test
check "exmixed: sent to mx2.exmixed.test" \
    waitfor 150 sent exmixed.test mx2.exmixed.test
check "exmixed: Postfix refused mx1.exmixed.test for the policy's patterns" \
    grep -q "MX name 'mx1.exmixed.test' does not match STS MX pattern for 'exmixed.test'" "$LOG"
check "exmixed: the never receiver saw no connection at all" \
    sh -c "! grep -q 'accepting connection' '$EXIM_RCV_NEVER_CAPTURE'"
check "exmixed: the good receiver stored it" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"

echo "# enforce, bad certificate"
send exbadcert.test
check "exbadcert: deferred" waitfor 150 deferred exbadcert.test
check "exbadcert: refused for the certificate" \
    grep -q 'to=<u@exbadcert.test>.*status=deferred (Server certificate not verified)' "$LOG"
check "exbadcert: the receiver stored nothing" \
    sh -c "! grep -rqs -- '$mark' '$EXIM_RCV_WRONGNAME_DIR/Maildir/new'"
check "exbadcert: no byte of the message seen in clear" \
    sh -c "! grep -qs -- '$mark' '$EXIM_RCV_WRONGNAME_CAPTURE'"

echo "# testing: as without MTA-STS, reported against the policy"
send extesting.test
check "extesting: answered may with the policy's attributes" \
    answered extesting.test '^OK may policy_type=sts policy_domain=extesting\.test mx_host_pattern=mx\.extesting\.test \{ policy_string = version: STSv1 \} \{ policy_string = mode: testing \}'
check "extesting: sent to its (wrong-name) MX anyway" \
    waitfor 150 sent extesting.test mx.extesting.test
check "extesting: the receiver stored it" \
    waitfor 50 got "$EXIM_RCV_WRONGNAME_DIR" "$mark"

echo "# the policy fetch failed (404, new id): as without a policy (§5.1)"
sh "$here/fixture/set" "$S" exdynamic.test exdynfail - >/dev/null
send exdynamic.test
check "exdynamic: answered may with policy_failure" \
    answered exdynamic.test '^OK may policy_type=sts policy_domain=exdynamic\.test policy_failure=sts-policy-fetch-error$'
check "exdynamic: sent to its (self-signed) MX" \
    waitfor 150 sent exdynamic.test mx.exdynamic.test
check "exdynamic: the receiver stored it" \
    waitfor 50 got "$EXIM_RCV_SELFSIGNED_DIR" "$mark"
check "exdynamic: Postfix failed the certificate check with the policy_failure" \
    grep -q 'certificate verification failed for mx.exdynamic.test\[127.0.3.3\]:25: external policy failure (sts-policy-fetch-error)' "$LOG"

echo "# a hostile policy line: Postfix still reads the answer"
{
	printf '%s\n' 'version: STSv1' 'mode: testing' \
	    'mx: mx.exdynamic.test' 'max_age: 86400'
	printf 'x-hostile: {policy_string = x} }{ a,b=c  d \303\251\n'
} >"$S/hostile.txt"
sh "$here/fixture/set" "$S" exdynamic.test exdynhostile "$S/hostile.txt" \
    >/dev/null
# The socketmap's resolver (c-ares 1.34 caches answers) may still hold
# the old id for its TTL, 1 s, rounded up.
sleep 3
send exdynamic.test
check "exdynamic: the hostile line escaped in its policy_string" \
    answered exdynamic.test '\{ policy_string = x-hostile: \?policy_string = x\? \?\? a,b=c d \?\? \}'
check "exdynamic: sent (testing)" \
    waitfor 150 sh -c "[ \$(grep -c 'to=<u@exdynamic.test>, relay=mx.exdynamic.test.*status=sent' '$LOG') -eq 2 ]"
check "exdynamic: the receiver stored it" \
    waitfor 50 got "$EXIM_RCV_SELFSIGNED_DIR" "$mark"

echo "# the map name decides, or socketmap_tlsrpt"
check "map name postfix: no attributes" \
    sh -c "[ \"\$(printf '19:postfix exgood.test,' | nc -U -N '$SOCK')\" = \
'50:OK secure match=mx.exgood.test servername=hostname,' ]"
check "no bounce" sh -c "! grep -q 'status=bounced' '$LOG'"
check "Postfix accepted every answer (no policy table warning)" \
    sh -c "! grep -q 'smtp_tls_policy_maps\|malformed attribute\|invalid attribute' '$LOG'"
check "the socketmap saw no request it could not answer" \
    sh -c "! grep -q 'TEMP\|PERM\|Sanitizer' '$S/socketmap.log'"
sm_stop
check "mtasts-socketmap: SIGTERM, exit 0 (no leak)" [ "$smrc" -eq 0 ]
cp "$FIXTURE_CONF" "$S/mtasts-tlsrpt.conf"
echo "socketmap_tlsrpt = yes" >>"$S/mtasts-tlsrpt.conf"
sm_start "$S/mtasts-tlsrpt.conf"
check "socketmap_tlsrpt = yes: attributes for map name postfix too" \
    sh -c "printf '19:postfix exgood.test,' | nc -U -N '$SOCK' |
    grep -q 'servername=hostname policy_type=sts policy_domain=exgood.test'"
sm_stop
check "mtasts-socketmap: SIGTERM, exit 0 (no leak)" [ "$smrc" -eq 0 ]

echo "# TLSRPT: Postfix's events, through mtasts-tlsrptd, in mtasts report show"
DAY=$(date -u +%F)
kill -TERM "$tdpid"
wait "$tdpid"
tdrc=$?
tdpid=""
check "mtasts-tlsrptd: SIGTERM, exit 0 (no leak)" [ "$tdrc" -eq 0 ]
check "mtasts-tlsrptd counted sessions and refused no datagram" sh -c \
    "grep -q ' sessions counted, 0 lost, 0 refused' '$S/tlsrptd.log' &&
    ! grep -Eq ' [1-9][0-9]* (lost|refused)|Sanitizer' '$S/tlsrptd.log'"
MTASTS_CONF=$FIXTURE_CONF "$MT" report show --json --date "$DAY" \
    >"$S/report.json" 2>"$S/report.err"
MTASTS_CONF=$FIXTURE_CONF "$MT" report show --date "$DAY" >"$S/report.txt" \
    2>>"$S/report.err"
# succ DOMAIN: successful sessions under the domain's sts policies.
succ() {
	jq -r --arg d "$1" '[.[$d].policies[]? |
	    select(.policy."policy-type" == "sts") |
	    .summary."total-successful-session-count"] | add // 0' \
	    "$S/report.json"
}
# fails DOMAIN TYPE MX: failed sessions of TYPE at MX.
fails() {
	jq -r --arg d "$1" --arg t "$2" --arg m "$3" '[.[$d].policies[]? |
	    ."failure-details"[]? | select(."result-type" == $t and
	    ."receiving-mx-hostname" == $m) | ."failed-session-count"] |
	    add // 0' "$S/report.json"
}
check "exgood: Postfix's session counted a success" \
    [ "$(succ exgood.test)" -ge 1 ]
check "exmixed: a success (mx2), nothing at all for mx1" sh -c \
    "[ '$(succ exmixed.test)' -ge 1 ] && ! grep -q mx1.exmixed.test '$S/report.json'"
check "exbadcert: counted as certificate-host-mismatch at mx.exbadcert.test" \
    [ "$(fails exbadcert.test certificate-host-mismatch mx.exbadcert.test)" -ge 1 ]
check "extesting: the testing policy's session counted, under its policy" sh -c \
    "[ '$(succ extesting.test)' -ge 1 ] &&
    jq -e '.[\"extesting.test\"].policies[].policy.\"policy-string\" |
    index(\"mode: testing\")' '$S/report.json' >/dev/null"
check "exdynamic: Postfix's session counted as sts-policy-fetch-error" \
    [ "$(fails exdynamic.test sts-policy-fetch-error mx.exdynamic.test)" -ge 1 ]
check "the day's report shows all five domains" sh -c \
    "for d in exgood exmixed exbadcert extesting exdynamic; do
    grep -q \"\$d.test\" '$S/report.txt' || exit 1; done"

# socketmap_tlsrpt_level: an admin whose own level is encrypt keeps it
# for the answers that carry only attributes (Postfix takes the
# answer's level instead of smtp_tls_security_level).
echo "# socketmap_tlsrpt_level = encrypt"
cp "$FIXTURE_CONF" "$S/mtasts-level.conf"
echo "socketmap_tlsrpt_level = encrypt" >>"$S/mtasts-level.conf"
sm_start "$S/mtasts-level.conf"
send extesting.test
check "extesting: answered encrypt with the policy's attributes" \
    answered extesting.test '^OK encrypt policy_type=sts policy_domain=extesting\.test mx_host_pattern='
check "extesting: Postfix took encrypt and delivered over TLS" \
    waitfor 150 got "$EXIM_RCV_WRONGNAME_DIR" "$mark"
check "enforce answers stay secure" \
    answered exgood.test '^OK secure match=mx\.exgood\.test '
sm_stop
check "mtasts-socketmap: SIGTERM, exit 0 (no leak)" [ "$smrc" -eq 0 ]
check "Postfix accepted the encrypt answer (no policy table warning)" \
    sh -c "! grep -q 'smtp_tls_policy_maps\|malformed attribute\|invalid attribute' '$LOG'"

echo "1..$n"
[ "$failed" -eq 0 ]
