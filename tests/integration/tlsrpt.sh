#!/bin/sh
# tests/integration/tlsrpt.sh BUILDDIR
#
# TLS reports end to end (RFC 8460): a day of mixed results recorded by
# the Exim module in Debian's real Exim (tests/exim) against the
# fixture's DNS and HTTPS; `mtasts report send' then looks up each
# domain's _smtp._tls record in the fixture's nsd and delivers: https
# rua to a collector on loopback (tests/tlsrpt/collector, socat with a
# certificate from the fixture CA), mailto rua through the same real
# Exim into a receiving Exim's Maildir.  Asserts on what arrived: the
# JSON, exact counts, one report per domain and day, gzip and media
# types, mail headers, a retry after a 500, no second delivery, and
# hostile rua values refused.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-tlsrpt-it
M=$(pwd)/$B/mtasts
C=$S/collector
C2=$S/collector2	# self-signed certificate

. "$here/tap.sh"

if ! sh "$here/exim/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/exim/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/tlsrpt/collector" stop "$C" >/dev/null 2>&1;
    sh "$here/tlsrpt/collector" stop "$C2" >/dev/null 2>&1;
    sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
. "$here/fixture/lib.sh"
X="$EXIM_SENDER -DHARNESS_MTASTS"
RCV=$EXIM_RCV_GOOD_DIR
COLLECTOR_IP=127.0.4.1

rm -rf "$C" "$C2" "$S/reports"	# from an earlier run
# The collector's certificate: rpt.exgood.test from the fixture CA.
CA=$S/ca
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=rpt.exgood.test -keyout "$CA/rpt.key" -out "$CA/rpt.csr" \
    2>/dev/null
printf 'subjectAltName = DNS:rpt.exgood.test\n' >"$CA/rpt.ext"
openssl x509 -req -sha256 -days 2 -in "$CA/rpt.csr" -CA "$CA/ca.pem" \
    -CAkey "$CA/ca.key" -set_serial 0x7270 -extfile "$CA/rpt.ext" \
    -out "$CA/rpt.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=rpt2.exgood.test \
    -addext subjectAltName=DNS:rpt2.exgood.test -keyout "$CA/rpt2.key" \
    -out "$CA/rpt2.pem" 2>/dev/null
if ! sh "$here/tlsrpt/collector" start "$C" "$COLLECTOR_IP" "$CA/rpt.pem" \
    "$CA/rpt.key" >"$S.collector.log" 2>&1 ||
    ! sh "$here/tlsrpt/collector" start "$C2" 127.0.4.2 "$CA/rpt2.pem" \
    "$CA/rpt2.key" >>"$S.collector.log" 2>&1; then
	echo "Bail out! collector did not start: $(tail -n 2 "$S.collector.log")"
	exit 1
fi

# zone_add DOMAIN LINE...: DOMAIN's _smtp._tls record (the fixture may
# have one: fx_exim_extra) replaced by these records, serial + 1, nsd
# reloads; waits (5 s at most) until nsd answers with the new record.
zone_add() {
	zd=$1; shift
	zf=$S/nsd/zones/$zd.zone
	before=$(fx_dig +tcp +short TXT "_smtp._tls.$zd")
	awk '$2 == "SOA" { $5 = $5 + 1 } $1 == "_smtp._tls" { next }
	    { print }' "$zf" >"$zf.new"
	printf '%s\n' "$@" >>"$zf.new"
	mv -f "$zf.new" "$zf"
	touch -d "@$(($(date +%s) + n + 2))" "$zf"
	kill -HUP "$(cat "$S/nsd/nsd.pid")"
	i=0
	while now=$(fx_dig +tcp +short TXT "_smtp._tls.$zd");
	    [ "$now" = "$before" ] || ! echo "$now" | grep -q TLSRPTv1; do
		i=$((i + 1)); [ "$i" -lt 50 ] || return 1; sleep 0.1
	done
}
# txt "STRING": a TXT RDATA in 200-byte character-strings (D17).
txt() { printf '%s' "$1" | fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' '; }

many=$(i=0; while [ $i -lt 200 ]; do
	printf ',https://rpt.exgood.test/many'; i=$((i + 1)); done)
inject='mailto:x@exgood.test%0d%0aBcc:%20victim@exgood.test'
zone_add exgood.test "rpt A $COLLECTOR_IP" "rpt2 A 127.0.4.2" \
    '_smtp._tls TXT "v=TLSRPTv1; rua=https://rpt.exgood.test/ok"'
zone_add exselfsigned.test '_smtp._tls TXT "v=TLSRPTv1; rua=https://rpt2.exgood.test/self"'
zone_add exbadcert.test '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@exgood.test"'
zone_add extesting.test '_smtp._tls TXT "v=TLSRPTv1;rua=https://rpt.exgood.test/flaky"'
zone_add exnotls.test '_smtp._tls TXT "v=TLSRPTv1; rua=http://rpt.exgood.test/plain,javascript:alert(1)"'
zone_add exmixed.test "_smtp._tls TXT $(txt "v=TLSRPTv1; rua=$inject$many")"
check "fixture: nsd serves the _smtp._tls records (exmixed's over 5 KB)" \
    test "$(fx_dig +tcp +short TXT _smtp._tls.exmixed.test | wc -c)" -gt 5000

echo "# a day of mixed results, through Exim and the module"
send() {
	printf 'Subject: t\n\nbody\n' |
	    $X -odi -f a@harness.test -- "u@$1" 2>>"$S/exim-stderr.log"
}
for d in exgood exgood exgood exbadcert exbadcert extesting exnotls \
    exmixed exselfsigned; do
	send "$d.test"
done
counted() {	# counted DOMAIN RESULT
	"$M" -c "$EXIM_MTASTS_CONF" report counts 2>/dev/null |
	    awk -v d="$1" -v r="$2" '$2 == d && $5 == r { c += $8 }
	    END { print c + 0 }'
}
bad_fail=$(counted exbadcert.test validation-failure)
test_fail=$(counted extesting.test validation-failure)
check "results recorded: exgood 3 successes, exbadcert failures" \
    test "$(counted exgood.test success) $((bad_fail > 0))" = "3 1"

RC=$S/report.conf
cp "$EXIM_MTASTS_CONF" "$RC"
cat >>"$RC" <<EOF
report_organization = mtasts test
report_contact = tlsrpt@harness.test
report_submitter = harness.test
report_dir = $S/reports
report_sendmail = $EXIM_SENDER -odi -f tlsrpt@harness.test -t -oi
report_retry = 1s
EOF
today=$(date -u +%F)
: >"$C/fail-flaky"
# posts PATH [STATUS]: POSTs the collector got for PATH (answered STATUS).
posts() {
	cat "$C"/got/*.meta 2>/dev/null | awk -v p="$1" -v s="${2:-}" \
	    '$2 == p && (s == "" || $4 == s) { c++ } END { print c + 0 }'
}
body_of() { ls "$C"/got/*.meta | while read -r f; do
	awk -v p="$1" '$2 == p && $4 ~ /^2/ { f = 1 } END { exit !f }' "$f" &&
	    echo "${f%.meta}.body"; done | head -n 1; }
mails() { grep -l "^TLS-Report-Domain: $1" "$RCV"/Maildir/new/* 2>/dev/null |
    wc -l | tr -d ' '; }

echo "# report show: the summary a person reads"
"$M" -c "$RC" report show --date "$today" >"$S/show.out" 2>&1
check "report show: one line per domain, its policy and counts" sh -c \
    "grep -qx 'exgood.test' '$S/show.out' &&
    grep -Eq '^  policy sts: [0-9]+ successful, [0-9]+ failed$' '$S/show.out'"
check "report show --json: the same reports as JSON" sh -c \
    "'$M' -c '$RC' report show --json --date '$today' |
    jq -e '.[\"exgood.test\"].policies[0].summary' >/dev/null"

echo "# first run: generate and send"
"$M" -v -c "$RC" report send --date "$today" >"$S/send1.out" 2>"$S/send1.err"
rc1=$?
check "first run: exit 1 (one report not delivered yet)" test "$rc1" = 1
check "one report file per domain and day, named per §5.1" test \
    "$(ls "$S/reports" | grep -c "^harness.test!exgood.test!.*\.json\.gz$")" = 1
check "https: exgood's report POSTed once to /ok (accepted)" \
    test "$(posts /ok 201)" = 1
check "https: Content-Type application/tlsrpt+gzip (§5.4)" \
    test "$(awk '$2 == "/ok" { print $3 }' "$C"/got/*.meta)" = \
    application/tlsrpt+gzip
ok_body=$(body_of /ok)
check "https: the body is gzip (magic 1f 8b) holding the report" sh -c \
    "[ \"\$(head -c 2 '$ok_body' | od -An -tx1 | tr -d ' ')\" = 1f8b ] &&
    gzip -dc '$ok_body' | jq -e . >/dev/null"
j() { gzip -dc "$ok_body" | jq -r "$1"; }
check "JSON: RFC 8460 §4.4 fields present, types right" test "$(j '
    [(."organization-name" | type), (."contact-info" | type),
    (."report-id" | type), (."date-range"."start-datetime"),
    (."date-range"."end-datetime"), (.policies | type),
    (.policies[0].policy."policy-type"), (.policies[0].policy."policy-domain"),
    (.policies[0].summary."total-successful-session-count" | type)] |
    join(" ")')" = \
    "string string string ${today}T00:00:00Z ${today}T23:59:59Z array sts exgood.test number"
check "JSON: exact counts: 3 successful sessions, 0 failed" test \
    "$(j '.policies[0].summary | "\(."total-successful-session-count") \(."total-failure-session-count")"')" = "3 0"
check "mailto: exbadcert's report arrived once in the receiver's Maildir" \
    test "$(mails exbadcert.test)" = 1
m=$(grep -l '^TLS-Report-Domain: exbadcert.test' "$RCV"/Maildir/new/* | head -n 1)
check "mail: TLS-Report-Submitter, Subject per §5.3, multipart/report" sh -c "
    grep -q '^TLS-Report-Submitter: harness.test' '$m' &&
    grep -q '^Subject: Report Domain: exbadcert.test Submitter: harness.test Report-ID: <[^:]*@harness.test>' '$m' &&
    grep -q 'multipart/report; report-type=\"tlsrpt\"' '$m' &&
    grep -q '^Content-Type: application/tlsrpt+gzip' '$m'"
awk '/^Content-Transfer-Encoding: base64/ { b = 1; next }
    b && /^$/ && !s { s = 1; next } s && /^$/ { exit } s { print }' "$m" |
    base64 -d 2>/dev/null | gzip -dc >"$S/mail.json" 2>/dev/null
check "mail: the attachment is the gzip JSON with exbadcert's failures" \
    test "$(jq -r '.policies[0]."failure-details"[] |
    select(."result-type" == "validation-failure") |
    ."failed-session-count"' "$S/mail.json" 2>/dev/null)" = "$bad_fail"
check "mail: failure-details name the sending MTA (\$sending_ip_address)" \
    test "$(jq -r '[.policies[0]."failure-details"[] |
    ."sending-mta-ip"] | unique | join(" ")' "$S/mail.json" 2>/dev/null)" \
    = 127.0.5.1
check "retry: extesting's /flaky answered 500, report not delivered" sh -c \
    "[ $(posts /flaky 500) = 1 ] && grep -q '^phase pending' \
    '$S'/reports/*extesting.test*.state && grep -q 'HTTP status 500' \
    '$S/send1.err'"

check "https, self-signed collector: sent anyway (§3), the error logged" \
    sh -c "grep -q 'POST /self application/tlsrpt+gzip 201' '$C2'/got/*.meta &&
    grep -q 'rpt2.exgood.test/self: certificate not verified: .*self.signed' \
    '$S/send1.err'"
check "https, collector with a certificate from our CA: no warning" \
    sh -c "! grep -q 'rpt.exgood.test/ok: certificate' '$S/send1.err'"

echo "# hostile rua"
check "http: and javascript: only: no usable rua, nothing sent (D22)" sh -c \
    "[ $(posts /plain) = 0 ] && grep -q '^phase norua' \
    '$S'/reports/*exnotls.test*.state"
check "mailto with CRLF Bcc: refused, no mail to the injected address" sh -c \
    "grep -q 'x@exgood.test.*not one plain address' '$S/send1.err' &&
    ! grep -rqs 'victim' '$RCV/Maildir/new' && ! grep -qs \
    'victim@exgood.test' '$EXIM_SENDER_LOG'"
check "200 rua URIs: delivered once, to the first usable one" \
    test "$(posts /many)" = 1

echo "# second and third runs"
rm -f "$C/fail-flaky"
sleep 2		# past report_retry (1 s) after the 500
"$M" -c "$RC" report send --date "$today" >"$S/send2.out" 2>"$S/send2.err"
rc2=$?
check "second run: exit 0, extesting delivered after the 500" sh -c \
    "[ $rc2 = 0 ] && [ $(posts /flaky 201) = 1 ] && grep -q '^phase delivered' \
    '$S'/reports/*extesting.test*.state"
test_body=$(body_of /flaky)
check "retried report carries extesting's failures as counted" test \
    "$(gzip -dc "$test_body" | jq -r '[.policies[].summary.
    "total-failure-session-count"] | add')" = "$test_fail"
"$M" -c "$RC" report send --date "$today" >"$S/send3.out" 2>"$S/send3.err"
rc3=$?
check "third run: exit 0, nothing delivered twice" sh -c "[ $rc3 = 0 ] &&
    [ $(posts /ok) = 1 ] && [ $(posts /flaky 201) = 1 ] &&
    [ $(posts /many) = 1 ] && [ $(mails exbadcert.test) = 1 ] &&
    ! grep -q delivered '$S/send3.out'"
check "state files say delivered for exgood, exbadcert, exmixed" test \
    "$(cat "$S"/reports/*exgood.test*.state \
    "$S"/reports/*exbadcert.test*.state "$S"/reports/*exmixed.test*.state |
    grep -c '^phase delivered')" = 3
# mtasts_reports_*_total (docs/operations.md, "Metrics") as the runs
# went: each report written once, each delivered once, the 500 failed.
"$M" -c "$RC" metrics >"$S/metrics.txt" 2>/dev/null
mv_() { awk -v s="$1" '$1 == s { print $2 }' "$S/metrics.txt"; }
check "metrics: reports generated = report files ($(mv_ mtasts_reports_generated_total))" \
    test "$(mv_ mtasts_reports_generated_total)" = \
    "$(ls "$S"/reports/*.json.gz | wc -l)"
check "metrics: reports sent = delivered states ($(mv_ mtasts_reports_sent_total))" \
    test "$(mv_ mtasts_reports_sent_total)" = \
    "$(cat "$S"/reports/*.state | grep -c '^phase delivered')"
check "metrics: reports failed >= 1 (the 500) ($(mv_ mtasts_reports_failed_total))" \
    test "$(mv_ mtasts_reports_failed_total)" -ge 1

echo "# robustness"
sh "$here/tlsrpt/collector" stop "$C" >/dev/null 2>&1
flock "$S/reports/.send.lock" "$M" -c "$RC" report send >/dev/null 2>&1
check "a second concurrent run refuses (lock held): exit 1" test $? = 1
y=$(( $(date +%s) / 86400 * 86400 - 86400 ))	# yesterday, 00:00 UTC
R=$S/reports/harness.test
printf 'garbage' >"$R!exgood.test!$y!$((y + 86399))!1.json.gz"
printf 'mtasts-send 1\nphase pending\nfirst x\n' \
    >"$R!exbadcert.test!$y!$((y + 86399))!1.json.gz.state"
: >"$R!exbadcert.test!$y!$((y + 86399))!1.json.gz"
printf 'garbage' >"$R!exnone.test!0!86399!0.json.gz"	# long past
"$M" -c "$RC" report send --date "$today" >"$S/send4.out" 2>"$S/send4.err"
rc4=$?
check "damaged report and state: named, exit 1, no crash" sh -c "[ $rc4 = 1 ] &&
    grep -q 'exgood.test!$y!$((y + 86399))!1.json.gz: not a readable report' \
    '$S/send4.err' && grep -q \
    'exbadcert.test!$y!$((y + 86399))!1.json.gz.state: line 3' '$S/send4.err'"
check "a report of a day long past is not looked at" \
    sh -c "! grep -q 'exnone.test' '$S/send4.err' '$S/send4.out'"
old=$(($(date +%s) - 40 * 86400))
: >"$R!exnone.test!$old!$((old + 86399))!0.json.gz"
: >"$R!exnone.test!$old!$((old + 86399))!0.json.gz.state"
"$M" -c "$RC" report send --date "$today" >"$S/send5.out" 2>&1
check "report_retention (default 30 days): an older report and its state removed" \
    sh -c "! ls '$S/reports' | grep -q '!$old!' &&
    grep -q 'old report files removed' '$S/send5.out'"
check "report_retention: recent reports kept" \
    test -e "$R!exbadcert.test!$y!$((y + 86399))!1.json.gz"
"$M" -c "$RC" report send --date '2026-1-1;x' >/dev/null 2>&1
check "bad --date: usage error (2)" test $? = 2

echo "# policy fetch failures met by the core are counted (RFC 8460 4.3.2.2)"
for d in http500 wrongname badsyntax enforce; do
	"$M" -c "$FIXTURE_CONF" query "$d.test" >/dev/null 2>&1
done
fcount() {	# fcount DOMAIN RESULT: "policy-type id count"
	"$M" -c "$FIXTURE_CONF" report counts 2>/dev/null | awk -v d="$1" \
	    -v r="$2" '$2 == d && $5 == r { print $3, $4, $8 }'
}
check "HTTP 500: sts-policy-fetch-error counted under sts, id http500v1" \
    test "$(fcount http500.test sts-policy-fetch-error)" = "sts http500v1 1"
check "wrong certificate name: sts-webpki-invalid counted" \
    test "$(fcount wrongname.test sts-webpki-invalid)" = "sts wrongnamev1 1"
check "bad policy syntax: sts-policy-invalid counted" \
    test "$(fcount badsyntax.test sts-policy-invalid)" = "sts badsyntaxv1 1"
check "a good fetch counts nothing" \
    test -z "$("$M" -c "$FIXTURE_CONF" report counts | grep enforce.test)"

[ "$failed" -eq 0 ] || { echo "# logs under $S"; }
echo "1..$n"
[ "$failed" -eq 0 ]
