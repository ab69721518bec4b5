#!/bin/sh
# tests/integration/tlsrptd.sh BUILDDIR [SENDER]
#
# mtasts-tlsrptd (ASan+UBSan build) on a socket in a temporary
# directory, fed datagrams in libtlsrpt's format: by tests/tlsrptd/
# tlsrptsend (byte for byte as libtlsrpt 0.5 writes them), and by
# SENDER when given (a program linked with the real libtlsrpt, Debian
# 13: tests/trixie/tlsrptreal.c, same arguments).  mtasts report show
# --json must then hold the sessions: sts with its policy strings and
# MX patterns, tlsa, no-policy-found, failure details.  Garbage,
# oversized, unknown-version and flooded datagrams leave the daemon
# alive and counting; the socket's mode and group let the group send
# and nobody else; SIGTERM writes what is summed.  No fixed ports.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
TD=$(pwd)/$B/asan/mtasts-tlsrptd
SEND=$(pwd)/$B/tests/tlsrptsend
REAL=${2:-}
# Built where libtlsrpt is installed (tests/trixie/root.sh, Debian 13).
[ -z "$REAL" ] && [ -x "$B/tests/tlsrptreal" ] &&
    REAL=$(pwd)/$B/tests/tlsrptreal
MT=$(pwd)/$B/mtasts

. "$here/tap.sh"
# same DESC GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

for f in "$TD" "$SEND" "$MT" "$B/tests/lockhold"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
T=$(mktemp -d /tmp/mtasts-tlsrptd.XXXXXX)
chmod 755 "$T"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT
# The socket directory as the unit makes it: set-group-ID, group "mail"
# standing in for postfix.
G=mail
gid=$(getent group $G | cut -d: -f3)
mkdir -p "$T/cache" "$T/run"
chgrp $G "$T/run"
chmod 2750 "$T/run"
SOCK=$T/run/tlsrpt.sock
cat >"$T/mtasts.conf" <<EOF
cache_dir = $T/cache
tlsrpt_socket = $SOCK
EOF
export MTASTS_CONF="$T/mtasts.conf"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
DAY=$(date -u +%F)

start() {
	"$TD" -f -v -c "$T/mtasts.conf" >>"$T/log" 2>&1 &
	pid=$!
	waitfor 100 test -S "$SOCK"
}
report() { "$MT" report show --json --date "$DAY"; }
# count JQ-FILTER: a number out of the report
count() { report | jq -r "$1" 2>/dev/null; }
alive() { kill -0 "$pid" 2>/dev/null; }
# flushed N: the store holds N sessions in all (the daemon writes its
# sums once a second)
total() { "$MT" report counts --json "$DAY" | jq '[.[].count] | add // 0'; }
flushed() { waitfor 50 sh -c "[ \"\$($MT report counts --json $DAY |
    jq '[.[].count] | add // 0')\" -ge $1 ]"; }

check "the daemon starts and makes its socket" start
same "the socket is mode 0220, group $G (set-group-ID directory)" \
    "$(stat -c '%a %g' "$SOCK")" "220 $gid"

# --- Postfix's datagrams, as libtlsrpt writes them ---------------------
STS="s:version: STSv1"
EHLO=$(printf 'mx1.example.com ESMTP Postfix\r\nPIPELINING\r\nSTARTTLS')
send_all() {
	s=$1
	# libtlsrpt 0.5.0rc1 (no dpv): an MTA-STS failure, every field.
	"$s" "$SOCK" example.com "v=TLSRPTv1; rua=mailto:tlsrpt@example.com" \
	    sts example.com 1 "$STS" "s:mode: enforce" \
	    "s:mx: mx1.example.com" "s:mx: *.example.net" "s:max_age: 86400" \
	    "m:mx1.example.com" "m:*.example.net" \
	    "f:202|192.0.2.1|mx1.example.com|$EHLO|198.51.100.25|certificate name mismatch|" \
	    ";" &&
	# 0.5.0 (dpv 1): successes under the same policy.
	"$s" -n 5 -V 1 "$SOCK" example.com \
	    "v=TLSRPTv1; rua=mailto:tlsrpt@example.com" \
	    sts example.com 0 "$STS" "s:mode: enforce" \
	    "s:mx: mx1.example.com" "s:mx: *.example.net" "s:max_age: 86400" \
	    "m:mx1.example.com" "m:*.example.net" ";" >/dev/null &&
	# DANE: a success and a TLSA failure.
	"$s" -V 1 "$SOCK" dane.example "v=TLSRPTv1; rua=mailto:r@dane.example" \
	    tlsa dane.example 0 "s:3 1 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D" ";" &&
	"$s" -V 1 "$SOCK" dane.example "v=TLSRPTv1; rua=mailto:r@dane.example" \
	    tlsa dane.example 1 "s:3 1 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D" \
	    "f:304|2001:db8::1|mx.dane.example|mx.dane.example|2001:db8::25||" ";" &&
	# No policy: a success and a failure.
	"$s" "$SOCK" nopolicy.example "v=TLSRPTv1; rua=mailto:r@nopolicy.example" \
	    none - 0 &&
	"$s" -V 1 "$SOCK" nopolicy.example \
	    "v=TLSRPTv1; rua=mailto:r@nopolicy.example" none - 1 \
	    "f:201|192.0.2.1|mx.nopolicy.example||192.0.2.26|STARTTLS not offered|" ";"
}
check "tlsrptsend: sts, tlsa and no-policy-found datagrams sent" \
    send_all "$SEND"
check "their 10 sessions are in the store within 5 s" flushed 10
same "example.com: sts policy with its strings and mx patterns" \
    "$(count '.["example.com"].policies[0].policy | [."policy-type", (."policy-string" | join("|")), (."mx-host" | join(" "))] | join(" / ")')" \
    "sts / version: STSv1|mode: enforce|mx: mx1.example.com|mx: *.example.net|max_age: 86400 / mx1.example.com *.example.net"
same "example.com: 5 successful, 1 failed session" \
    "$(count '.["example.com"].policies[0].summary | "\(."total-successful-session-count") \(."total-failure-session-count")"')" \
    "5 1"
same "example.com: the failure with MX, addresses and EHLO name" \
    "$(count '.["example.com"].policies[0]."failure-details"[0] | [."result-type", ."receiving-mx-hostname", ."receiving-ip", ."sending-mta-ip", ."receiving-mx-helo", ."failed-session-count"] | map(tostring) | join(" ")')" \
    "certificate-host-mismatch mx1.example.com 198.51.100.25 192.0.2.1 mx1.example.com 1"
same "dane.example: tlsa policy with its TLSA record, 1 + 1 sessions" \
    "$(count '.["dane.example"].policies[0] | [.policy."policy-type", .policy."policy-string"[0][0:8], .summary."total-successful-session-count", .summary."total-failure-session-count", ."failure-details"[0]."result-type", ."failure-details"[0]."receiving-ip"] | map(tostring) | join(" ")')" \
    "tlsa 3 1 1 1F 1 1 tlsa-invalid 2001:db8::25"
same "nopolicy.example: no-policy-found, 1 + 1 sessions" \
    "$(count '.["nopolicy.example"].policies[0] | [.policy."policy-type", .summary."total-successful-session-count", .summary."total-failure-session-count", ."failure-details"[0]."result-type"] | map(tostring) | join(" ")')" \
    "no-policy-found 1 1 starttls-not-supported"
report >"$T/report.json"
"$MT" report show --date "$DAY" >"$T/report.txt"
grep -q "policy sts: 5 successful, 1 failed" "$T/report.txt" &&
    ok "report show (text) shows Postfix's sessions" ||
    not_ok "report show (text) shows Postfix's sessions" "$(cat "$T/report.txt")"

# The real libtlsrpt (Debian 13), the same datagrams: counts double.
if [ -n "$REAL" ]; then
	check "libtlsrpt: the same datagrams sent" send_all "$REAL"
	check "libtlsrpt: their 10 sessions are counted too" flushed 20
	same "libtlsrpt: example.com 10 + 2, same policy (same id)" \
	    "$(count '.["example.com"].policies | length as $n | .[0].summary | "\($n) \(."total-successful-session-count") \(."total-failure-session-count")"')" \
	    "1 10 2"
	same "libtlsrpt: the failure details merge with tlsrptsend's" \
	    "$(count '.["example.com"].policies[0]."failure-details"[0]."failed-session-count"')" \
	    "2"
fi

# --- who may send ------------------------------------------------------
if setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SEND" \
    2>/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SEND" "$SOCK" \
	    other.example "v=TLSRPTv1;" none - 0 2>"$T/eperm" &&
	    not_ok "another user cannot send" ||
	    { grep -q "Permission denied" "$T/eperm" &&
	    ok "another user cannot send (EACCES)" ||
	    not_ok "another user cannot send (EACCES)" "$(cat "$T/eperm")"; }
	check "a member of the socket's group can send" \
	    setpriv --reuid=65534 --regid=65534 --groups="$gid" "$SEND" \
	    "$SOCK" member.example "v=TLSRPTv1;" none - 0
else
	skip "another user cannot send (build tree not readable by nobody)"
	skip "a member of the socket's group can send"
fi

# --- hostile datagrams -------------------------------------------------
before=$(total)
i=0
while [ $i -lt 200 ]; do
	head -c $((i * 37 % 3000 + 1)) /dev/urandom | "$SEND" -r "$SOCK"
	i=$((i + 1))
done
printf '{"d": "x.example","pr": "","policies":[{"policy-type":2,' | "$SEND" -r "$SOCK"
head -c 200000 /dev/zero | tr '\0' 'a' | "$SEND" -r "$SOCK"
"$SEND" -V 2 "$SOCK" v2.example "v=TLSRPTv1;" none - 0
"$SEND" -V 1 "$SOCK" after.example "v=TLSRPTv1;" none - 0
check "after garbage, oversized and unknown-version datagrams: alive" alive
check "and still counting" waitfor 50 sh -c \
    "$MT report counts $DAY | grep -q 'after.example .* success .* 1\$'"
# refusals: what the metrics say of them (written within 2 s)
refusals() {
	"$MT" metrics | grep '^mtasts_tlsrptd_datagrams_total{result="\(oversized\|unknown-version\|malformed\)"}' |
	    sed 's/.*result="\([a-z-]*\)"} /\1=/' | sort | tr '\n' ' '
}
want="malformed=201 oversized=1 unknown-version=1 "
i=0
while [ "$(refusals)" != "$want" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
same "metrics: 1 oversized, 1 unknown version, 201 malformed" \
    "$(refusals)" "$want"
nlog=$(grep -c "datagram.* refused" "$T/log")
[ "$nlog" -le 12 ] && ok "refusals logged at most 10 a minute per kind ($nlog)" ||
    not_ok "refusals logged at most 10 a minute per kind" "$nlog lines"
grep -q 'more lines about malformed datagrams in the next' "$T/log" &&
    ok "the log says further refusals are counted, not logged" ||
    not_ok "the log says further refusals are counted, not logged"

# A flood: 50000 datagrams as fast as a blocking sender can.
before=$(total)
"$SEND" -n 50000 -V 1 "$SOCK" flood.example "v=TLSRPTv1;" \
    sts flood.example 0 "$STS" "s:mode: testing" "s:mx: mx.flood.example" \
    "s:max_age: 86400" "m:mx.flood.example" ";" >"$T/flood" &&
    ok "flood: $(cat "$T/flood")" || not_ok "flood: sent"
check "flood: alive" alive
check "flood: every one of the 50000 sessions counted" flushed $((before + 50000))
same "flood: as one counter" \
    "$("$MT" report counts --json "$DAY" | jq -c '[.[] | select(.domain == "flood.example") | .count]')" \
    "[50000]"

# A flood of distinct sessions: 20000 datagrams over 10000 domains fill
# the sums (4096 distinct) again and again; each time they are written
# out at once, and nothing is lost.
before=$(total)
"$SEND" -n 20000 -D 10000 "$SOCK" many.example "v=TLSRPTv1;" none - 0 \
    >"$T/flood2" && ok "distinct flood: $(cat "$T/flood2")" ||
    not_ok "distinct flood: sent"
check "distinct flood: alive" alive
check "distinct flood: all 20000 sessions counted" \
    flushed $((before + 20000))
same "distinct flood: 10000 counters of 2" \
    "$("$MT" report counts --json "$DAY" | jq -c '[.[] | select(.domain | endswith(".many.example")) | .count] | [length, min, max]')" \
    "[10000,2,2]"

# --- the store unavailable ----------------------------------------------
# Another process holds the cache's operation lock (byte 0 of cache.lock)
# for 5 s: the daemon's writes time out; its sums must be kept and
# written once the lock is free, the daemon alive meanwhile.
"$B/tests/lockhold" "$T/cache/cache.lock" 5 "$T/locked" &
lk=$!
check "store locked by another process" waitfor 50 test -e "$T/locked"
"$SEND" -n 7 "$SOCK" outage.example "v=TLSRPTv1;" none - 0 >/dev/null
sleep 1
"$SEND" -n 4 "$SOCK" outage.example "v=TLSRPTv1;" none - 0 >/dev/null
check "store locked by another process: alive" alive
wait "$lk"
check "store locked: the sums were kept for the next write (logged)" \
    grep -q 'outage.example: .* not counted yet, kept for the next write' \
    "$T/log"
check "store free again: all 11 sessions counted" waitfor 100 sh -c \
    "$MT report counts $DAY | grep -q 'outage.example .* success .* 11\$'"

# --- stop ----------------------------------------------------------------
"$SEND" -n 3 "$SOCK" last.example "v=TLSRPTv1;" none - 0 >/dev/null
kill -TERM "$pid"
waitfor 150 sh -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
same "SIGTERM: exit status 0" "$?" "0"
pid=
check "SIGTERM: the socket is removed" test ! -e "$SOCK"
same "SIGTERM: the last sums are written" \
    "$("$MT" report counts --json "$DAY" | jq -c '[.[] | select(.domain == "last.example") | .count]')" \
    "[3]"
grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' "$T/log" &&
    not_ok "no sanitizer report" "$(grep -m3 Sanitizer "$T/log")" ||
    ok "no sanitizer report"
tap_end
