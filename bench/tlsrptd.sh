#!/bin/sh
# bench/tlsrptd.sh BUILDDIR: datagrams per second mtasts-tlsrptd
# ingests (received, parsed, summed; every one then found counted in
# the results store), beside a trivial floor that only recv()s
# (bench/dgfloor.c).  The sender is tests/tlsrptd/tlsrptsend, blocking
# sendto() as fast as it can: the kernel holds at most a socket buffer
# of datagrams, so the sender's rate is the receiver's.  Sender and
# collector are two processes, on the machine's cores (2 here).
# Both are then limited by the sender (one core's worth); the collector's
# own ceiling is N over the CPU time it used (utime + stime), shown as
# "cpu-bound".  Three rounds each, the median kept.  Figures only; about
# a minute.
#
#   same: one datagram over and over (a busy Postfix: one domain, one
#	policy, "success"), 251 bytes
#   failures: an sts failure with every field, 2000 distinct domains
#	(2000 distinct sessions a second to write), 440 bytes
set -u
B=${1:-build}
TD=$(pwd)/$B/mtasts-tlsrptd
SEND=$(pwd)/$B/tests/tlsrptsend
FLOOR=$(pwd)/$B/dgfloor
MT=$(pwd)/$B/mtasts
N=${TLSRPTD_BENCH_N:-200000}
T=$(mktemp -d /tmp/mtasts-bench-tlsrptd.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT
SOCK=$T/s
STS="s:version: STSv1"

# rate OUT: the datagrams/s figure tlsrptsend printed
rate() { sed -n 's/.*: \([0-9]*\)\/s$/\1/p' "$1"; }
median() { sort -n | sed -n 2p; }
same() {
	"$SEND" -n "$N" -V 1 "$@" "$SOCK" example.com "v=TLSRPTv1;" sts \
	    example.com 0 "$STS" "s:mode: enforce" "s:mx: mx.example.com" \
	    "s:max_age: 86400" "m:mx.example.com" ";"
}
failures() {
	"$SEND" -n "$N" -D 2000 "$SOCK" example.com \
	    "v=TLSRPTv1; rua=mailto:r@example.com" sts example.com 1 "$STS" \
	    "s:mode: enforce" "s:mx: *.mx.example.com" "s:max_age: 86400" \
	    "m:*.mx.example.com" \
	    "f:202|192.0.2.1|a.mx.example.com|a.mx.example.com ESMTP|2001:db8::25|name mismatch|" \
	    ";"
}
# cpu PID: its user + system time, in clock ticks
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# counted: sessions in the store today
counted() {
	"$MT" report counts --json "$(date -u +%F)" |
	    jq '[.[].count] | add // 0'
}

for mix in same failures; do
	fl="" td="" cap="" ok=yes
	for round in 1 2 3; do
		"$FLOOR" "$SOCK" "$N" &
		fp=$!
		while [ ! -S "$SOCK" ]; do sleep 0.05; done
		$mix >"$T/out"
		wait "$fp"
		fl="$fl $(rate "$T/out")"

		rm -rf "$T/cache"
		mkdir "$T/cache"
		printf 'cache_dir = %s/cache\ntlsrpt_socket = %s\n' "$T" \
		    "$SOCK" >"$T/conf"
		export MTASTS_CONF="$T/conf"
		"$TD" -f -c "$T/conf" 2>>"$T/log" &
		pid=$!
		while [ ! -S "$SOCK" ]; do sleep 0.05; done
		sleep 0.2
		c0=$(cpu "$pid")
		$mix >"$T/out"
		td="$td $(rate "$T/out")"
		i=0
		while [ "$(counted)" -lt "$N" ] && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		c=$(($(cpu "$pid") - c0))
		[ "$c" -gt 0 ] || c=1
		cap="$cap $((N * HZ / c))"
		[ "$(counted)" -eq "$N" ] || ok="NO: $(counted) of $N counted"
		kill "$pid"
		wait "$pid"
		pid=
	done
	printf 'tlsrptd %-9s %6d datagrams/s ingested (floor: recv only '\
'%6d/s; cpu-bound %6d/s); all %d counted: %s\n' "$mix" \
	    "$(echo $td | tr ' ' '\n' | median)" \
	    "$(echo $fl | tr ' ' '\n' | median)" \
	    "$(echo $cap | tr ' ' '\n' | median)" "$N" "$ok"
done
