#!/bin/sh
# conformance.sh - every conformance citation in the tree resolves in
# docs/conformance.md: requirement items (A5.38, B1.2), whole sections
# (A7, B3, C2), decisions (D10) and anchor notes (P7).  Prints TAP.
# Run from the top of the tree; needs git (the tracked files are the
# tree) and awk, nothing else, no root.
set -u
doc=docs/conformance.md
. tests/tap.sh

[ -f "$doc" ] || { echo "Bail out! $doc missing"; exit 1; }
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	skip "not a git checkout: the tracked files are unknown"
	tap_end
	exit
fi

# The names the document defines, one a line: A5, A5.38, D10, P7 ...
defined=$(mktemp)
cited=$(mktemp)
trap 'rm -f "$defined" "$cited"' EXIT
awk '
	/^## P\./ { part = "P"; sec = ""; next }
	/^## [A-Z]\./ { part = ""; sec = ""; next }
	/^### [A-C][0-9]+\./ {
		sec = $2; sub(/\.$/, "", sec); print sec; next
	}
	/^[0-9]+\. / {
		n = $1; sub(/\.$/, "", n)
		if (part == "P") print "P" n
		else if (sec != "") print sec "." n
		next
	}
	{
		s = $0
		while (match(s, /DECISION D[0-9]+/)) {
			print substr(s, RSTART + 9, RLENGTH - 9)
			s = substr(s, RSTART + RLENGTH)
		}
	}
' "$doc" | sort -u >"$defined"

# Citations: in comments and prose they are written A7.50, D10, A6 ...
# (perl is Essential in Debian; its look-behind lets citations touch.)
# Generated and third-party files are not ours to check.
git ls-files -z -- . ':!docs/conformance.md' ':!debian/changelog' \
    ':!tests/fuzz/corpus' ':!bench/results' |
    xargs -0 perl -ne 'while (/(?<![A-Za-z0-9_.\/-])([AB]\d{1,2}\.\d{1,3}|[ABC]\d{1,2}|D\d{1,2}|P\d)(?![A-Za-z0-9_\/-])/g) { print "$ARGV $1\n" }' | sort -u >"$cited"

ncit=$(awk '{ print $2 }' "$cited" | sort -u | wc -l)
bad=$(awk 'NR == FNR { ok[$1] = 1; next } !($2 in ok)' "$defined" "$cited")
if [ -z "$bad" ]; then
	ok "all $ncit distinct citations resolve in $doc"
else
	not_ok "citations that $doc does not define"
	echo "$bad" | sed 's/^/#   /'
fi

# The decisions are D1..D22, each defined once.
for d in $(seq 1 22); do
	c=$(grep -c "DECISION D$d\*\*" "$doc")
	[ "$c" -eq 1 ] || dup="$dup D$d:$c"
done
if [ -z "${dup:-}" ]; then
	ok "DECISION D1..D22 each defined once"
else
	not_ok "decisions not defined exactly once" "$dup"
fi

# No citation points outside the repository.
out=$(git grep -n 'rfc8461-8460-checklist\|shared/docs/rfc' -- . \
    ':!tests/conformance.sh' || true)
if [ -z "$out" ]; then
	ok "no citation points at a checklist outside the tree"
else
	not_ok "references to the checklist outside the tree" "$out"
fi
tap_end
