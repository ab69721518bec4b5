#!/bin/sh
# bench/socketmap-table.sh RESULTS.jsonl: the table of bench/socketmap.sh.
set -u
f=$1
v() { jq -r --arg n "$1" "select(.name == \$n) | .$2 // empty" "$f" | head -n 1; }
hit() {
	r=$(v "hit-$1-c$2" rps)
	[ -n "$r" ] && printf '%8s/s %6s %7s' "$r" "$(v "hit-$1-c$2" p50_us)" \
	    "$(v "hit-$1-c$2" p99_us)" || printf '%26s' "-"
}
ratio() {
	a=$(v "hit-$1-c64" rps) b=$(v "hit-$2-c64" rps)
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" \
	    'BEGIN { printf "%.2f", a / b }' || printf -- "-"
}
echo
echo "socketmap cache hits: requests/s, p50 and p99 latency (us), one request in flight per connection"
printf '%-34s %26s %26s %26s\n' "" "1 connection" "8 connections" "64 connections"
for s in ours:"mtasts-socketmap" ours-nomemo:"mtasts-socketmap -m 0 (core+BDB)" \
    theirs-memory:"resolver 1.1.2, memory cache" \
    theirs-sqlite:"resolver 1.1.2, sqlite cache" floor:"floor: fixed answer (smload -S)"; do
	printf '%-34s %s %s %s\n' "${s#*:}" "$(hit "${s%%:*}" 1)" \
	    "$(hit "${s%%:*}" 8)" "$(hit "${s%%:*}" 64)"
done
echo "ratios at 64 connections: ours/resolver-memory $(ratio ours theirs-memory)," \
    "ours/resolver-sqlite $(ratio ours theirs-sqlite), ours/floor $(ratio ours floor)," \
    "ours-no-memo/floor $(ratio ours-nomemo floor)"
echo
echo "cold: 200 fixture domains, 16 in flight, fresh caches (s)"
printf '  %-32s %s  %s\n' "mtasts-socketmap" "$(v cold-ours-run1 seconds)" \
    "$(v cold-ours-run2 seconds)"
printf '  %-32s %s  %s\n' "resolver 1.1.2" "$(v cold-theirs-run1 seconds)" \
    "$(v cold-theirs-run2 seconds)"
printf '  %-32s %s ms (median of 20, curl)\n' "floor: one TLS handshake" \
    "$(v curl-handshake p50_ms)"
echo
echo "resident memory (kB; VmRSS, in brackets RssAnon: without shared library pages)"
echo "  at start, after 1 000, after 10 000 enforce domains (bench/bigzone.sh), fresh daemons"
for s in ours:mtasts-socketmap theirs:"resolver 1.1.2, memory cache"; do
	k=rss-${s%%:*}
	printf '  %-32s %8s (%s) %8s (%s) %8s (%s)\n' "${s#*:}" \
	    "$(v "$k" start_kb)" "$(v "$k" anon_start_kb)" \
	    "$(v "$k" after_1000_kb)" "$(v "$k" anon_after_1000_kb)" \
	    "$(v "$k" after_10000_kb)" "$(v "$k" anon_after_10000_kb)"
	printf '  %-32s %s secure answers of 10 000, %s s to warm\n' "" \
	    "$(v "$k" secure_answers)" "$(v "$k" seconds_10000)"
done
echo
echo "mtasts query enforce.test, cached: $(v mtasts-query-cached p50_ms) ms (median of 20, whole process)"
