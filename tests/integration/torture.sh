#!/bin/sh
# tests/integration/torture.sh BUILDDIR
#
# Allocation-failure torture of the decision paths (issue 20; curl's
# "runtests.pl -t" and c-ares' SetAllocFail are the models).  For a
# cached enforce domain (enforce.test, fetched once from the fixture),
# each entry point is run once with no failure, which counts its
# allocations through the core's util.c (N), then once for each
# n = 1..N with the n-th allocation failing (MTASTS_ALLOC_FAIL_AT, read
# by the ASan builds, which have the hook; see core/util.c):
#
#   mtasts query --json            build/asan/mtasts
#   a socketmap request            build/asan/mtasts-socketmap
#     (map names postfix and QUERYwithTLSRPT)
#   a filter RCPT                  build/asan/filter-mtasts
#   a table check and relayhost    build/asan/table-mtasts
#   a datagram counted             build/asan/mtasts-tlsrptd
#   an Exim ${dlfunc} mtasts_mx    Exim -be, module built with the hook
#                                  (no ASan: Exim is not built with it)
#
# Each run must end in the enforce decision or in an error that defers
# (exit 1/2, TEMP, 451, lookup error, a failed expansion), never in a
# weaker decision, with every request answered exactly once, no
# sanitizer report (crash, leak, undefined behaviour), and the filter's
# enforce table still holding the domain.  TORTURE_STRIDE=k runs every
# k-th n only (default 1: all of them); TORTURE_ONLY="run_sm ..." only
# those entry points.  Allocations made by libevent,
# c-ares, libcurl, Berkeley DB and libc directly are not counted.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-torture
A=$(pwd)/$B/asan
STRIDE=${TORTURE_STRIDE:-1}
D=enforce.test

. "$here/tap.sh"

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
trap 'sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
C=$FIXTURE_CONF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
unset MTASTS_ALLOC_FAIL_AT MTASTS_ALLOC_REPORT
T=$S/torture
rm -rf "$T"
mkdir -p "$T"
start=$(date +%s)

# The cached enforce policy every run decides from (§5.1 step 1).
"$B/mtasts" -c "$C" query "$D" >"$T/seed" 2>&1
check "$D fetched and cached as enforce" grep -q '^mode: *enforce' "$T/seed"

# sanitized FILE: a sanitizer spoke in FILE.
sanitized() {
	grep -q 'Sanitizer\|runtime error' "$1" 2>/dev/null
}
# why FILE: the sanitizer's verdict and the first frame in our code.
why() {
	printf '%s; %s' "$(grep -m1 'ERROR:\|runtime error' "$1" |
	    sed 's/^==[0-9]*==//')" "$(grep -m1 ' in [a-z_0-9]* \(.*/\)\{0,1\}\(core\|cli\|socketmap\|opensmtpd-filter\)/' "$1" |
	    sed 's/^ *#[0-9]* 0x[0-9a-f]* //')"
}

# alloc N: run "$@" with the N-th allocation failing (0: none); sets
# $rc, $seen (allocations made) and $hit (1 if the failure happened).
alloc() {
	an=$1
	shift
	rm -f "$T/rep"
	MTASTS_ALLOC_FAIL_AT=$an MTASTS_ALLOC_REPORT=$T/rep \
	    timeout -s KILL 30 "$@"
	rc=$?
	seen=$(awk '{ s = $2; f = $4 } END { print s + 0 }' "$T/rep" \
	    2>/dev/null)
	hit=$(awk '{ f += $4 } END { print f + 0 }' "$T/rep" 2>/dev/null)
	[ -n "$seen" ] || seen=0
	[ -n "$hit" ] || hit=0
}

# One run per entry point; each sets $res: "enforce", "defer" or
# "BAD: why".

run_cli() {
	alloc "$1" "$A/mtasts" -c "$C" query --json "$D" \
	    >"$T/out" 2>"$T/err"
	if sanitized "$T/err" || [ "$rc" -ge 86 ]; then
		res="BAD: crash or sanitizer (rc $rc): $(why "$T/err")"
	elif [ "$rc" = 0 ]; then
		if grep -q '"mode": *"enforce"' "$T/out"; then
			res=enforce
		else
			res="BAD: exit 0 without enforce: $(head -c 200 "$T/out")"
		fi
	elif [ "$rc" = 1 ] || [ "$rc" = 2 ]; then
		if grep -q '"mode": *"' "$T/out"; then
			res="BAD: exit $rc with a mode: $(head -c 200 "$T/out")"
		else
			res=defer
		fi
	else
		res="BAD: exit $rc"
	fi
}

# The socketmap on a unix socket: one request, then SIGTERM, which it
# must honour within 5 s (a script, so that timeout(1) bounds it all).
sm_script() {
	cat <<EOS
rm -f '$T/sm.sock' '$T/reply'
'$A/mtasts-socketmap' -f -c '$C' -s '$T/sm.sock' -d 5 -m 0 \
    >'$T/err' 2>&1 &
p=\$!
i=0
while [ ! -S '$T/sm.sock' ] && kill -0 \$p 2>/dev/null && [ \$i -lt 100 ]; do
	sleep 0.05; i=\$((i + 1))
done
if [ -S '$T/sm.sock' ]; then
	printf '%d:%s,' $((${#SMNAME} + 1 + ${#D})) '$SMNAME $D' |
	    nc -N -U -w 8 '$T/sm.sock' >'$T/reply' 2>/dev/null
	kill -TERM \$p 2>/dev/null
fi
i=0
while kill -0 \$p 2>/dev/null && [ \$i -lt 100 ]; do
	sleep 0.05; i=\$((i + 1))
done
if kill -0 \$p 2>/dev/null; then
	echo 'torture: SIGTERM not honoured in 5 s' >>'$T/err'
	kill -KILL \$p
fi
wait \$p
EOS
}

run_sm() {
	alloc "$1" sh -c "$(sm_script)"
	reply=$(cat "$T/reply" 2>/dev/null)
	if sanitized "$T/err" || { [ "$rc" -ge 86 ] && [ "$rc" != 143 ]; }; then
		res="BAD: crash or sanitizer (rc $rc): $(why "$T/err")"
	elif grep -q 'SIGTERM not honoured' "$T/err"; then
		res="BAD: SIGTERM not honoured in 5 s"
	elif [ ! -s "$T/reply" ]; then
		# Unanswered, the connection closed: out of memory at start
		# (fatalx, exit 1, as mtasts-socketmap(8) says), a
		# connection it could not watch (closed at once), or killed
		# by our SIGTERM before its handler was in place (143).
		# Postfix's lookup fails and it defers the mail.
		if [ "$rc" = 1 ] || [ "$rc" = 143 ] || { [ "$rc" = 0 ] &&
		    grep -q 'cannot watch the connection: closed' "$T/err"; }
		then res=defer; else
			res="BAD: no reply, exit $rc"; fi
	elif [ "$rc" != 0 ]; then
		res="BAD: exit $rc after SIGTERM"
	else
		case $reply in
		*:OK\ secure\ match=*) res=enforce ;;
		*:TEMP\ *) res=defer ;;
		*) res="BAD: reply '$reply'" ;;
		esac
	fi
}

# The filter: one RCPT for the domain, end of input; the enforce table
# (seeded with the domain by a clean run) must still hold it.
run_filter() {
	cp "$T/enforce.db.seed" "$T/enforce.db"
	printf 'config|ready\nfilter|0.6|1.0|smtp-in|rcpt-to|%016x|aa|u@%s\n' \
	    1 "$D" >"$T/in"
	alloc "$1" "$A/filter-mtasts" -c "$C" -t "$T/enforce.db" -d 10 \
	    <"$T/in" >"$T/out" 2>"$T/err"
	answers=$(grep -c '^filter-result|' "$T/out")
	intable=$(db5.3_dump -p "$T/enforce.db" 2>/dev/null |
	    grep -c "^ $D\\\\00\$")
	if sanitized "$T/err" || [ "$rc" -ge 86 ]; then
		res="BAD: crash or sanitizer (rc $rc): $(why "$T/err")"
	elif [ "$intable" != 1 ]; then
		res="BAD: $D left the enforce table (rc $rc)"
	elif [ "$answers" = 0 ] && { [ "$rc" = 1 ] || { [ "$rc" = 0 ] &&
	    grep -q '^stdin: ' "$T/err"; }; }; then
		# fatalx (out of memory, filter-mtasts(8)), or its input
		# could not be read: it exits and smtpd stops with it,
		# nothing is delivered.
		res=defer
	elif { [ "$rc" != 0 ] && [ "$rc" != 1 ]; } || [ "$answers" != 1 ]; then
		res="BAD: exit $rc, $answers answers"
	elif grep -q '^filter-result|.*|proceed$' "$T/out"; then
		res=enforce	# proceed: smtpd applies the enforce table
	elif grep -q '^filter-result|.*|reject|451 ' "$T/out"; then
		res=defer
	else
		res="BAD: $(grep '^filter-result' "$T/out")"
	fi
}

# table-mtasts, text protocol: a check and a relayhost lookup.
run_table() {
	printf 'config|ready\n%s\n%s\n' \
	    "table|0.1|0|mtasts|check|domain|1|$D" \
	    "table|0.1|0|mtasts|lookup|relayhost|2|$D" >"$T/in"
	# smtpd gives it one socket as fd 0 (socat EXEC: a socketpair);
	# its exit status goes to stderr, as socat does not pass it on.
	alloc "$1" socat -t 20 - SYSTEM:"'$A/table-mtasts' '$C'; echo table-rc=\$? >&2" \
	    <"$T/in" >"$T/out" 2>"$T/err"
	rc=$(sed -n 's/^table-rc=//p' "$T/err")
	[ -n "$rc" ] || rc=255
	c=$(grep '^check-result|1|' "$T/out")
	l=$(grep '^lookup-result|2|' "$T/out")
	nc_=$(grep -c '^check-result|1|' "$T/out")
	nl=$(grep -c '^lookup-result|2|' "$T/out")
	# Exit 1 is fatalx (out of memory, table-mtasts(8)): smtpd's
	# lookups still unanswered fail, and it defers.
	if sanitized "$T/err" || [ "$rc" -ge 86 ]; then
		res="BAD: crash or sanitizer (rc $rc): $(why "$T/err")"
	elif [ "$rc" != 1 ] && { [ "$rc" != 0 ] || [ "$nc_$nl" != 11 ]; }; then
		res="BAD: exit $rc, answers: check $nc_, relayhost $nl"
	elif [ "$nc_" -gt 1 ] || [ "$nl" -gt 1 ]; then
		res="BAD: answered twice: check $nc_, relayhost $nl"
	else
		[ -n "$c" ] || c="check-result|1|error|table gone"
		[ -n "$l" ] || l="lookup-result|2|error|table gone"
		case $c in
		"check-result|1|found") cres=enforce ;;
		"check-result|1|error|"*) cres=defer ;;
		*) cres="BAD: $c" ;;
		esac
		case $l in
		"lookup-result|2|found|smtp+tls://mx1.$D"|\
		"lookup-result|2|found|smtp+tls://"*".$D") lres=enforce ;;
		"lookup-result|2|error|"*) lres=defer ;;
		*) lres="BAD: $l" ;;
		esac
		case "$cres $lres" in
		BAD*|*BAD*) res="BAD: $c / $l" ;;
		"enforce enforce") res=enforce ;;
		*) res=defer ;;
		esac
	fi
}

# mtasts-tlsrptd: one datagram (an sts failure as Postfix's libtlsrpt
# sends it), then SIGTERM.  "enforce" here is the session counted once;
# "defer" is a session not counted that the collector said so of (a
# line: not counted, lost, refused, out of memory), or a start that
# failed (fatalx, exit 1).  Never counted twice, never gone unsaid.
td_script() {
	cat <<EOS
rm -rf '$T/td'
mkdir -p '$T/td/cache'
printf 'cache_dir = %s\\n' '$T/td/cache' >'$T/td.conf'
'$A/mtasts-tlsrptd' -f -c '$T/td.conf' -s '$T/td/s.sock' >'$T/err' 2>&1 &
p=\$!
i=0
while [ ! -S '$T/td/s.sock' ] && kill -0 \$p 2>/dev/null && [ \$i -lt 100 ]; do
	sleep 0.05; i=\$((i + 1))
done
if [ -S '$T/td/s.sock' ]; then
	'$B/tests/tlsrptsend' '$T/td/s.sock' $D 'v=TLSRPTv1; rua=mailto:r@$D' \
	    sts $D 1 's:version: STSv1' 's:mode: enforce' 's:mx: mx1.$D' \
	    'm:mx1.$D' 'f:202|192.0.2.1|mx1.$D||198.51.100.25||' ';' \
	    >/dev/null 2>&1
	sleep 0.2
	kill -TERM \$p 2>/dev/null
fi
i=0
while kill -0 \$p 2>/dev/null && [ \$i -lt 240 ]; do
	sleep 0.05; i=\$((i + 1))
done
if kill -0 \$p 2>/dev/null; then
	echo 'torture: SIGTERM not honoured in 12 s' >>'$T/err'
	kill -KILL \$p
fi
wait \$p
EOS
}

run_td() {
	alloc "$1" sh -c "$(td_script)"
	cnt=$("$B/mtasts" -c "$T/td.conf" report counts --json \
	    "$(date -u +%F)" 2>/dev/null | jq '[.[].count] | add // 0')
	if sanitized "$T/err" || { [ "$rc" -ge 86 ] && [ "$rc" != 143 ]; }; then
		res="BAD: crash or sanitizer (rc $rc): $(why "$T/err")"
	elif grep -q 'SIGTERM not honoured' "$T/err"; then
		res="BAD: SIGTERM not honoured in 12 s"
	elif [ "$cnt" = 1 ] && [ "$rc" = 0 ]; then
		res=enforce
	elif [ "$cnt" = 0 ] && { [ "$rc" = 1 ] || [ "$rc" = 143 ] ||
	    grep -q 'not counted\|[1-9][0-9]* lost\|[1-9][0-9]* refused\|out of memory\|malformed' \
	    "$T/err"; }; then
		res=defer
	else
		res="BAD: exit $rc, $cnt sessions counted: $(tail -n 1 "$T/err")"
	fi
}

# Exim -be with the module built with the hook: the mtasts_mx
# expansion for the domain and an MX list with one host its policy
# does not allow.  A failed expansion defers the router.
run_exim() {
	alloc "$1" "$B/exim/bin/exim" -C "$T/exim/exim.conf" -be \
	    "\${dlfunc{$SO}{mtasts_mx}{$D}{10 mx1.$D:20 evil.test}{$C}}" \
	    >"$T/out" 2>"$T/err"
	out=$(cat "$T/out")
	if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
		res="BAD: exit $rc: $(tail -n 1 "$T/err")"
	elif [ "$out" = "mx1.$D" ]; then
		res=enforce
	else
		case $out in
		*"not enforce"*|*evil.test*) res="BAD: '$out'" ;;
		Failed:\ *) res=defer ;;
		*) res="BAD: '$out'" ;;
		esac
	fi
}

# torture NAME FN: the clean run, then every n (by STRIDE).
torture() {
	name=$1
	fn=$2
	case " ${TORTURE_ONLY:-$fn} " in *" $fn "*) ;; *) return ;; esac
	t0=$(date +%s)
	$fn 0
	total=$seen
	if [ "$res" != enforce ]; then
		not_ok "$name: a clean run decides enforce" "$res"
		return
	fi
	ok "$name: a clean run decides enforce ($total allocations)"
	runs=0 points=0 enf=0 def=0 bad=0 badlist=""
	k=1
	# Past the last allocation a run injects nothing: stop there.
	while [ "$k" -le $((total + 5)) ]; do
		$fn "$k"
		runs=$((runs + 1))
		[ "$hit" -gt 0 ] && points=$((points + 1))
		case $res in
		enforce) enf=$((enf + 1)) ;;
		defer) def=$((def + 1)) ;;
		*) bad=$((bad + 1))
		   [ "$bad" -le 5 ] && badlist="$badlist|n=$k: $res" ;;
		esac
		[ "$hit" = 0 ] && [ "$k" -gt "$total" ] && break
		k=$((k + STRIDE))
	done
	t1=$(date +%s)
	echo "# $name: $total allocations, $runs runs (stride $STRIDE)," \
	    "$points allocation points failed: $enf enforce, $def deferred," \
	    "$bad bad, $((t1 - t0)) s"
	if [ "$bad" = 0 ] && [ "$points" -gt 0 ]; then
		ok "$name: each of $points allocation points failed in turn: enforce or defer, no crash, no leak"
	else
		IFS='|'
		# shellcheck disable=SC2086
		not_ok "$name: failed allocations: $bad bad runs, $points points" $badlist
		unset IFS
	fi
}

# The filter's enforce table, as a clean run leaves it.
"$A/filter-mtasts" -c "$C" -t "$T/enforce.db.seed" -d 10 >/dev/null 2>&1 <<EOF
config|ready
filter|0.6|1.0|smtp-in|rcpt-to|0000000000000001|aa|u@$D
EOF
check "the filter's enforce table holds $D" sh -c \
    "db5.3_dump -p '$T/enforce.db.seed' | grep -q '^ $D\\\\00\$'"

torture "mtasts query" run_cli
SMNAME=postfix
torture "mtasts-socketmap request" run_sm
# The same with Postfix 3.10's TLSRPT attributes (the policy's text
# and patterns in the answer, socketmap/attr.c).
run_smt() { SMNAME=QUERYwithTLSRPT; run_sm "$1"; SMNAME=postfix; }
torture "mtasts-socketmap QUERYwithTLSRPT request" run_smt
torture "filter-mtasts RCPT" run_filter
torture "table-mtasts check+relayhost" run_table
torture "mtasts-tlsrptd datagram" run_td

# Debian's Exim from a dpkg -x tree (tests/exim/setup, as exim.sh).
SO=$(pwd)/$B/alloc/exim/mtasts.so
if sh "$here/exim/setup" "$B" >"$T/exim-setup.log" 2>&1; then
	mkdir -p "$T/exim/spool" "$T/exim/log"
	# Exim empties its environment but for keep_environment.
	cat >"$T/exim/exim.conf" <<EOF
primary_hostname = torture.harness.test
spool_directory = $T/exim/spool
log_file_path = $T/exim/log/%slog
keep_environment = MTASTS_ALLOC_FAIL_AT : MTASTS_ALLOC_REPORT
EOF
	torture "Exim \${dlfunc} mtasts_mx" run_exim
else
	not_ok "tests/exim/setup failed" "$(tail -n 2 "$T/exim-setup.log")"
fi

echo "# torture: $(($(date +%s) - start)) s"
tap_end
