#!/bin/sh
# tests/integration/smtpd.sh BUILDDIR
#
# filter-mtasts in Debian's real OpenSMTPD 6.8 (tests/smtpd: run from a
# dpkg -x tree), the Tier A design of docs/opensmtpd.md: the filter on
# the listener keeps the enforce table, smtpd routes those domains to
# "relay tls".  Against the fixture's DNS and HTTPS and the five
# receiving Exims of tests/exim behind byte captures.  Also the filter
# alone (ASan+UBSan build) fed hostile protocol lines.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-smtpd-it
AF=$(pwd)/$B/asan/filter-mtasts

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
# smtpd runs the ASan+UBSan build of the filter: a sanitizer error is
# a filter crash, which stops smtpd and fails what follows.
if ! FILTER=$AF sh "$here/smtpd/start" "$B" "$S" >"$S.smtpd.log" 2>&1; then
	echo "Bail out! smtpd harness did not start: $(tail -n 2 "$S.smtpd.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
. "$S/smtpd/env"
. "$here/fixture/lib.sh"
. "$here/smtpd/lib.sh"
LOG=$SMTPD_LOG
run=$$

# send DOMAIN: one message to u@DOMAIN with a unique marker ($mark) in
# its body; the SMTP dialogue is in $S/swaks-DOMAIN.out.
send() {
	mark="MARKER-$1-$run-$n"
	out=$S/swaks-$1.out
	swaks --server "$SMTPD_IP" --from a@harness.test --to "u@$1" \
	    --body "$mark" --timeout 30 >"$out" 2>&1
}
accepted() { grep -q '^<-  250 .*Message accepted' "$out"; }
delivered() {	# delivered DOMAIN: smtpd's log says Ok for u@DOMAIN
	grep -q "mta delivery .* to=<u@$1> .*result=\"Ok\"" "$LOG"
}
tempfailed() {
	grep -q "mta delivery .* to=<u@$1> .*result=\"TempFail\"" "$LOG"
}
counted() {	# counted DOMAIN RESULT: TLS results recorded for TLSRPT
	setpriv --reuid "$SMTPD_UID" --regid "$SMTPD_GID" --clear-groups \
	    "$B/mtasts" -c "$SMTPD_MTASTS_CONF" report counts --json \
	    2>/dev/null | jq --arg d "$1" --arg r "$2" '[.[] |
	    select(.domain == $d and (.result // .type) == $r) | .count] |
	    add // 0' 2>/dev/null || echo 0
}
got() { grep -rqs -- "$2" "$1/Maildir/new"; }	# got RCVDIR MARK
in_table() { db5.3_dump -p "$SMTPD_ENFORCE_DB" | grep -qx " $1\\\\00"; }

echo "# the reference configuration"
sed -e "s|/etc/ssl/mail.example.com.pem|$S/ca/mx-good.pem|" \
    -e "s|/etc/ssl/private/mail.example.com.key|$S/ca/mx-good.key|" \
    -e "s|/var/lib/mtasts/enforce.db|$SMTPD_ENFORCE_DB|" \
    -e "s|/etc/aliases|/dev/null|" -e "s| user _mtasts group _mtasts||" \
    -e "s|listen on eth0|listen on lo|" \
    "$here/../docs/opensmtpd/smtpd.conf" >"$S/reference.conf"
check "docs/opensmtpd/smtpd.conf passes smtpd -n (test paths)" sh -c \
    "'$SMTPD_DIR/ns' '$B/smtpd/root/usr/sbin/smtpd' -n -f '$S/reference.conf' >/dev/null 2>&1"

echo "# enforce, good MX"
send exgood.test
check "exgood: accepted (the filter answered rcpt-to)" accepted
check "exgood: in the enforce table" in_table exgood.test
check "exgood: delivered" waitfor 150 delivered exgood.test
check "exgood: over verified TLS (smtpd's certificate check passed)" \
    sm_log_verified "$LOG"
check "exgood: the good receiver stored the message" \
    waitfor 50 got "$EXIM_RCV_GOOD_DIR" "$mark"
check "exgood: never in clear on the wire" \
    sh -c "! grep -qs -- '$mark' '$EXIM_RCV_GOOD_CAPTURE'"

for d in exbadcert:wrongname exselfsigned:selfsigned exnotls:notls; do
	dom=${d%%:*}.test
	r=${d#*:}
	eval "cap=\$EXIM_RCV_$(echo "$r" | tr a-z A-Z)_CAPTURE"
	eval "dir=\$EXIM_RCV_$(echo "$r" | tr a-z A-Z)_DIR"
	echo "# enforce, $r receiver"
	send "$dom"
	check "$dom: accepted, in the enforce table" \
	    sh -c "grep -q '^<-  250 .*Message accepted' '$out' &&
	    db5.3_dump -p '$SMTPD_ENFORCE_DB' | grep -q ' $dom'"
	check "$dom: delivery attempt failed temporarily" \
	    waitfor 200 tempfailed "$dom"
	check "$dom: still in the queue" sm_queued "$SMTPD_DIR" "u@$dom"
	check "$dom: the receiver stored nothing" sh -c \
	    "! grep -rqs -- '$mark' '$dir/Maildir/new'"
	check "$dom: no byte of the message seen in clear" \
	    sh -c "! grep -qs -- '$mark' '$cap'"
done
check "exbadcert: refused for the certificate name" \
    sm_log_badname "$LOG" mx.exbadcert.test
check "exnotls: refused for the missing STARTTLS" \
    grep -q "TLS required but not supported by remote host" "$LOG"
check "no bounce was generated for any enforce failure" \
    sh -c "! grep -q 'mta delivery .* result=\"PermFail\"' '$LOG'"

echo "# enforce, MX sets"
send exnomatch.test
check "exnomatch: 451 4.7.5 at RCPT (no MX matches the enforce policy)" \
    grep -q '^<\*\* *451 4.7.5 MTA-STS: no MX host' "$out"
check "exnomatch: the non-matching MX was never contacted (no EHLO)" \
    sh -c "! grep -q '^EHLO' '$EXIM_RCV_NEVER_CAPTURE'"

echo "# testing and none: delivered whatever TLS did"
send extesting.test
check "extesting: delivered despite the wrong certificate name" \
    waitfor 150 delivered extesting.test
check "extesting: the wrongname receiver stored it" \
    waitfor 50 got "$EXIM_RCV_WRONGNAME_DIR" "$mark"
check "extesting: not in the enforce table" sh -c "! $(command -v db5.3_dump) -p '$SMTPD_ENFORCE_DB' | grep -q ' extesting'"
send exnone.test
check "exnone: delivered to the self-signed receiver" \
    waitfor 150 delivered exnone.test
check "exnone: the selfsigned receiver stored it" \
    waitfor 50 got "$EXIM_RCV_SELFSIGNED_DIR" "$mark"
check "exnone: not in the enforce table" sh -c "! $(command -v db5.3_dump) -p '$SMTPD_ENFORCE_DB' | grep -q ' exnone'"

echo "# a policy change reaches the table"
send exdynamic.test
check "exdynamic (enforce): in the enforce table" in_table exdynamic.test
sh "$here/fixture/set" "$S" exdynamic.test exdyn2 \
    "$S/policies/exdynamic-none.txt" >/dev/null 2>&1
# The cached policy is fresh: refresh it as "mtasts refresh" would from
# cron, as the filter's user (the cache is the filter's).
setpriv --reuid "$SMTPD_UID" --regid "$SMTPD_GID" --clear-groups \
    "$B/mtasts" -c "$SMTPD_MTASTS_CONF" refresh exdynamic.test >/dev/null 2>&1
send exdynamic.test
check "exdynamic after enforce -> none (new id): out of the table" \
    sh -c "! $(command -v db5.3_dump) -p '$SMTPD_ENFORCE_DB' | grep -q ' exdynamic'"
check "exdynamic: the new mail delivered" \
    waitfor 150 got "$EXIM_RCV_SELFSIGNED_DIR" "$mark"

echo "# 200 recipients of 20 domains in 20 parallel sessions"
i=1
while [ "$i" -le 20 ]; do
	to=""
	j=0
	while [ "$j" -lt 10 ]; do
		to="$to${to:+,}u$i.$j@bulk$(printf %03d $(((i + j) % 20 + 1))).test"
		j=$((j + 1))
	done
	swaks --server "$SMTPD_IP" --from a@harness.test --to "$to" \
	    --body "bulk $i" --timeout 60 >"$S/bulk-$i.out" 2>&1 &
	i=$((i + 1))
done
wait
answered=$(cat "$S"/bulk-*.out | grep -c '^<-  250 .*Recipient ok')
check "all 200 recipients accepted ($answered)" test "$answered" = 200
check "all 20 messages accepted" test "$(cat "$S"/bulk-*.out |
    grep -c '^<-  250 .*Message accepted')" = 20
once=0
d=1
while [ "$d" -le 20 ]; do
	c=$(sh "$here/fixture/count" "$S" "mta-sts.bulk$(printf %03d "$d").test")
	[ "$c" = 1 ] && once=$((once + 1))
	d=$((d + 1))
done
check "each of the 20 policies fetched exactly once ($once)" test "$once" = 20
check "no sanitizer report in smtpd's log" \
    sh -c "! grep -q 'Sanitizer\|runtime error' '$LOG'"
check "smtpd (and so the filter) still running" \
    sh -c "[ -d /proc/\$(cat '$SMTPD_DIR/smtpd.pid') ]"

echo "# TLS results of the enforce action (--report; sessions end late)"
success_counted() { test "$(counted exgood.test success)" -ge 1; }
check "exgood: success counted for TLSRPT" waitfor 300 success_counted
# Failed sessions carry no recipient: the receiving address names the
# domain through the MX notes the filter made at RCPT (mtasts_mx_note).
counted_mx() {	# counted_mx DOMAIN RESULT MX: with receiving-mx-hostname
	setpriv --reuid "$SMTPD_UID" --regid "$SMTPD_GID" --clear-groups \
	    "$B/mtasts" -c "$SMTPD_MTASTS_CONF" report counts --json \
	    2>/dev/null | jq -e --arg d "$1" --arg r "$2" --arg m "$3" \
	    '[.[] | select(.domain == $d and (.result // .type) == $r and
	    .mx == $m)] | length > 0' >/dev/null 2>&1
}
# testing: delivered unverified; --probe on the outbound action asks
# the MX what verification would have said (a wrong certificate name).
check "extesting: certificate-host-mismatch counted (probe)" \
    waitfor 300 counted_mx extesting.test certificate-host-mismatch \
    mx.extesting.test
none_counted() { test "$(counted exnone.test success)" -ge 1; }
check "exnone (mode none): its TLS session counted as success" \
    waitfor 300 none_counted
for f in exselfsigned:validation-failure exbadcert:validation-failure \
    exnotls:starttls-not-supported; do
	dom=${f%%:*}.test
	check "$dom: ${f#*:} counted for TLSRPT, with its MX host name" \
	    waitfor 300 counted_mx "$dom" "${f#*:}" "mx.$dom"
done

echo "# the filter alone: hostile lines on stdin (ASan+UBSan build)"
F=$S/filter-alone
rm -rf "$F"
mkdir -p "$F/cache"
sed "s|^cache_dir.*|cache_dir	= $F/cache|" "$FIXTURE_CONF" >"$F/mtasts.conf"
long=$(awk 'BEGIN { while (i++ < 10000) printf "x" }')
label300=$(awk 'BEGIN { while (i++ < 300) printf "a" }')
req() {	# req N DOMAIN: a well-formed rcpt-to request, session N
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|%016x|00000000000000aa|u@%s\n' \
	    "$1" "$2"
}
{
	req 1 exgood.test			# before the handshake
	printf 'register|ready\nconfig|\n|||\n\n'
	printf 'config|smtpd-version|6.8.0p2\nconfig|ready\nconfig|ready\n'
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|zz|00|u@exgood.test\n'
	printf 'filter|1.0|1.0|smtp-in|rcpt-to|%016x|aa|u@x.test\n' 99
	printf 'filter|0.6|1.0|smtp-in\n'
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|%s|aa|u@x.test\n' "$long"
	printf 'report|0.6|1.0|smtp-in|link-disconnect|%016x\n' 1
	printf 'report|0.6|1.0|smtp-in|link-connect|%016x|a|b|c|d|e|f\n' 2
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|%016x|aa|u@ex\0good.test\n' 98
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|%016x|aa|u@%s\r\n' 2 extesting.test
	req 3 "$label300.test"
	req 4 'exgood.test|extra|fields'
	req 5 '[127.0.0.1]'
	req 6 'EXGOOD.TEST.'
	printf 'filter|0.7|1.0|smtp-in|mail-from|%016x|aa|a@b\n' 7
	req 8 'ex..good'
	req 9 'ünicode.test'
	req 10 exnone.test
	req 11 exgood.test
	printf 'filter|0.6|1.0|smtp-in|rcpt-to|%016x|aa|' 12 # truncated
} >"$F/in"
sh -c "sleep 1; cat '$F/in'" | ASAN_OPTIONS=detect_leaks=1 \
    "$AF" -c "$F/mtasts.conf" -t "$F/enforce.db" -d 10 \
    >"$F/out" 2>"$F/err"
rc=$?
check "filter exited normally at end of input (rc $rc)" test "$rc" = 0
check "no sanitizer report" sh -c "! grep -q 'Sanitizer\|runtime error' '$F/err'"
check "registered once: rcpt-to, then ready" test \
    "$(head -n 2 "$F/out" | tr '\n' ' ')" = \
    "register|filter|smtp-in|rcpt-to register|ready "
missing=""
for s in 1 2 3 4 5 6 7 8 9 10 11; do
	c=$(grep -c "^filter-result|$(printf %016x "$s")|0*aa|proceed$" "$F/out")
	[ "$c" = 1 ] || missing="$missing $s($c)"
done
check "each well-formed request answered exactly once${missing:+, not:$missing}" \
    test -z "$missing"
# A request of a protocol version the filter does not know (session 99,
# "1.0") still names its session: it is refused for now (451), never
# left unanswered (smtpd would wait for good) nor let through.
check "the unknown protocol version is answered 451, once" \
    test "$(grep -c "^filter-result|$(printf %016x 99)|aa|reject|451 " \
    "$F/out")" = 1
check "nothing else answered for malformed requests" \
    test "$(grep -c '^filter-result' "$F/out")" = 12
check "only well-formed answers written" \
    sh -c "! grep -v '^register|\|^filter-result|[0-9a-f]\{16\}|[0-9a-f]*|proceed$\|^filter-result|0*63|aa|reject|451 ' '$F/out'"
check "the overlong line was reported" grep -q 'longer than' "$F/err"
"$(pwd)/$B/mtasts" -c "$F/mtasts.conf" metrics >"$F/metrics.txt" 2>&1
# 11 answers, one of them to session 7's mail-from: 10 recipients.
check "metrics: 10 recipients answered proceed, none deferred" sh -c \
    "grep -qx 'mtasts_filter_rcpts_total{decision=\"proceed\"} 10' \
    '$F/metrics.txt' && grep -qx \
    'mtasts_filter_rcpts_total{decision=\"defer\"} 0' '$F/metrics.txt'"
"$AF" -c "$F/mtasts.conf" -t "$F/enforce.db" -d 10 <"$F/in" >"$F/out-file" \
    2>/dev/null
check "the same input from a regular file (no epoll): the same 12 answers" \
    test "$(grep -c '^filter-result' "$F/out-file")" = 12
check "exgood.test (any case, trailing dot) in the filter's table only once" \
    test "$(db5.3_dump -p "$F/enforce.db" | grep -c ' exgood.test')" = 1

echo "# the filter alone: the table it finds"
m0=$(($(date +%s) + 3600))
touch -d "@$m0" "$F/enforce.db"
{
	printf 'config|ready\n'
	req 1 exbadcert.test
} | "$AF" -c "$F/mtasts.conf" -t "$F/enforce.db" -d 10 >"$F/out2" 2>"$F/err2"
check "an existing table is loaded and extended" sh -c \
    "db5.3_dump -p '$F/enforce.db' | grep -q ' exgood.test' &&
    db5.3_dump -p '$F/enforce.db' | grep -q ' exbadcert.test'"
m1=$(stat -c %Y "$F/enforce.db")
check "its new mtime is the old one + 1 (strictly increasing, even \
when the old one is ahead of the clock): $m0 -> $m1" test "$m1" = $((m0 + 1))
rm -f "$F/new.db"
printf 'config|ready\n' | "$AF" -c "$F/mtasts.conf" -t "$F/new.db" \
    >/dev/null 2>&1
check "a missing table is created empty, in smtpd's format" sh -c \
    "file '$F/new.db' | grep -q 'Berkeley DB (Hash' &&
    ! db5.3_dump -p '$F/new.db' | grep -q '^ '"

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ $failed = 0 ]
