#!/bin/sh
# Run every test program and script ("quick": only the unit tests, the
# fuzz corpora and the citation check), then print one closing line:
# "N passed, N failed".  Unit tests speak TAP (cmocka with
# CMOCKA_MESSAGE_OUTPUT=TAP), scripts speak TAP; a program that exits
# non-zero without a "not ok" line counts as one failure.
set -u
B=${B:-build}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run NAME CMD...: run one TAP producer and add up its results.
run() {
	name=$1
	shift
	echo "# $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	ok=$(grep -c '^ok ' "$log")
	nok=$(grep -c '^not ok ' "$log")
	pass=$((pass + ok))
	fail=$((fail + nok))
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		fail=$((fail + 1))
	fi
}

export CMOCKA_MESSAGE_OUTPUT=TAP
for t in "$B"/tests/test_*; do
	[ -x "$t" ] && run "unit: ${t##*/}" "$t"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "$B"/asan/tests/test_*; do
	[ -x "$t" ] && run "unit (asan+ubsan): ${t##*/}" "$t"
done
unset CMOCKA_MESSAGE_OUTPUT

# Fuzz seed corpora replayed under ASan+UBSan: one result per target.
for n in ${FUZZ_NAMES:-}; do
	run "fuzz replay: $n" sh -c "'$B/asan/replay_$n' tests/fuzz/corpus/$n \
	    && echo 'ok - replay $n corpus'"
done

run "conformance citations" sh tests/conformance.sh
run "library symbols" sh tests/symbols.sh "$B"
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
	trap 'rm -f "$log"; rm -rf "$it"' EXIT
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
