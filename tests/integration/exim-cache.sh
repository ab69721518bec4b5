#!/bin/sh
# tests/integration/exim-cache.sh BUILDDIR
#
# The shared cache under many real Exim deliveries (issue 20).  Exim
# ends its delivery processes with _exit(), so the cache's exit handler
# never runs there; with Berkeley DB's DB_REGISTER that left a slot that
# made the next opener run recovery under everyone else's feet.  Now a
# process holds nothing between cache operations: sequential and
# concurrent deliveries through mtasts.so must all succeed, none may be
# taken for a process that died inside the cache, the environment is
# rebuilt only by a process that finds itself alone (or once per 1000
# joins), and the cache answers at once afterwards.  Prints the figures
# (deliveries, rebuilds, time); SEQ=100 PAR=10 for a longer run.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-exim-cache
M=$(pwd)/$B/mtasts
SEQ=${SEQ:-50}		# deliveries one after another
PAR=${PAR:-8}		# ... then PAR rounds of PAR at once

. "$here/tap.sh"

if ! sh "$here/exim/setup" "$B" >"$S.setup.log" 2>&1; then
	echo "Bail out! tests/exim/setup failed: $(tail -n 2 "$S.setup.log")"
	exit 1
fi
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
if ! sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1; then
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
fi
. "$S/env"
. "$S/exim/env"
LOG=$EXIM_SENDER_LOG
X="$EXIM_SENDER -DHARNESS_MTASTS"
CD=$(sed -n 's/^cache_dir[[:space:]]*=[[:space:]]*//p' "$EXIM_MTASTS_CONF")
run=$$

send() {	# send DOMAIN TAG: one message, delivered at once (-odi)
	printf 'Subject: cache test\n\nMARK-%s-%s\n' "$2" "$run" |
	    $X -odi -f a@harness.test -- "u@$1" 2>>"$S/exim-stderr.log"
}
# hdr FIELD: a field of cache.lock (magic gen busy flags joins).
hdr() {
	od -An -tu4 -w20 -N20 "$CD/cache.lock" | awk -v f="$1" '{ print $f }'
}
now() { date +%s%N | cut -c1-13; }
delivered() { grep -c "=> u@exgood.test .*R=mtasts_enforce" "$LOG"; }

send exgood.test warm
check "warm-up delivery over verified TLS" \
    grep -q "=> u@exgood.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes" "$LOG"
d0=$(delivered)
g0=$(hdr 2)
t0=$(now)
i=0
while [ $i -lt "$SEQ" ]; do
	send exgood.test "seq$i"
	i=$((i + 1))
done
t1=$(now)
g1=$(hdr 2)
r=0
while [ $r -lt "$PAR" ]; do
	i=0
	while [ $i -lt "$PAR" ]; do
		send exgood.test "par$r-$i" &
		i=$((i + 1))
	done
	wait
	r=$((r + 1))
done
t2=$(now)
g2=$(hdr 2)
d=$(($(delivered) - d0))
want=$((SEQ + PAR * PAR))
echo "# $SEQ deliveries one at a time: $((t1 - t0)) ms," \
    "$(((t1 - t0) / SEQ)) ms each; environment rebuilt $((g1 - g0)) times"
echo "# $PAR x $PAR concurrent deliveries: $((t2 - t1)) ms;" \
    "environment rebuilt $((g2 - g1)) times; $(hdr 5) joins since"
check "all $want deliveries made by the enforce router ($d)" \
    test "$d" = "$want"
check "nothing deferred" sh -c "! grep -q '== u@exgood.test' '$LOG'"
check "no process was found dead inside a cache operation" sh -c \
    "! grep -q 'ended inside a cache operation' '$LOG' '$S/exim-stderr.log'"
check "no cache error in the sender's logs" sh -c \
    "! grep -q 'mtasts.*cache' '$LOG' '$EXIM_DIR/sender/log/paniclog' 2>/dev/null"
check "rebuilt at most once per sequential delivery process chain" \
    test $((g1 - g0)) -le $((SEQ * 3))
check "concurrent deliveries join more than they rebuild" \
    test $((g2 - g1)) -lt $((PAR * PAR))
t3=$(now)
"$M" -c "$EXIM_MTASTS_CONF" cache show exgood.test >"$S/show.out" 2>&1
t4=$(now)
check "cache show answers at once afterwards ($((t4 - t3)) ms)" \
    sh -c "grep -q enforce '$S/show.out' && [ $((t4 - t3)) -lt 2000 ]"
check "no process left inside an operation (busy = 0)" test "$(hdr 3)" = 0
tap_end
