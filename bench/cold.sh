#!/bin/sh
# bench/cold.sh BUILDDIR: 200 cold domains, 16 in flight, against the
# local fixture (nsd + nginx), next to the floor a plain curl measures
# for one TLS handshake + request to the same nginx.  Figures only.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-bench
M=$(pwd)/$B/mtasts
if [ "$(id -u)" != 0 ]; then
	echo "cold fetch: skipped (the fixture needs root for port 443)"
	exit 0
fi
sh "$here/tests/fixture/start" "$S" >"$S.log" 2>&1 || {
	echo "cold fetch: fixture did not start, see $S.log"
	exit 1
}
trap 'sh "$here/tests/fixture/stop" "$S" >/dev/null 2>&1' EXIT
. "$S/env"

ms() { date +%s%3N; }

bulk=$(i=1; while [ $i -le 200 ]; do printf 'bulk%03d.test ' $i; \
    i=$((i + 1)); done)
for run in 1 2 3; do
	rm -rf "$S/cache"
	t0=$(ms)
	"$M" -c "$S/mtasts.conf" refresh --jobs 16 $bulk >/dev/null 2>&1
	t1=$(ms)
	wall=$((t1 - t0))
	echo "cold: 200 domains, 16 in flight, run $run: ${wall} ms wall," \
	    "$(awk -v w=$wall 'BEGIN { printf "%.2f", w * 16 / 200 }') ms" \
	    "per domain per slot"
done

# One cold decision alone: process start + TXT + A + TLS + GET + write.
rm -rf "$S/cache"
t0=$(ms)
"$M" -c "$S/mtasts.conf" query bulk001.test >/dev/null 2>&1
t1=$(ms)
echo "cold: one domain alone (whole mtasts process): $((t1 - t0)) ms"

# The floor: curl's TLS handshake and the whole request, 20 times.
i=0
: >"$S/curl.times"
while [ $i -lt 20 ]; do
	curl -s -o /dev/null --cacert "$FIXTURE_CA" \
	    --resolve "mta-sts.bulk001.test:443:$FIXTURE_WEB" \
	    -w '%{time_appconnect} %{time_total}\n' \
	    https://mta-sts.bulk001.test/.well-known/mta-sts.txt \
	    >>"$S/curl.times"
	i=$((i + 1))
done
awk '{ h += $1; t += $2 } END { printf "floor: curl TLS handshake %.2f ms,"\
    " whole request %.2f ms (mean of %d, new process each)\n",
    h * 1000 / NR, t * 1000 / NR, NR }' "$S/curl.times"
