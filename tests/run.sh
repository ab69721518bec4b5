#!/bin/sh
# Run every test program and script ("quick": only the unit tests, the
# fuzz corpora and the citation check), then print one closing line:
# "N passed, N failed".  Unit tests speak TAP (cmocka with
# CMOCKA_MESSAGE_OUTPUT=TAP), scripts speak TAP; a program that exits
# non-zero without a "not ok" line counts as one failure.
set -u
B=${B:-build}
# Test programs run TEST_JOBS at a time (make test: 2, the cores here).
TEST_JOBS=${TEST_JOBS:-2}
pass=0
fail=0
log=$(mktemp)
pq=$(mktemp -d)
trap 'rm -f "$log"; rm -rf "$pq"' EXIT

# tally NAME LOG RC: print one TAP producer's output, add up its results.
tally() {
	echo "# $1"
	cat "$2"
	ok=$(grep -c '^ok ' "$2")
	# cmocka prints a skipped test as "not ok N # SKIP" (the tests
	# that need root, when run by an ordinary user): TAP's SKIP
	# directive, not a failure.
	nok=$(grep '^not ok ' "$2" | grep -vc '^not ok [0-9]* # SKIP')
	pass=$((pass + ok))
	fail=$((fail + nok))
	if [ "$3" -ne 0 ] && [ "$nok" -eq 0 ]; then
		echo "not ok - $1 exited with status $3"
		fail=$((fail + 1))
	fi
}

# run NAME CMD...: run one TAP producer now.
run() {
	name=$1
	shift
	"$@" >"$log" 2>&1
	tally "$name" "$log" $?
}

# queue NAME SHELL-COMMAND: one producer for drain.  Unit programs and
# corpus replays share nothing (ports the kernel picks, their own
# mkdtemp directories), so they may run side by side.
nq=0
queue() {
	nq=$((nq + 1))
	f=$pq/$(printf %04d $nq)
	printf '%s\n' "$1" >"$f.name"
	printf '%s\n' "$2" >"$f.cmd"
}

# drain: run the queue TEST_JOBS at a time, then report in queue order,
# each producer with its time (the slow ones are those to make faster).
drain() {
	[ "$nq" -gt 0 ] || return 0
	ls "$pq"/*.cmd | sed 's/\.cmd$//' | xargs -P "$TEST_JOBS" -I{} sh -c '
	    t0=$(date +%s%N); sh "$1.cmd" >"$1.log" 2>&1; echo $? >"$1.rc"
	    echo $((($(date +%s%N) - t0) / 1000000)) >"$1.ms"' sh {}
	for f in $(ls "$pq"/*.cmd | sed 's/\.cmd$//'); do
		tally "$(cat "$f.name") ($(cat "$f.ms") ms)" "$f.log" \
		    "$(cat "$f.rc")"
	done
	rm -f "$pq"/*
	nq=0
}

# make test (quick) runs the long loops with fewer rounds; make check
# (all) with the full count.
[ "${1:-all}" = quick ] && export MTASTS_TEST_QUICK=1

tap="CMOCKA_MESSAGE_OUTPUT=TAP"
san="ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
san="$san UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
for t in "$B"/tests/test_*; do
	[ -x "$t" ] && queue "unit: ${t##*/}" "$tap exec '$t'"
done
for t in "$B"/asan/tests/test_*; do
	[ -x "$t" ] && queue "unit (asan+ubsan): ${t##*/}" \
	    "$tap $san exec '$t'"
done

# Fuzz seed corpora replayed under ASan+UBSan: one result per target.
for n in ${FUZZ_NAMES:-}; do
	queue "fuzz replay: $n" "$san '$B/asan/replay_$n' \
	    tests/fuzz/corpus/$n && echo 'ok - replay $n corpus'"
done

queue "conformance citations" "exec sh tests/conformance.sh"
queue "library symbols" "exec sh tests/symbols.sh '$B'"
drain
if [ "${1:-all}" = quick ]; then
	echo "# quick run: integration tests skipped (make check runs them)"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

run "build and install" sh tests/install.sh
run "cli" sh tests/cli.sh "$B/mtasts"
run "cli (asan+ubsan)" sh tests/cli.sh "$B/asan/mtasts"

# Real programs on loopback: the fixture (nsd, nginx), MTAs.  Exim and
# smtpd drop to their own users, which must reach the build tree: a
# checkout under a private directory (mktemp -d, /root) is copied to a
# world-traversable one under /tmp for these tests.
it=.
if ! setpriv --reuid=65534 --regid=65534 --clear-groups \
    test -r "$PWD/Makefile" 2>/dev/null; then
	it=$(mktemp -d /tmp/mtasts-it.XXXXXX)
	cp -a . "$it/"
	chmod 755 "$it"		# after cp -a, which copies the mode of "."
	echo "# integration tests run from $it (this tree is private)"
	trap 'rm -f "$log"; rm -rf "$pq" "$it"' EXIT
fi
for t in tests/integration/*.sh; do
	[ -f "$t" ] && run "integration: ${t##*/}" sh -c \
	    "cd '$it' && sh '$t' '$B'"
done

# Debian 13 (issue 18): the build, the unit tests, the packages and the
# real-MTA suites again, inside a cached trixie root (tests/trixie).
run "debian 13: build, units, packages, MTAs" sh tests/trixie/root.sh "$B"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
