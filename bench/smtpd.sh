#!/bin/sh
# bench/smtpd.sh BUILDDIR: messages per second through Debian's real
# OpenSMTPD 6.8 (tests/smtpd harness) to the good receiver, in one run:
# without mtasts (TIER=none: "relay tls", no filter), with filter-mtasts
# (Tier A: filter at RCPT, enforce table, --report), and with MX pinning
# (Tier B: filter + table-mtasts).  K messages are submitted over SMTP
# (100 per session), each with one recipient at exgood.test (an enforce domain,
# cache warm); the clock runs from the first byte submitted to the K-th
# "result=Ok" in smtpd's log.  Figures only, never pass/fail.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-bench-smtpd
K=${SMTPD_BENCH_MESSAGES:-200}
if [ "$(id -u)" != 0 ]; then
	echo "smtpd: skipped (the harness needs root)"
	exit 0
fi
for s in smtpd/setup exim/setup; do
	sh "$here/tests/$s" "$B" >"$S.setup.log" 2>&1 || {
		echo "smtpd: tests/$s failed, see $S.setup.log"
		exit 1
	}
done
sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 || {
	echo "smtpd: fixture did not start, see $S.log"
	exit 1
}
trap 'sh "$here/tests/smtpd/stop" "$S" >/dev/null 2>&1;
    sh "$here/tests/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
sh "$here/tests/exim/start" "$B" "$S" >"$S.exim.log" 2>&1 || {
	echo "smtpd: exim receivers did not start, see $S.exim.log"
	exit 1
}
. "$S/env"
ms() { date +%s%3N; }

# submit K TAG: SMTP sessions submitting K messages to uN@exgood.test,
# each command after the previous reply (smtpd 6.8 offers no PIPELINING);
# prints how many were accepted.  perl-base is essential in Debian.
submit() {
	perl -MIO::Socket::INET -e '
	my ($ip, $k, $tag) = @ARGV;
	my ($s, $ok, $i) = (undef, 0, 0);
	sub reply { my $l; do { $l = <$s>; defined $l or die "eof\n" }
	    while ($l =~ /^\d{3}-/); return $l }
	sub cmd { print $s "$_[0]\r\n"; return reply() }
	# smtpd takes at most 100 messages per session ("max-mails").
	while ($i < $k) {
		$s = IO::Socket::INET->new(PeerAddr => $ip, PeerPort => 25,
		    Timeout => 30) or die "connect: $!\n";
		reply(); cmd("EHLO bench.test");
		for my $j (1 .. 100) {
			last if ++$i > $k;
			cmd("MAIL FROM:<a\@harness.test>");
			cmd("RCPT TO:<u$i\@exgood.test>") =~ /^250/ or next;
			cmd("DATA") =~ /^354/ or next;
			$ok++ if cmd("Subject: bench $tag $i\r\n\r\n" .
			    "bench $tag $i\r\n.") =~ /^250/;
		}
		cmd("QUIT");
		close($s);
	}
	print "$ok\n";' "$SMTPD_IP" "$1" "$2"
}
delivered() { grep -c 'mta delivery .*result="Ok"' "$SMTPD_LOG"; }

# measure TIER: "ACCEPTED MS" for K messages, or "0 0".
measure() {
	sh "$here/tests/smtpd/stop" "$S" >/dev/null 2>&1
	TIER=$1 sh "$here/tests/smtpd/start" "$B" "$S" >"$S.smtpd.log" 2>&1 ||
	    { echo "0 0"; return; }
	. "$S/smtpd/env"
	submit 1 warm >/dev/null 2>&1	# the policy cached, the route up
	w=0
	while [ "$(delivered)" -lt 1 ] && [ "$w" -lt 300 ]; do
		sleep 0.1; w=$((w + 1))
	done
	to=$(($(delivered) + K))
	t0=$(ms)
	acc=$(submit "$K" "$1" 2>/dev/null || echo 0)
	w=0
	while [ "$(delivered)" -lt "$to" ] && [ "$w" -lt 1200 ]; do
		sleep 0.05; w=$((w + 1))
	done
	t1=$(ms)
	[ "$(delivered)" -ge "$to" ] || { echo "$acc 0"; return; }
	echo "$acc $((t1 - t0))"
}

none=$(measure none)
a=$(measure A)
b=$(measure B)
echo "# smtpd: accepted/ms: none $none, A $a, B $b"
echo "$none $a $b" | awk -v k="$K" '
function rate(acc, t) {
	if (t > 0)
		return sprintf("%.1f msg/s", k * 1000 / t)
	return sprintf("incomplete (%d accepted)", acc)
}
{
	printf "smtpd: %d messages submitted over SMTP, to the good MX, verified" \
	    " TLS:\n", k
	printf "smtpd:   without mtasts     %s\n", rate($1, $2)
	printf "smtpd:   filter (Tier A)    %s\n", rate($3, $4)
	printf "smtpd:   filter+table (B)   %s\n", rate($5, $6)
	if ($2 > 0 && $4 > 0 && $6 > 0)
		printf "smtpd:   ratios A/none %.2f, B/none %.2f\n",
		    $2 / $4, $2 / $6
}'
