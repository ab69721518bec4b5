#!/bin/sh
# tests/symbols.sh - the library never takes its host process down
# (STYLE.md "Errors and logging", issue 20).  Inside Exim a dlfunc that
# aborts kills the delivery process; inside filter-mtasts it kills every
# session.  So no object of libmtasts, nor the Exim module that runs
# inside Exim, may even reference a call that ends the process.
#
# kill(2) is allowed: the core uses it only as kill(pid, 0), a liveness
# probe of a cache lease holder (core/cache.c, core/decide.c), which
# sends no signal.  atexit(3)/__cxa_atexit register a handler and end
# nothing.  Nothing else is allowed: libc is linked dynamically, so
# what libc uses inside itself never shows up here.
set -u
B=${1:-build}
. tests/tap.sh

# Calls that end the process (glibc names, and BSD err(3)).
bad='abort|exit|_exit|_Exit|quick_exit|__assert_fail|__assert_perror_fail|__assert|raise|err|errx|verr|verrx|pthread_exit'

# undef NM-OPTION FILE: the undefined symbols, unversioned, one a line.
undef() { nm "$1" -u "$2" | awk 'NF >= 2 { sub(/@.*/, "", $2); print $2 }'; }

if [ -z "$(undef -g "$B/libmtasts.a" | grep -Ex "$bad")" ]; then
	ok "libmtasts.a: no object calls abort, exit or assert"
else
	not_ok "libmtasts.a: no object calls abort, exit or assert" \
	    "$(nm -A -u "$B/libmtasts.a" | grep -E " U ($bad)\$")"
fi
for so in "$B/libmtasts.so.0" "$B/exim/mtasts.so"; do
	if [ ! -f "$so" ]; then
		not_ok "$so: built"
		continue
	fi
	found=$(undef -D "$so" | grep -Ex "$bad" | sort -u | tr '\n' ' ')
	check "${so#"$B"/}: no abort, exit or assert${found:+ (has: $found)}" \
	    test -z "$found"
done
tap_end
