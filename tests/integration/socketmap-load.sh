#!/bin/sh
# tests/integration/socketmap-load.sh BUILDDIR
#
# mtasts-socketmap against hostile load, with the fixture's DNS and
# HTTPS (issue 20): clients that hold every slot idle or trickle a byte
# at a time, a flood of pipelining connections, a storm of lookups
# under a descriptor limit of 64, SIGTERM while requests are pending,
# and log lines under a flood of bad requests.  The clients are
# build/tests/smhostile (tests/integration/smhostile.c), bounded in
# count and time.  Figures (answer times, resident memory) are printed
# as "#" lines; the assertions have generous bounds.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-socketmap-load
SMA=${SMA:-$(pwd)/$B/asan/mtasts-socketmap}
SM=${SM:-$(pwd)/$B/mtasts-socketmap}
H=$(pwd)/$B/tests/smhostile
SLOTS=8471
FLOOD=8472
STORM=8473
E="66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"

. "$here/tap.sh"
# same DESC GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}
listening() { nc -z 127.0.0.1 "$1" 2>/dev/null; }
# answer "MS REPLY": the reply; ms "MS REPLY": the milliseconds
answer() { printf '%s' "${1#* }"; }
ms() { printf '%s' "${1%% *}"; }
# within MS BOUND: the answer came, in at most BOUND ms
within() { [ "$1" -ge 0 ] && [ "$1" -le "$2" ]; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

for f in "$SMA" "$SM" "$H"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
pids=""
trap 'for p in $pids; do kill -9 "$p" 2>/dev/null; done;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rm -rf "$S/cache-storm" "$S/cache-flood"
mkdir -p "$S/cache-storm" "$S/cache-flood"
sed "s|^cache_dir.*|cache_dir = $S/cache-storm|" "$FIXTURE_CONF" \
    >"$S/storm.conf"
sed "s|^cache_dir.*|cache_dir = $S/cache-flood|" "$FIXTURE_CONF" \
    >"$S/flood.conf"

echo "# slots: 20 at most (-n 20)"
"$SMA" -f -c "$FIXTURE_CONF" -l "127.0.0.1:$SLOTS" -s "$S/sm.sock" -n 20 \
    -d 8 >"$S/slots.log" 2>&1 &
slots=$!
pids="$pids $slots"
check "listening" waitfor 100 listening $SLOTS
same "enforce.test: secure" "$(answer "$("$H" -k enforce.test ask \
    127.0.0.1:$SLOTS)")" "$E"
# Postfix keeps a connection open between requests and reuses it.
a=$("$H" -k enforce.test -r 2 -i 12000 -t 5 ask "$S/sm.sock" | tail -n 1)
same "a connection idle 12 s between two requests is kept (unix socket)" \
    "$(answer "$a")" "$E"

"$H" -c 20 -t 10 idle 127.0.0.1:$SLOTS >"$S/idle.out" &
idle=$!
sleep 2
a=$("$H" -k enforce.test -t 5 ask 127.0.0.1:$SLOTS)
echo "# 20 idle clients hold every slot: a new client answered in $(ms "$a") ms"
same "20 idle clients hold every slot: a new client is answered" \
    "$(answer "$a")" "$E"
wait $idle
check "one idle client was closed for it" \
    grep -q '^open 19 closed 1 ' "$S/idle.out"

# One byte every 2 s from 20 clients for 16 s: before, each byte
# restarted the idle timer and the slots were held for good.
"$H" -c 20 -t 16 -i 2000 trickle 127.0.0.1:$SLOTS >"$S/trickle.out" &
trickle=$!
sleep 3
a=$("$H" -k enforce.test -t 5 ask 127.0.0.1:$SLOTS)
echo "# 20 trickling clients: a new client answered in $(ms "$a") ms"
same "20 clients trickling a byte every 2 s: a new client is answered" \
    "$(answer "$a")" "$E"
wait $trickle
echo "# trickle: $(cat "$S/trickle.out")"
check "every trickling client was closed by the request deadline (10 s)" \
    grep -q '^open 0 closed 20 ' "$S/trickle.out"
last=$(sed -n 's/.*last_close_ms \([0-9-]*\).*/\1/p' "$S/trickle.out")
check "within 10 to 13 s of its first byte" within "$((last - 10000))" 3000

# A client that pipelines many requests in one write, then reads:
# answers pile up past the per-connection caps (16 in flight, 4 KB
# queued) and must still all come without more input.
a=$("$H" -r 300 -t 10 -k enforce.test pipe "$S/sm.sock")
echo "# 300 pipelined requests, cached domain: $a"
check "300 pipelined requests (cached domain) in one write: 300 answers" \
    sh -c "echo '$a' | grep -q '^answers 300 '"
a=$("$H" -r 300 -t 10 -k 'bulk%03d.test' -m 1 -M 200 pipe "$S/sm.sock")
echo "# 300 pipelined requests, 200 domains: $a"
check "300 pipelined requests (200 domains, lookups) in one write: 300 answers" \
    sh -c "echo '$a' | grep -q '^answers 300 '"

echo "# log lines under a flood of bad requests"
i=0
while [ $i -lt 200 ]; do
	printf '7:postfix,' | nc -N -w 5 127.0.0.1 $SLOTS >/dev/null 2>&1
	printf 'x' | nc -N -w 5 127.0.0.1 $SLOTS >/dev/null 2>&1
	i=$((i + 1))
done
n_bad=$(grep -c 'malformed request: expected\|not a decimal number: closing' \
    "$S/slots.log")
echo "# 400 bad requests: $n_bad lines logged about them"
check "400 bad requests: at most 10 lines about them" [ "$n_bad" -le 10 ]
check "and a line saying the rest are counted" \
    grep -q 'more lines about malformed requests in the next [0-9]*s are counted' \
    "$S/slots.log"

echo "# SIGTERM with requests pending"
"$H" -k slow.test -t 10 ask 127.0.0.1:$SLOTS >"$S/slow.out" &
slow=$!
sleep 1
t0=$(now_ms)
kill -TERM $slots
wait $slots
rc=$?
t=$(($(now_ms) - t0))
echo "# SIGTERM to exit: $t ms"
same "exit 0 (no leak, no sanitizer error)" "$rc" 0
check "within 2 s" [ "$t" -le 2000 ]
wait $slow
same "the pending request was answered TEMP" \
    "$(answer "$(cat "$S/slow.out")" | sed 's/^[0-9]*://')" \
    "TEMP slow.test: mtasts-socketmap is stopping,"
check "the count of bad-request lines not logged, at exit" \
    grep -q '[0-9]* more lines about malformed requests not logged' \
    "$S/slots.log"
check "no sanitizer report" sh -c "! grep -q Sanitizer '$S/slots.log'"

echo "# where Postfix connects (issue 20: TCP is open to every local user)"
u=$here/../systemd/mtasts-socketmap.service
check "the unit listens on the unix socket in Postfix's chroot, not TCP" \
    sh -c "grep -qx 'ExecStart=/usr/sbin/mtasts-socketmap -f -s /var/spool/postfix/mtasts/socketmap' '$u' &&
    ! grep -q '^ExecStart=.* -l' '$u'"
check "its directory is group postfix, mode 0750" \
    grep -q '^ExecStartPre=.*install -d -o _mtasts -g "\$\$g" -m 0750 /var/spool/postfix/mtasts' "$u"
check "the man page and the how-to name it in main.cf" sh -c \
    "grep -q 'smtp_tls_policy_maps = socketmap:unix:mtasts/socketmap:postfix' '$here/../docs/mtasts-socketmap.8' &&
    grep -q 'smtp_tls_policy_maps    = socketmap:unix:mtasts/socketmap:postfix' '$here/../docs/postfix.md'"

echo "# flood: 900 pipelining connections that read nothing"
ulimit -n 4096
"$SM" -f -c "$S/flood.conf" -l "127.0.0.1:$FLOOD" >"$S/flood.log" 2>&1 &
flood=$!
pids="$pids $flood"
check "listening" waitfor 100 listening $FLOOD
"$H" -k enforce.test ask 127.0.0.1:$FLOOD >/dev/null
r0=$(rss $flood)
# Every 4th key a lookup (an unknown name: NXDOMAIN), the rest cached.
"$H" -c 450 -r 2000 -t 20 -k 'f%d.nxdomain.test' flood \
    127.0.0.1:$FLOOD >"$S/flood1.out" &
f1=$!
"$H" -c 450 -r 2000 -t 20 -k enforce.test flood \
    127.0.0.1:$FLOOD >"$S/flood2.out" &
f2=$!
sleep 5
worst=0
for k in 1 2 3; do
	a=$("$H" -k enforce.test -t 30 ask 127.0.0.1:$FLOOD)
	m=$(ms "$a")
	[ "$m" -lt 0 ] || [ "$m" -gt "$worst" ] && worst=$m
	[ "$m" -lt 0 ] && worst=-1
	a2=$("$H" -k "new$k.nxdomain.test" -t 30 ask 127.0.0.1:$FLOOD)
	echo "# during the flood: enforce.test in $m ms, a lookup in $(ms "$a2") ms: $(answer "$a2")"
	sleep 2
done
rp=$(rss $flood)
check "during the flood a client is answered within 10 s" \
    within "$worst" 10000
same "with the right answer" "$(answer "$a")" "$E"
wait $f1 $f2
echo "# flood clients: $(cat "$S/flood1.out") / $(cat "$S/flood2.out")"
sleep 12
r1=$(rss $flood)
echo "# resident memory: $r0 kB before, $rp kB during, $r1 kB 12 s after"
check "resident memory during the flood under 64 MB" [ "$rp" -lt 65536 ]
check "and 12 s after, under 32 MB" [ "$r1" -lt 32768 ]
a=$("$H" -k enforce.test ask 127.0.0.1:$FLOOD)
same "answers after the flood" "$(answer "$a")" "$E"
kill -TERM $flood
wait $flood

echo "# storm of lookups under a descriptor limit of 64"
(ulimit -n 64 && exec "$SM" -f -c "$S/storm.conf" -l "127.0.0.1:$STORM" \
    -d 8) >"$S/storm.log" 2>&1 &
storm=$!
pids="$pids $storm"
check "listening" waitfor 100 listening $STORM
"$H" -c 300 -r 20 -t 15 -k 'bulk%03d.test' -m 1 -M 200 flood \
    127.0.0.1:$STORM >"$S/storm.out" &
st=$!
sleep 3
a=$("$H" -k enforce.test -t 30 ask 127.0.0.1:$STORM)
echo "# during the storm: enforce.test in $(ms "$a") ms: $(answer "$a")"
check "during the storm a client is answered within 10 s" \
    within "$(ms "$a")" 10000
wait $st
check "no descriptor ran out" \
    sh -c "! grep -qi 'too many open files' '$S/storm.log'"
# A fetch that failed for want of a descriptor would have been recorded
# against the domain: no new fetch for retry_interval, no policy.
bad=0
i=1
while [ $i -le 200 ]; do
	d=bulk$(printf %03d $i).test
	a=$("$H" -k $d -t 10 ask 127.0.0.1:$STORM)
	case "$(answer "$a")" in
	*":OK secure match=mx1.$d:.$d servername=hostname,") ;;
	*) bad=$((bad + 1)); [ $bad -le 3 ] && echo "# $d: $a" ;;
	esac
	i=$((i + 1))
done
same "after the storm each of the 200 domains has its enforce policy" \
    "$bad" 0
"$H" -c 300 -r 20 -t 3 -k 'bulk%03d.test' -m 1 -M 200 flood \
    127.0.0.1:$STORM >/dev/null &
st=$!
sleep 1
t0=$(now_ms)
kill -TERM $storm
wait $storm
t=$(($(now_ms) - t0))
echo "# SIGTERM to exit during a storm: $t ms"
check "SIGTERM during the storm: exit within 2 s" [ "$t" -le 2000 ]
wait $st

tap_end
