#!/bin/sh
# make demo: mtasts's main job end to end, on the local fixture.
#
# Starts a real DNS server (nsd) and HTTPS server (nginx, throwaway CA)
# on 127.0.0.x (tests/fixture), asks mtasts for the policy of a handful
# of domains as a sending MTA would, prints what it decided and why,
# shows the second lookup coming from the shared cache, then stops the
# fixture.  Nothing leaves the machine.
set -u
M=${1:-build/mtasts}
B=${2:-build}
here=$(cd "$(dirname "$0")" && pwd)
S=$(pwd)/$B/fixture-demo

# Exim and smtpd drop to their own users, which must reach the build
# tree: a private checkout (mktemp -d, /root) gives the demo from a
# world-traversable copy under /tmp, as tests/run.sh does for the tests.
if [ -z "${MTASTS_DEMO_COPY:-}" ] &&
    ! setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -r "$PWD/Makefile" 2>/dev/null; then
	c=$(mktemp -d /tmp/mtasts-demo.XXXXXX)
	cp -a . "$c/" && chmod 755 "$c"	# after cp -a: it copies the mode
	echo "== This tree is private to its owner: the demo runs from $c"
	(cd "$c" && MTASTS_DEMO_COPY=1 sh tests/demo.sh "$M" "$B")
	rc=$?
	rm -rf "$c"
	exit $rc
fi

echo "== Starting the fixture: nsd on 127.0.0.1:5353, nginx on 127.0.1.1:443"
if ! sh "$here/fixture/start" "$S" >"$S.log" 2>&1; then
	echo "demo: the fixture did not start; see $S.log" >&2
	exit 1
fi
trap 'sh "$here/smtpd/stop" "$S" >/dev/null 2>&1;
    sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
conf=$S/mtasts.conf
echo "   config: $conf"
sed 's/^/   | /' "$conf"

row() {
	printf '%-15s %-10s %-8s %-31s %s\n' "$@"
}

# decide DOMAIN WHAT: one decision, one table row.
decide() {
	j=$("$M" -c "$conf" query --json "$1" 2>/dev/null)
	mode=$(printf '%s' "$j" | jq -r .mode)
	src=$(printf '%s' "$j" | jq -r .source)
	mx=$(printf '%s' "$j" | jq -r '.mx | join(" ")')
	why=$(printf '%s' "$j" | jq -r '.errors[0] | if . then .type + ": " +
	    (.detail | .[0:60]) else "" end')
	case $mode in
	enforce) act="deliver only to these MX, verified TLS" ;;
	testing) act="deliver anyway, report failures" ;;
	none) act="policy withdrawn: as without MTA-STS" ;;
	*) act="no MTA-STS: usual delivery" ;;
	esac
	row "$1" "$mode" "$src" "${mx:--}" "$act"
	[ -n "$why" ] && row "" "" "" "" "  why: $why"
	return 0
}

echo
echo "== What mtasts decided (RFC 8461 §5.1), fresh cache"
row DOMAIN DECISION SOURCE "ALLOWED MX" MEANING
row ------ -------- ------ ---------- -------
decide enforce.test
decide testing.test
decide none.test
decide nxdomain.test
decide twotxt.test
decide http404.test
decide wrongname.test
decide big.test
decide servfail.test

echo
echo "== Asked again: answered from the shared Berkeley DB cache"
row DOMAIN DECISION SOURCE "ALLOWED MX" MEANING
decide enforce.test
decide testing.test

echo
echo "== Is an MX host allowed by enforce.test's policy? (§4.1)"
for h in mx1.enforce.test a.enforce.test mx.attacker.test; do
	if "$M" match '*.enforce.test' "$h" >/dev/null 2>&1 ||
	    "$M" match mx1.enforce.test "$h" >/dev/null 2>&1; then
		echo "   $h: allowed"
	else
		echo "   $h: NOT allowed (enforce: the message is deferred)"
	fi
done

echo
echo "== The cache, as mtasts cache list shows it"
"$M" -c "$conf" cache list
echo
echo "== Exim 4.96 (Debian's, from a dpkg -x tree) with the mtasts module"
if sh "$here/exim/setup" "$B" >"$S.exim-setup.log" 2>&1 &&
    sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	. "$S/env"
	. "$S/exim/env"
	for d in exgood.test exbadcert.test; do
		printf 'Subject: demo\n\nhello\n' | "$EXIM_SENDER" \
		    -DHARNESS_MTASTS -odi -f demo@harness.test -- "postmaster@$d"
	done
	echo "   exgood.test: enforce, MX with a valid certificate;"
	echo "   exbadcert.test: enforce, MX certificate for another name."
	echo "   Exim's log:"
	grep -E ' (=>|==) ' "$EXIM_SENDER_LOG" | cut -d' ' -f3- |
	    sed -e 's/^/   | /' | cut -c1-220
	echo "   Exim's queue (the deferred message waits; nothing was bounced):"
	"$EXIM_SENDER" -bp | sed 's/^/   | /'
	echo "   TLS results counted for TLSRPT (mtasts report counts):"
	"$M" -c "$EXIM_MTASTS_CONF" report counts | sed 's/^/   | /'
else
	echo "   (Exim harness did not start: see $S.exim.log)"
fi

echo
echo "== OpenSMTPD 6.8 (Debian's, from a dpkg -x tree) with filter-mtasts"
if [ -n "${EXIM_DIR:-}" ] &&
    sh "$here/smtpd/setup" "$B" >"$S.smtpd-setup.log" 2>&1 &&
    sh "$here/smtpd/start" "$B" "$S" >"$S.smtpd.log" 2>&1; then
	. "$S/smtpd/env"
	for d in exgood.test exbadcert.test exnomatch.test; do
		printf '   %s: ' "$d"
		swaks --server "$SMTPD_IP" --from demo@harness.test \
		    --to "postmaster@$d" --body "demo" --timeout 30 2>&1 |
		    grep -E '^<[-*]+ +(250 .*accepted|4[0-9][0-9] )' |
		    sed 's/^<[-*]* *//' | head -n 1
	done
	# smtpd delivers in the background: wait (bounded) for both.
	i=0
	while [ $i -lt 100 ] && ! { grep -q 'to=<postmaster@exgood.test>.*result="Ok"' \
	    "$SMTPD_LOG" && grep -q 'to=<postmaster@exbadcert.test>.*result="TempFail"' \
	    "$SMTPD_LOG"; }; do
		sleep 0.2
		i=$((i + 1))
	done
	echo "   smtpd's log (mta delivery lines):"
	grep 'mta delivery' "$SMTPD_LOG" | sed -e 's/^.*mta delivery/mta delivery/' \
	    -e 's/^/   | /' | cut -c1-200
else
	echo "   (OpenSMTPD harness did not start: see $S.smtpd.log)"
fi

if [ -n "${EXIM_MTASTS_CONF:-}" ]; then
	echo
	echo "== The RFC 8460 report that would be sent for Exim's deliveries"
	echo "   (mtasts report show; mtasts report send delivers it to the"
	echo "   rua of _smtp._tls.exbadcert.test, if the domain published one)"
	rc=$S/demo-report.conf
	cp "$EXIM_MTASTS_CONF" "$rc"
	printf '%s\n' 'report_organization = mtasts demo' \
	    'report_contact = tlsrpt@harness.test' \
	    'report_submitter = harness.test' >>"$rc"
	"$M" -c "$rc" report show --json --date "$(date -u +%F)" 2>/dev/null |
	    jq '.["exbadcert.test"]' | sed 's/^/   | /'
fi

echo
echo "== Stopping OpenSMTPD, Exim and the fixture"
