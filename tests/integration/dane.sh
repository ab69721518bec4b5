#!/bin/sh
# tests/integration/dane.sh BUILDDIR
#
# DANE first (RFC 8461 §2), exercised on the fixture's signed zones and
# its validating unbound (tests/fixture/dane.sh):
#
#  1. mtasts query with dane_resolver: the DANE state and what a sender
#     applies, per scenario; AD from a resolver that does not validate
#     (nsd itself) is never taken for DANE; TLSA records of an MX host
#     whose addresses are insecure are not (RFC 7672 §2.2).
#  2. Postfix (3.7 on Debian 12, 3.10 on 13; tests/postfix,
#     POSTFIX_DANE=1: unbound, smtp_dns_support_level = dnssec) with
#     mtasts-socketmap (ASan):
#     a DANE-usable domain is answered "dane-only" and Postfix does DANE
#     -- a TLSA mismatch is deferred although the MTA-STS policy would
#     pass; a bogus zone is deferred; an unsigned enforce domain goes
#     the MTA-STS way.
#  3. socketmap_dane = dane: the answer is "OK dane".
#  4. Exim (4.96 on Debian 12, 4.98 on 13; tests/exim) on unbound,
#     the module with dane_resolver: TLSA + enforce delivered with CV=dane (the module
#     declines, Exim's DANE does it); a TLSA mismatch deferred although
#     the certificate is MTA-STS-valid; bogus deferred; unsigned
#     enforce, signed enforce without TLSA and an MX host with insecure
#     addresses go the MTA-STS way; the TLSRPT report's tlsa policies
#     quote the TLSA records (RFC 8460 §4.4).
# TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-dane-it
SM=$(pwd)/$B/asan/mtasts-socketmap
M=$(pwd)/$B/mtasts

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
. "$S/env"
if [ -z "$FIXTURE_DANE_RESOLVER" ]; then
	echo "Bail out! no validating resolver: port 53 on 127.0.9.54 taken"
	exit 1
fi

echo "# 1. mtasts query, dane_resolver = $FIXTURE_DANE_RESOLVER"
# q DOMAIN: the query's JSON in $S/q-DOMAIN.json.
q() {
	"$M" -c "$FIXTURE_DANE_CONF" query --json "$1" >"$S/q-$1.json" 2>&1
}
# is DOMAIN JQ-FILTER VALUE: the member is VALUE.
is() {
	v=$(jq -r "$2" "$S/q-$1.json" 2>/dev/null)
	[ "$v" = "$3" ] || { echo "#   $1: $2 is '$v', not '$3'"; return 1; }
}
# state DOMAIN DANE APPLY MODE: the query's dane, apply and mode.
state() {
	f=$S/q-$1.json
	[ "$(jq -r .dane "$f" 2>/dev/null)" = "$2" ] &&
	    [ "$(jq -r .apply "$f")" = "$3" ] &&
	    [ "$(jq -r .mode "$f")" = "$4" ] && return 0
	sed 's/^/#   /' "$f"
	return 1
}
for row in \
    "dane-ee usable dane no-policy" \
    "dane-ta usable dane no-policy" \
    "dane-bad usable dane enforce" \
    "dane-sts usable dane enforce" \
    "dane-unsigned none mta-sts enforce" \
    "dane-bogus temporary defer enforce" \
    "dane-notlsa none mta-sts enforce" \
    "dane-mxbogus temporary defer enforce" \
    "dane-insa none mta-sts enforce" \
    "exgood none mta-sts enforce"; do
	set -- $row
	q "$1.test"
	check "$1: dane $2, apply $3, mode $4" state "$1.test" "$2" "$3" "$4"
done
check "dane-ee: why names the host and the record" \
    is dane-ee.test .dane_why "mx.dane-ee.test: DNSSEC-authenticated TLSA 3 1 1"
check "dane-ta: DANE-TA 2 0 1" \
    is dane-ta.test .dane_why "mx.dane-ta.test: DNSSEC-authenticated TLSA 2 0 1"
check "dane-bogus: why says SERVFAIL" \
    grep -q 'SERVFAIL\|temporary DNS failure' "$S/q-dane-bogus.test.json"
check "dane-mxbogus: MX authenticated, its host's lookup failed" \
    is dane-mxbogus.test '.dane_why | startswith("mx.dane-bogus.test: address lookup failed: ")' true
check "dane-unsigned: its TLSA is not authenticated" \
    grep -q 'not DNSSEC-authenticated' "$S/q-dane-unsigned.test.json"
check "dane-insa: its MX host's addresses are insecure (RFC 7672 2.2)" \
    grep -q 'mx.dane-insa.test: address records not DNSSEC-authenticated' \
    "$S/q-dane-insa.test.json"
# Without dane_resolver nothing is said about DANE.
"$M" -c "$FIXTURE_CONF" query --json dane-sts.test >"$S/q-plain.json" 2>&1
check "no dane_resolver: no dane member" \
    sh -c "[ \"\$(jq -r '.dane // \"absent\"' '$S/q-plain.json')\" = absent ]"
# A resolver that does not validate (nsd, authoritative, never AD) as
# dane_resolver: nothing is usable.
sed "s|^dane_resolver.*|dane_resolver = $FIXTURE_RESOLVER|" \
    "$FIXTURE_DANE_CONF" >"$S/mtasts-novalidate.conf"
"$M" -c "$S/mtasts-novalidate.conf" query --json dane-sts.test \
    >"$S/q-novalidate.json" 2>&1
check "non-validating dane_resolver: dane-sts is none" \
    sh -c "[ \"\$(jq -r .dane '$S/q-novalidate.json')\" = none ]"
"$M" -c "$FIXTURE_DANE_CONF" query dane-sts.test >"$S/q-text.out" 2>&1
check "text output: dane and apply lines" sh -c "
    grep -q '^dane: *usable: mx.dane-sts.test' '$S/q-text.out' &&
    grep -q '^apply: *dane' '$S/q-text.out'"

# mtasts check: the DNSSEC status of the TLSA records and what a
# sender doing both applies.
ck() {
	"$M" -c "$FIXTURE_DANE_CONF" check --json "$1.test" >"$S/check-$1.json" 2>&1
	jq -r '[.items[] | select(.check == "dnssec" or .check == "apply") |
	    .verdict + ":" + (.dane // .apply)] | join(" ")' "$S/check-$1.json"
}
for row in "dane-sts|pass:usable pass:dane" \
    "dane-bogus|warn:temporary warn:defer" \
    "dane-unsigned|skip:none pass:mta-sts" \
    "dane-ee|pass:usable pass:dane"; do
	d=${row%%|*}
	want=${row#*|}
	got=$(ck "$d")
	if [ "$got" = "$want" ]; then
		ok "check $d: dnssec and apply: $want"
	else
		not_ok "check $d: dnssec and apply: $want" "got: $got"
	fi
done
check "check dane-sts: the apply item names RFC 8461 section 2" \
    grep -q 'MTA-STS must not replace or weaken it' "$S/check-dane-sts.json"

if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/exim/env"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# sm CONF: (re)start the socketmap server on CONF.
sm() {
	if [ -n "$smpid" ]; then
		kill -TERM "$smpid"
		wait "$smpid"
		smrc=$?
		smpid=""
	fi
	"$SM" -f -v -m 0 -c "$1" -l 127.0.0.1:8461 >>"$S/socketmap.log" 2>&1 &
	smpid=$!
	waitfor 100 nc -z 127.0.0.1 8461
}
: >"$S/socketmap.log"
if ! sm "$FIXTURE_DANE_CONF"; then
	echo "Bail out! mtasts-socketmap did not start: $(tail -n 2 "$S/socketmap.log")"
	exit 1
fi
# The socketmap listens on TCP here (the "answers" checks ask it with
# nc); Postfix is pointed there instead of its default unix socket.
if ! POSTFIX_DANE=1 \
    POSTFIX_TLS_POLICY_MAPS=socketmap:inet:127.0.0.1:8461:postfix \
    sh "$here/postfix/start" "$B" "$S" >"$S.postfix.log" 2>&1; then
	echo "Bail out! postfix harness did not start: $(tail -n 3 "$S.postfix.log")"
	exit 1
fi
. "$S/postfix/env"
echo "# 2. Postfix $POSTFIX_VERSION, DANE on, socketmap with dane_resolver"
LOG=$POSTFIX_LOG
run=$$
# answers DOMAIN ERE: the socketmap's answer to "postfix DOMAIN",
# asked directly as a netstring, matches ERE.
answers() {
	printf '%d:postfix %s,' $((8 + ${#1})) "$1" |
	    nc -q 2 127.0.0.1 8461 >"$S/answer.out" 2>/dev/null
	grep -Eq "$2" "$S/answer.out" ||
	    { echo "#   $1: answered '$(cat "$S/answer.out")'"; return 1; }
}
send() {
	mark="MARKER-$1-$run-$n"
	swaks --server "$POSTFIX_IP:$POSTFIX_PORT" --from a@harness.test \
	    --to "u@$1" --body "$mark" --timeout 30 >"$S/swaks-$1.out" 2>&1
}
sent() { grep -q "to=<u@$1>, relay=$2\\[.*status=sent" "$LOG"; }
deferred() { grep -q "to=<u@$1>,.*status=deferred" "$LOG"; }
got() { grep -rqs -- "$1" "$EXIM_RCV_GOOD_DIR/Maildir/new"; }

check "socketmap: dane-sts (TLSA + enforce) answered dane-only" \
    answers dane-sts.test '^[0-9]+:OK dane-only,$'
check "socketmap: dane-ee (TLSA, no MTA-STS) answered dane-only" \
    answers dane-ee.test '^[0-9]+:OK dane-only,$'
check "socketmap: dane-unsigned answered secure" \
    answers dane-unsigned.test ':OK secure match=mx.dane-unsigned.test '
check "socketmap: dane-bogus answered TEMP" \
    answers dane-bogus.test ':TEMP dane-bogus.test: DANE lookup failed,$'
check "socketmap: dane-mxbogus (host SERVFAIL) answered TEMP" \
    answers dane-mxbogus.test ':TEMP dane-mxbogus.test: DANE lookup failed,$'
check "socketmap: dane-insa (MX host addresses insecure) answered secure" \
    answers dane-insa.test ':OK secure match=mx.dane-insa.test '

echo "# TLSA + enforce: delivered by DANE"
send dane-sts.test
check "dane-sts: sent to mx.dane-sts.test" waitfor 150 sent dane-sts.test mx.dane-sts.test
check "dane-sts: the good receiver stored it" waitfor 50 got "$mark"
check "dane-sts: Postfix verified it by DANE (TLSA)" \
    grep -q 'Verified TLS connection established to mx.dane-sts.test' "$LOG"

echo "# TLSA matching nothing, MTA-STS would pass: deferred"
send dane-bad.test
check "dane-bad: deferred" waitfor 150 deferred dane-bad.test
check "dane-bad: the receiver stored nothing" eval "! got '$mark'"
check "dane-bad: not sent" sh -c "! grep -q 'to=<u@dane-bad.test>.*status=sent' '$LOG'"
check "dane-bad: Postfix says the TLSA did not match" \
    grep -q 'mx.dane-bad.test.*\(TLSA\|certificate verification failed\|not verified\)' "$LOG"
# What this Postfix says, for the guides.
grep 'to=<u@dane-bad.test>.*status=deferred' "$LOG" | head -n 1 |
    sed 's/.*status=/# postfix dane-bad: status=/'

echo "# bogus signatures: deferred, never MTA-STS alone"
send dane-bogus.test
check "dane-bogus: deferred" waitfor 150 deferred dane-bogus.test
check "dane-bogus: not sent" sh -c "! grep -q 'to=<u@dane-bogus.test>.*status=sent' '$LOG'"

echo "# unsigned zone with TLSA, enforce: the MTA-STS way"
send dane-unsigned.test
check "dane-unsigned: sent to mx.dane-unsigned.test" \
    waitfor 150 sent dane-unsigned.test mx.dane-unsigned.test
check "dane-unsigned: over verified TLS (PKIX, MTA-STS)" \
    grep -q 'Verified TLS connection established to mx.dane-unsigned.test' "$LOG"

echo "# signed TLSA, MX host addresses insecure (CNAME to an unsigned zone)"
send dane-insa.test
check "dane-insa: sent, the MTA-STS way" \
    waitfor 150 sent dane-insa.test 'mx\.dane-\(insa\|unsigned\)\.test'
check "dane-insa: over verified TLS (PKIX, MTA-STS)" \
    grep -q 'Verified TLS connection established to mx.dane-\(insa\|unsigned\).test' "$LOG"

echo "# signed, no TLSA, enforce: the MTA-STS way"
send dane-notlsa.test
check "dane-notlsa: sent to mx.dane-notlsa.test" \
    waitfor 150 sent dane-notlsa.test mx.dane-notlsa.test

check "nothing bounced" sh -c "! grep -q 'status=bounced' '$LOG'"

echo "# 4. Exim $EXIM_VERSION: unbound with trust-ad, the module with dane_resolver"
XC=$EXIM_DIR/sender/mtasts-dane.conf
{ cat "$EXIM_MTASTS_CONF"; echo "dane_resolver = $FIXTURE_DANE_RESOLVER"; } >"$XC"
XLOG=$EXIM_SENDER_LOG
# xsend DOMAIN: one message, delivered at once (-odi), through the
# MTA-STS router, DNS from unbound.
xsend() {
	mark="MARKER-x-$1-$run-$n"
	printf 'Subject: dane test\n\n%s\n' "$mark" |
	    EXIM_RESOLV_CONF=$FIXTURE_DANE_RESOLV_CONF "$B/exim/bin/exim" \
	    -C "$EXIM_SENDER_CONF" -DHARNESS_MTASTS -DMTASTS_CONF="$XC" \
	    -odi -f a@harness.test -- "u@$1" 2>>"$S/exim-stderr.log"
}
xlogged() { grep -q -- "$1" "$XLOG"; }

xsend dane-sts.test
check "exim dane-sts: TLSA + enforce delivered by DANE (CV=dane)" \
    xlogged "=> u@dane-sts.test .*CV=dane"
check "exim dane-sts: through dnslookup, not the MTA-STS router" \
    xlogged "=> u@dane-sts.test .*R=dnslookup T=remote_smtp"
check "exim dane-sts: the good receiver stored it" got "$mark"
# tcounted DOMAIN RESULT: TLS results under policy type tlsa.
tcounted() {
	"$M" -c "$XC" report counts --json 2>/dev/null | jq -r --arg d "$1" \
	    --arg r "$2" '[.[] | select(.domain == $d and .result == $r and
	    .policy_type == "tlsa") | .count] | add // 0'
}
check "exim dane-sts: success counted under policy type tlsa" \
    test "$(tcounted dane-sts.test success)" -ge 1
xsend dane-ta.test
check "exim dane-ta: DANE-TA 2 0 1 delivered (CV=dane)" \
    xlogged "=> u@dane-ta.test .*CV=dane"
xsend dane-bad.test
check "exim dane-bad: TLSA mismatch deferred, MTA-STS-valid certificate notwithstanding" \
    xlogged "== u@dane-bad.test .*defer"
check "exim dane-bad: not delivered" sh -c "! grep -q '=> u@dane-bad.test' '$XLOG'"
grep -e '== u@dane-bad.test' -e 'DANE attempt failed.*dane-bad' "$XLOG" |
    head -n 2 | sed 's/^[0-9: .-]* [^ ]* /# exim dane-bad: /'
check "exim dane-bad: the receiver stored nothing" eval "! got '$mark'"
check "exim dane-bad: validation-failure counted under tlsa (dane:fail)" \
    test "$(tcounted dane-bad.test validation-failure)" -ge 1
# The RFC 8460 §4.4 report: DANE results under a tlsa policy.
# (The day the result was counted on: reports default to yesterday.)
day=$("$M" -c "$XC" report counts --json 2>/dev/null | jq -r '[.[] |
    select(.domain == "dane-bad.test")][0].date')
"$M" -c "$XC" report show --json --date "$day" >"$S/report.json" 2>&1
# tlsa_policy DOMAIN RECORD: DOMAIN's report has a tlsa policy whose
# policy-string is exactly [RECORD] (RFC 8460 §4.4: the TLSA records).
tlsa_policy() {
	jq -e --arg d "$1" --arg r "$2" '[.. | objects | select(
	    ."policy-type"? == "tlsa" and ."policy-domain"? == $d and
	    ."policy-string"? == [$r])] | length == 1' \
	    "$S/report.json" >/dev/null ||
	    { echo "#   $(jq -c --arg d "$1" '.[$d].policies' "$S/report.json")"
	    return 1; }
}
wrong=$(printf 'no such key' | openssl dgst -sha256 -r | cut -d' ' -f1 |
    tr a-f A-F)
ee=$(openssl x509 -in "$FIXTURE_DIR/ca/mx-good.pem" -noout -pubkey |
    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r |
    cut -d' ' -f1 | tr a-f A-F)
check "exim: the report's tlsa policy for dane-bad.test quotes its TLSA" \
    tlsa_policy dane-bad.test "3 1 1 $wrong"
check "exim: the report's tlsa policy for dane-sts.test quotes its TLSA" \
    tlsa_policy dane-sts.test "3 1 1 $ee"
xsend dane-bogus.test
check "exim dane-bogus: deferred" xlogged "== u@dane-bogus.test .*defer"
check "exim dane-bogus: not delivered" sh -c "! grep -q '=> u@dane-bogus.test' '$XLOG'"
xsend dane-mxbogus.test
check "exim dane-mxbogus: MX secure, host SERVFAIL: the module defers" \
    xlogged "== u@dane-mxbogus.test R=mtasts_enforce defer .*DANE lookup failed"
check "exim dane-mxbogus: not delivered" \
    sh -c "! grep -q '=> u@dane-mxbogus.test' '$XLOG'"
xsend dane-unsigned.test
check "exim dane-unsigned: the MTA-STS way (mtasts_enforce, CV=yes)" \
    xlogged "=> u@dane-unsigned.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes"
xsend dane-insa.test
check "exim dane-insa: MX host addresses insecure: the MTA-STS way (CV=yes)" \
    xlogged "=> u@dane-insa.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes"
grep '=> u@dane-insa.test' "$XLOG" | head -n 1 |
    sed 's/.*\(R=[^ ]* T=[^ ]*\).*\(H=[^ ]*\).*\(CV=[^ ]*\).*/# exim dane-insa: \1 \2 \3/'
xsend dane-notlsa.test
check "exim dane-notlsa: the MTA-STS way (mtasts_enforce, CV=yes)" \
    xlogged "=> u@dane-notlsa.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes"
check "exim: nothing bounced" sh -c "! grep -q ' \*\* ' '$XLOG'"

echo "# 3. socketmap_dane = dane"
{ cat "$FIXTURE_DANE_CONF"; echo "socketmap_dane = dane"; } >"$S/mtasts-danelevel.conf"
if sm "$S/mtasts-danelevel.conf"; then
	check "socketmap (ASan): the first run exited 0" [ "${smrc:-1}" -eq 0 ]
	check "socketmap_dane = dane: dane-ee answered OK dane" \
	    answers dane-ee.test '^[0-9]+:OK dane,$'
	check "socketmap_dane = dane: dane-unsigned still secure" \
	    answers dane-unsigned.test ':OK secure match='
else
	not_ok "socketmap restarted with socketmap_dane = dane"
fi
check "socketmap: no sanitizer report" sh -c "! grep -q Sanitizer '$S/socketmap.log'"
tap_end
