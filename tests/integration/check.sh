#!/bin/sh
# tests/integration/check.sh BUILDDIR
#
# mtasts check DOMAIN against real servers on loopback: the fixture's
# nsd and nginx (good and broken MTA-STS deployments), the Exim harness's
# receiving Exims on 127.0.3.x (good certificate, wrong name,
# self-signed, no STARTTLS), and hostile SMTP peers made with socat
# (silence, overlong lines, endless replies, STARTTLS injection).
# Asserts each item's verdict and the exit status.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-check-it
M=$(pwd)/$B/mtasts
MA=$(pwd)/$B/asan/mtasts		# the hostile peers get the ASan build
[ -x "$MA" ] || MA=$M
. "$here/fixture/lib.sh"		# FX_MX1_IP: mx1.<domain>

. "$here/tap.sh"

if ! sh "$here/exim/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/exim/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
peers=""
trap 'for p in $peers; do kill "$p" 2>/dev/null; done
    sh "$here/exim/stop" "$S" >/dev/null 2>&1
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/env"
# Short SMTP steps for the hostile peers (a silent one costs 4 steps).
CONF=$S/check.conf
sed '/^connect_timeout/d' "$FIXTURE_CONF" >"$CONF"
echo "connect_timeout = 1s" >>"$CONF"

# run DOMAIN [ARGS...]: mtasts check --json into $out, status into $rc.
run() {
	d=$1
	shift
	out=$("$M" -c "$FIXTURE_CONF" check --json "$@" "$d" 2>"$S.stderr")
	rc=$?
}
# verdict CHECK [HOST]: the verdict of that item in $out.
verdict() {
	printf '%s\n' "$out" | jq -r --arg c "$1" --arg h "${2:-}" \
	    '[.items[] | select(.check == $c and ($h == "" or
	    .host == $h))] | map(.verdict) | join(",")'
}
# field CHECK HOST KEY: a field of that item.
field() {
	printf '%s\n' "$out" | jq -r --arg c "$1" --arg h "$2" --arg k "$3" \
	    '.items[] | select(.check == $c and .host == $h) | .[$k]'
}
reason() {
	printf '%s\n' "$out" | jq -r --arg c "$1" --arg h "${2:-}" \
	    '[.items[] | select(.check == $c and ($h == "" or
	    .host == $h))] | map(.reason) | join(" | ")'
}
# expect DESC WANT GOT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1" "want: $2" "got:  $3" "$(printf '%s' "$out" |
		    head -c 1500)"
	fi
}
# expect_in DESC PATTERN TEXT
expect_in() {
	case $3 in
	*"$2"*) ok "$1" ;;
	*) not_ok "$1" "want text with: $2" "got: $3" ;;
	esac
}

echo "# a fully good domain: exgood.test (Exim receiver a)"
run exgood.test
expect "exgood: exit 0" 0 "$rc"
expect "exgood: JSON ok" true "$(printf '%s' "$out" | jq -r .ok)"
expect "exgood: record, policy, lint, mx, smtp, tlsrpt, dane all pass" \
    "pass pass pass pass pass pass pass" "$(verdict record) \
$(verdict policy) $(verdict lint) $(verdict mx) $(verdict smtp) \
$(verdict tlsrpt) $(verdict dane)"
expect "exgood: record id" exgoodv1 "$(printf '%s' "$out" | jq -r \
    '.items[] | select(.check == "record") | .id')"
expect "exgood: smtp chain verified against the fixture CA, name matches" \
    "true true" "$(field smtp mx.exgood.test chain_verified) \
$(field smtp mx.exgood.test name_match)"
expect_in "exgood: TLS 1.2 or later" TLSv1. \
    "$(field smtp mx.exgood.test tls_version)"
expect "exgood: smtp went to receiver a" "$FIXTURE_RCV_GOOD" \
    "$(field smtp mx.exgood.test address)"
expect_in "exgood: TLSRPT rua reported" mailto:tlsrpt@exgood.test \
    "$(reason tlsrpt)"
expect "exgood: TLSA record seen at _25._tcp.mx.exgood.test" "3 1 1" \
    "$(printf '%s' "$out" | jq -r '.items[] | select(.check == "dane") |
    .tlsa[0]')"
expect "exgood: DNSSEC status not checked without dane_resolver" skip \
    "$(verdict dnssec)"
expect "exgood: a sender applies MTA-STS" "pass mta-sts" "$(verdict apply) \
$(printf '%s' "$out" | jq -r '.items[] | select(.check == "apply") | .apply')"
text=$("$M" -c "$FIXTURE_CONF" check exgood.test 2>&1)
rc=$?
expect "exgood: text report, exit 0" 0 "$rc"
expect_in "exgood: text report summary" \
    "exgood.test: 8 passed, 0 warnings, 0 failed, 1 skipped" "$text"
expect_in "exgood: text report, one line per item" \
    "pass  smtp    mx.exgood.test [127.0.3.1]:25: STARTTLS" "$text"

echo "# the _mta-sts record"
run nxdomain.test
expect "nxdomain (missing TXT): exit 1" 1 "$rc"
expect "nxdomain: record fails" fail "$(verdict record)"
expect_in "nxdomain: says there is no record" "no TXT record" \
    "$(reason record)"
run badtxt.test
expect "badtxt (invalid id): record fails" "1 fail" "$rc $(verdict record)"
run twotxt.test
expect_in "twotxt: two STS records fail (§3.1)" "exactly one" \
    "$(verdict record) $(reason record)"
run split.test
expect "split: a record of two strings passes" pass "$(verdict record)"

echo "# the policy fetch (§3.3)"
for c in http404:"HTTP status 404" http301:"HTTP status 301" \
    html:"not text/plain" big:"larger than" wrongname:sts-webpki-invalid \
    untrusted:sts-webpki-invalid expired:sts-webpki-invalid \
    cnonly:sts-webpki-invalid tls11:sts-policy-fetch-error; do
	d=${c%%:*}.test
	run "$d"
	expect "$d: exit 1, policy fails, lint skipped" "1 fail skip" \
	    "$rc $(verdict policy) $(verdict lint)"
	expect_in "$d: says why (${c#*:})" "${c#*:}" "$(reason policy)"
done
run max.test
expect "max.test: a 65536-byte policy passes" pass "$(verdict policy)"

echo "# the policy's content"
run badsyntax.test
expect "badsyntax (bad policy): exit 1" 1 "$rc"
expect_in "badsyntax: lint fails as sts-policy-invalid" \
    "fail policy invalid [sts-policy-invalid]" \
    "$(verdict lint) $(reason lint)"
expect "badsyntax: mx skipped (no policy)" skip "$(verdict mx)"
run bom.test
expect "bom: lint fails" fail "$(verdict lint)"
run exnone.test
expect "exnone (mode none): lint warns, mx skipped" "warn skip" \
    "$(verdict lint) $(verdict mx)"

echo "# the MX hosts against the policy (§4.1)"
run exnomatch.test
expect "exnomatch (MX not matching): exit 1" 1 "$rc"
expect_in "exnomatch: mx fails, senders defer" "fail no MX host matches" \
    "$(verdict mx) $(reason mx)"
expect "exnomatch: no pattern for mx.exnomatch.test" null \
    "$(printf '%s' "$out" | jq -r '.items[] | select(.check == "mx") |
    .hosts[0].pattern')"
run exmixed.test
expect "exmixed (one of two MX in the policy): mx warns" warn \
    "$(verdict mx)"
expect "exmixed: both MX hosts examined over SMTP" "pass,pass" \
    "$(verdict smtp)"

echo "# each MX over SMTP with STARTTLS (§4.2)"
run exbadcert.test
expect "exbadcert (wrong name): exit 1, smtp fails" "1 fail" \
    "$rc $(verdict smtp)"
expect "exbadcert: chain fine, name not" "true false" \
    "$(field smtp mx.exbadcert.test chain_verified) \
$(field smtp mx.exbadcert.test name_match)"
expect_in "exbadcert: says which name" "matches mx.exbadcert.test" \
    "$(reason smtp)"
run exselfsigned.test
expect "exselfsigned: exit 1, smtp fails" "1 fail" "$rc $(verdict smtp)"
expect "exselfsigned: chain not verified" false \
    "$(field smtp mx.exselfsigned.test chain_verified)"
expect_in "exselfsigned: says self-signed" "self-signed" "$(reason smtp)"
run exnotls.test
expect "exnotls (no STARTTLS): exit 1, smtp fails" "1 fail" \
    "$rc $(verdict smtp)"
expect "exnotls: stopped at STARTTLS, not advertised" "starttls false" \
    "$(field smtp mx.exnotls.test stage) \
$(field smtp mx.exnotls.test starttls)"
run exgood.test --port 2999
expect_in "--port: connects to that port" "127.0.3.1]:2999: connect to" \
    "$(verdict smtp) $(reason smtp)"

echo "# TLSRPT record (RFC 8460 §3)"
run exgood.test
expect "exgood: TLSRPT present passes" pass "$(verdict tlsrpt)"
run exbadcert.test
expect_in "exbadcert: TLSRPT absent warns" "warn _smtp._tls.exbadcert.test: no TLSRPT record" \
    "$(verdict tlsrpt) $(reason tlsrpt)"
run exmixed.test
expect "exmixed: TLSRPT without a usable rua fails, exit 1" "1 fail" \
    "$rc $(verdict tlsrpt)"
expect "exbadcert: no TLSA: dane skipped" skip \
    "$(out=$("$M" -c "$FIXTURE_CONF" check --json exbadcert.test); verdict dane)"

echo "# hostile SMTP peers on mx1.enforce.test ($FX_MX1_IP), ASan build"
# peer PORT SCRIPT: a socat listener on mx1's address running the shell
# SCRIPT for each connection (its stdin and stdout are the connection).
mkdir -p "$S/peers"
peer() {
	printf '%s\n' "$2" >"$S/peers/$1.sh"
	socat "TCP-LISTEN:$1,bind=$FX_MX1_IP,reuseaddr,fork" \
	    "EXEC:sh $S/peers/$1.sh" >/dev/null 2>&1 &
	peers="$peers $!"
}
CRLF='\r\n'
EHLO_TLS="printf '220 hi$CRLF'; read l; printf '250-x${CRLF}250 STARTTLS$CRLF'; read l"
peer 2501 'sleep 6'
peer 2502 "head -c 5000 /dev/zero | tr '\\000' x; sleep 5"
peer 2503 "printf '554 go away$CRLF'; sleep 5"
peer 2504 "$EHLO_TLS; printf '220 go${CRLF}250 injected$CRLF'; sleep 5"
peer 2505 "while :; do printf '220-more$CRLF'; done"
peer 2506 "printf '220-a${CRLF}221 b$CRLF'; sleep 5"
peer 2507 "$EHLO_TLS; printf '220 go$CRLF'; head -c 1 >/dev/null; printf 'not TLS at all$CRLF'; sleep 5"
peer 2508 'exit 0'
peer 2509 "printf '220 hi$CRLF'; read l; printf '250-x${CRLF}250 STARTTLS${CRLF}'; read l; printf '454 TLS not available$CRLF'; sleep 5"
for p in 2501 2502 2503 2504 2505 2506 2507 2508 2509; do
	i=0
	while ! nc -z "$FX_MX1_IP" "$p" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
done
for c in 2501:"greeting: timed out" 2502:"greeting: bad reply: line too long" \
    2503:"greeting: 554 go away" 2504:"server sent data after its 220 reply" \
    2505:"greeting: bad reply: too many lines" \
    2506:"greeting: bad reply: reply code changes" \
    2507:"TLS handshake:" 2508:"greeting: connection closed" \
    2509:"STARTTLS: 454 TLS not available"; do
	p=${c%%:*}
	out=$("$MA" -c "$CONF" check --json --port "$p" enforce.test \
	    2>"$S.stderr")
	rc=$?
	expect "peer on port $p: exit 1, smtp fails" "1 fail" \
	    "$rc $(verdict smtp mx1.enforce.test)"
	expect_in "peer on port $p: ${c#*:}" "${c#*:}" \
	    "$(reason smtp mx1.enforce.test)"
	if grep -q 'Sanitizer' "$S.stderr"; then
		not_ok "peer on port $p: sanitizers silent" "$(head -n 5 "$S.stderr")"
	fi
done

echo "# a certificate that expires within 14 days (warn, not fail)"
# A leaf from the fixture's CA valid for 5 days, served by a socat TLS
# listener; the SMTP peer relays the connection to it after its 220 to
# STARTTLS, so the client's handshake ends there.
P=$S/peers
printf 'subjectAltName=DNS:mx1.enforce.test\n' >"$P/short.ext"
if openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$P/short.key" -subj /CN=mx1.enforce.test -out "$P/short.csr" \
    >"$P/openssl.log" 2>&1 &&
    openssl x509 -req -in "$P/short.csr" -CA "$FIXTURE_CA" \
    -CAkey "$S/ca/ca.key" -set_serial 4242 -days 5 \
    -extfile "$P/short.ext" -out "$P/short.pem" >>"$P/openssl.log" 2>&1
then
	printf "read l; printf '221 bye$CRLF'\n" >"$P/quit.sh"
	socat "OPENSSL-LISTEN:2611,bind=$FX_MX1_IP,reuseaddr,fork,cert=$P/short.pem,key=$P/short.key,verify=0" \
	    "EXEC:sh $P/quit.sh" >/dev/null 2>&1 &
	peers="$peers $!"
	peer 2510 "$EHLO_TLS; printf '220 go$CRLF'; exec socat STDIO TCP:$FX_MX1_IP:2611"
	i=0
	while ! { nc -z "$FX_MX1_IP" 2510 && nc -z "$FX_MX1_IP" 2611; } \
	    2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	out=$("$MA" -c "$CONF" check --json --port 2510 enforce.test \
	    2>"$S.stderr")
	expect "expiring certificate: smtp warns, chain and name fine" \
	    "warn true true" "$(verdict smtp mx1.enforce.test) \
$(field smtp mx1.enforce.test chain_verified) \
$(field smtp mx1.enforce.test name_match)"
	expect_in "expiring certificate: says when" \
	    "certificate expires in " "$(reason smtp mx1.enforce.test)"
else
	not_ok "expiring certificate: openssl could not make one" \
	    "$(tail -n 3 "$P/openssl.log")"
fi

echo "# usage"
"$M" -c "$FIXTURE_CONF" check >/dev/null 2>&1
expect "no DOMAIN: exit 2" 2 "$?"
"$M" -c "$FIXTURE_CONF" check 'bad_domain!' >/dev/null 2>&1
expect "invalid DOMAIN: exit 2" 2 "$?"
"$M" -c "$FIXTURE_CONF" check --port 0 exgood.test >/dev/null 2>&1
expect "--port 0: exit 2" 2 "$?"

echo "1..$n"
[ "$failed" -eq 0 ]
