# tests/tap.sh - TAP helpers shared by the integration tests (sourced,
# never run; POSIX sh).  Each test counts in $n and $failed and ends
# with "1..$n" and a summary line (tap_end).

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# not_ok DESC [DETAIL...]: each detail on a "#" line of its own.
not_ok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
	shift
	for l in "$@"; do echo "#   $l"; done
}
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
# check DESC CMD...: ok when CMD succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# waitfor TENTHS CMD...: until CMD succeeds, at most TENTHS x 0.1 s.
waitfor() {
	w=$1
	shift
	while ! "$@"; do
		w=$((w - 1))
		[ "$w" -gt 0 ] || return 1
		sleep 0.1
	done
}
# tap_end: the plan and the summary; the exit status says if all passed.
tap_end() {
	echo "1..$n"
	echo "# $((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ]
}
