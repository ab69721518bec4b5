#!/bin/sh
# tests/integration/dns.sh BUILDDIR
#
# core/dns.c against the fixture's real nsd (tests/fixture/README.md),
# through the CLI (issue 20):
#  - the TXT RRset is counted whole (RFC 8461 §3.1): 79 other records
#    and the STS record 80th give a policy; STS records 10th and 90th
#    give none (exactly one is allowed), and no HTTPS request;
#  - dns_timeout is the bound of one lookup: against the blackhole
#    listener a query answers dns-temporary after dns_timeout (2 s),
#    well before 1.5 times it.
# The records are written into dynamic.test's zone, as fixture/set does.
# TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-dns
M=$(pwd)/$B/asan/mtasts
. "$here/tap.sh"

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 3 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
. "$here/fixture/lib.sh"
conf=$S/mtasts.conf
errlog=$S/mtasts-stderr.log
D=dynamic.test
zf=$S/nsd/zones/$D.zone

# q CONF DOMAIN: the JSON decision in $j, the exit code in $qrc.
q() {
	"$M" -c "$1" query --json --no-cache "$2" >"$S/q.json" 2>>"$errlog"
	qrc=$?
	j=$(cat "$S/q.json")
}
field() { printf '%s' "$j" | jq -r "$1"; }

# txtset N STS...: dynamic.test's _mta-sts RRset becomes N records,
# "v=STSv1; id=pos<i>;" at each position i listed, "other=<i>" elsewhere;
# then wait until nsd serves all N.
txtset() {
	total=$1
	shift
	# nsd reloads a zone file whose mtime changed: one second later
	# than the last change, however quick the calls.
	mt=$(stat -c %Y "$zf")
	[ "$mt" -ge "$(date +%s)" ] || mt=$(date +%s)
	awk -v total="$total" -v sts=" $* " '
		$2 == "SOA" { $5 = $5 + 1 }
		$1 == "_mta-sts" { next }
		{ print }
		END {
			for (i = 1; i <= total; i++)
				if (index(sts, " " i " "))
					printf "_mta-sts\tTXT\t\"v=STSv1; id=pos%d;\"\n", i
				else
					printf "_mta-sts\tTXT\t\"other=%d\"\n", i
		}' "$zf" >"$zf.new" && mv -f "$zf.new" "$zf" &&
	    touch -d "@$((mt + 1))" "$zf" &&
	    kill -HUP "$(cat "$S/nsd/nsd.pid")" || return 1
	w=0
	while [ "$(fx_dig TXT "_mta-sts.$D" +tcp 2>/dev/null |
	    grep -c '^_mta-sts.*TXT')" != "$total" ]; do
		w=$((w + 1))
		[ "$w" -lt 100 ] || return 1
		sleep 0.1
	done
}

if txtset 80 80; then
	q "$conf" $D
	check "80 TXT records, the STS one last: policy (id pos80)" \
	    test "$qrc $(field '.mode + " " + .id')" = "0 enforce pos80"
else
	not_ok "80 TXT records served by nsd"
fi
c0=$(sh "$here/fixture/count" "$S" "mta-sts.$D")
if txtset 90 10 90; then
	q "$conf" $D
	check "90 TXT records, STS ones 10th and 90th: no policy" \
	    test "$(field '.mode + " " + .errors[0].type')" = \
	    "no-policy sts-record-invalid"
	check "... and no HTTPS request" \
	    test "$(sh "$here/fixture/count" "$S" "mta-sts.$D")" = "$c0"
else
	not_ok "90 TXT records served by nsd"
fi

# The blackhole takes UDP and TCP and never answers.
sed "s|^resolver.*|resolver = $FIXTURE_BLACKHOLE|" "$conf" >"$S/bh.conf"
to=$(sed -n 's/^dns_timeout[[:space:]]*=[[:space:]]*\([0-9]*\)s$/\1/p' \
    "$conf")
t0=$(date +%s%N)
q "$S/bh.conf" unknown.test
ms=$((($(date +%s%N) - t0) / 1000000))
check "blackhole: dns-temporary, no policy" \
    test "$qrc $(field '.mode + " " + .errors[0].type')" = \
    "0 no-policy dns-temporary"
# The process starts and opens its cache too: 0.7 s of margin, where
# 1.5 times dns_timeout would be $to / 2 s more.
check "blackhole: answered in $ms ms, dns_timeout ${to}s bounds it" \
    test "$ms" -ge $((to * 1000 * 2 / 3)) -a "$ms" -lt $((to * 1000 + 700))
tap_end
