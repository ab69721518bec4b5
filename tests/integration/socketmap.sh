#!/bin/sh
# tests/integration/socketmap.sh BUILDDIR
#
# mtasts-socketmap (ASan+UBSan build) against the fixture's DNS and
# HTTPS: the socketmap protocol and its framing edge cases, hostile and
# slow clients, the per-request deadline, and answers compared with
# those of postfix-mta-sts-resolver 1.1.2 (Debian's mta-sts-daemon,
# run here with the same fixture: its resolv.conf and CA) for the same
# requests.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-socketmap-it
SM=$(pwd)/$B/asan/mtasts-socketmap
OURS=8461
THEIRS=8462
STRICT=8463
THEIRS_STRICT=8464
SLOWDL=8465

. "$here/tap.sh"
# same DESC GOT WANT
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got:  $2" "want: $3"; fi
}

# ns "NAME KEY": the netstring of a request
ns() { printf '%d:%s,' "${#1}" "$1"; }
# ask PORT BYTES: send raw bytes, half-close, print every byte answered
ask() { printf '%s' "$2" | nc -N -w 10 127.0.0.1 "$1"; }
# q PORT KEY: the answer to "postfix KEY"
q() { ask "$1" "$(ns "postfix $2")"; }
# norm: a reply with its match= patterns sorted (the resolver keeps
# them in a Python set, so in no fixed order)
norm() {
	printf '%s' "$1" | sed 's/^[0-9]*://; s/,$//' | awk '{
		for (i = 1; i <= NF; i++)
			if ($i ~ /^match=/) {
				k = split(substr($i, 7), a, ":")
				for (x = 1; x <= k; x++)
					for (y = x + 1; y <= k; y++)
						if (a[y] < a[x]) {
							t = a[x]; a[x] = a[y]; a[y] = t
						}
				s = "match=" a[1]
				for (x = 2; x <= k; x++)
					s = s ":" a[x]
				$i = s
			}
		print
	}'
}
listening() { nc -z 127.0.0.1 "$1" 2>/dev/null; }

if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

sed 's/^strict_testing.*//' "$FIXTURE_CONF" >"$S/strict.conf"
echo "strict_testing = yes" >>"$S/strict.conf"
sed "s|^cache_dir.*|cache_dir = $S/cache-strict|" "$S/strict.conf" \
    >"$S/strict2.conf" && mv "$S/strict2.conf" "$S/strict.conf"
sed -e "s|^cache_dir.*|cache_dir = $S/cache-blackhole|" \
    -e "s|^resolver.*|resolver = $FIXTURE_BLACKHOLE|" \
    "$FIXTURE_CONF" >"$S/blackhole.conf"
mkdir -p "$S/cache-strict" "$S/cache-blackhole"

"$SM" -f -v -c "$FIXTURE_CONF" -l "127.0.0.1:$OURS" -s "$S/sm.sock" \
    -d 8 -n 300 >"$S/sm.log" 2>&1 &
smpid=$!
pids="$pids $smpid"
"$SM" -f -c "$S/strict.conf" -l "127.0.0.1:$STRICT" >"$S/sm-strict.log" 2>&1 &
pids="$pids $!"
"$SM" -f -c "$S/blackhole.conf" -l "127.0.0.1:$SLOWDL" -d 1 \
    >"$S/sm-blackhole.log" 2>&1 &
pids="$pids $!"

# postfix-mta-sts-resolver: aiodns reads /etc/resolv.conf only, so it
# runs in a private mount namespace with the fixture's resolv.conf
# bound over it; aiohttp's default SSL context honours SSL_CERT_FILE.
theirs=""
if command -v mta-sts-daemon >/dev/null && [ -n "$FIXTURE_RESOLV_CONF" ]; then
	theirs=1
	for p in "$THEIRS:false" "$THEIRS_STRICT:true"; do
		cat >"$S/resolver-${p%%:*}.yml" <<EOF
host: 127.0.0.1
port: ${p%%:*}
reuse_port: true
cache:
  type: internal
default_zone:
  strict_testing: ${p#*:}
  timeout: 4
EOF
		unshare --mount --propagation private sh -c "mount --bind \
		    '$FIXTURE_RESOLV_CONF' /etc/resolv.conf && \
		    SSL_CERT_FILE='$FIXTURE_CA' exec mta-sts-daemon \
		    -c '$S/resolver-${p%%:*}.yml' -v info" \
		    >"$S/resolver-${p%%:*}.log" 2>&1 &
		pids="$pids $!"
	done
fi

echo "# start"
check "mtasts-socketmap listens on 127.0.0.1:$OURS" waitfor 100 listening $OURS
check "and on the unix socket" waitfor 20 test -S "$S/sm.sock"
waitfor 100 listening $STRICT
waitfor 100 listening $SLOWDL

echo "# answers (smtp_tls_policy_maps)"
same "enforce.test: secure, match= its mx patterns, servername=hostname" \
    "$(q $OURS enforce.test)" \
    "66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"
same "testing.test: NOTFOUND (testing is not enforced)" \
    "$(q $OURS testing.test)" "9:NOTFOUND ,"
same "none.test: NOTFOUND" "$(q $OURS none.test)" "9:NOTFOUND ,"
same "nxdomain.test (no policy): NOTFOUND" "$(q $OURS nxdomain.test)" \
    "9:NOTFOUND ,"
same "twotxt.test (no valid record): NOTFOUND" "$(q $OURS twotxt.test)" \
    "9:NOTFOUND ,"
same "mxmismatch.test: secure with its one pattern" \
    "$(q $OURS MXMismatch.Test.)" \
    "55:OK secure match=mail.elsewhere.test servername=hostname,"
same "[mx1.enforce.test]:25: the host's own policy, none" \
    "$(q $OURS '[mx1.enforce.test]:25')" "9:NOTFOUND ,"
same "enforce.test:25 (next hop with port): enforce.test's policy" \
    "$(q $OURS enforce.test:25)" \
    "66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"
same ".enforce.test (parent-domain key): NOTFOUND" \
    "$(q $OURS .enforce.test)" "9:NOTFOUND ,"
same "an address literal: NOTFOUND" "$(q $OURS '[127.0.0.1]')" \
    "9:NOTFOUND ,"
same "any map name is answered" \
    "$(ask $OURS "$(ns 'tls_policy enforce.test')")" \
    "66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"
same "no key: PERM" "$(ask $OURS "$(ns 'postfix')")" \
    '43:PERM malformed request: expected "name key",'
same "unix socket: same answer" \
    "$(printf '%s' "$(ns 'postfix enforce.test')" | nc -U -N -w 10 "$S/sm.sock")" \
    "66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"
same "strict_testing = yes: testing.test is secure" \
    "$(q $STRICT testing.test)" \
    "66:OK secure match=mx1.testing.test:.testing.test servername=hostname,"
same "strict_testing = yes: none.test stays NOTFOUND" \
    "$(q $STRICT none.test)" "9:NOTFOUND ,"

echo "# QUERYwithTLSRPT: Postfix 3.10's TLSRPT attributes"
# t PORT KEY: the answer to "QUERYwithTLSRPT KEY", without its framing
t() { ask "$1" "$(ns "QUERYwithTLSRPT $2")" | sed 's/^[0-9]*://; s/,$//'; }
P="{ policy_string = version: STSv1 }"
same "enforce.test: secure, the policy's type, domain, patterns, lines" \
    "$(t $OURS enforce.test)" \
    "OK secure match=mx1.enforce.test:.enforce.test servername=hostname policy_type=sts policy_domain=enforce.test mx_host_pattern=mx1.enforce.test mx_host_pattern=*.enforce.test $P { policy_string = mode: enforce } { policy_string = mx: mx1.enforce.test } { policy_string = mx: *.enforce.test } { policy_string = max_age: 604800 }"
same "testing.test: may with the attributes (CRLF lines without CR)" \
    "$(t $OURS testing.test)" \
    "OK may policy_type=sts policy_domain=testing.test mx_host_pattern=mx1.testing.test mx_host_pattern=*.testing.test $P { policy_string = mode: testing } { policy_string = mx: mx1.testing.test } { policy_string = mx: *.testing.test } { policy_string = max_age: 604800 }"
for x in http404:sts-policy-fetch-error bom:sts-policy-invalid \
    wrongname:sts-webpki-invalid http404:sts-policy-fetch-error; do
	d=${x%%:*}.test
	same "$d (fetch failed): may, policy_failure=${x#*:}" \
	    "$(t $OURS $d)" \
	    "OK may policy_type=sts policy_domain=$d policy_failure=${x#*:}"
done
same "none.test: NOTFOUND" "$(t $OURS none.test)" "NOTFOUND "
same "nxdomain.test: NOTFOUND" "$(t $OURS nxdomain.test)" "NOTFOUND "
same "strict_testing = yes: testing.test secure, with its attributes" \
    "$(t $STRICT testing.test | cut -d' ' -f1-6)" \
    "OK secure match=mx1.testing.test:.testing.test servername=hostname policy_type=sts policy_domain=testing.test"
same "after those, map name postfix: no attributes" \
    "$(q $OURS enforce.test)" \
    "66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"

echo "# the same requests to postfix-mta-sts-resolver"
if [ -z "$theirs" ]; then
	skip "mta-sts-daemon not installed or no FIXTURE_DNS53"
else
	waitfor 150 listening $THEIRS
	waitfor 150 listening $THEIRS_STRICT
	for k in enforce.test testing.test none.test nxdomain.test \
	    mxmismatch.test bulk007.test twotxt.test '[mx1.enforce.test]:25' \
	    enforce.test:25 .enforce.test '[127.0.0.1]'; do
		same "$k: our answer is the resolver's" \
		    "$(norm "$(q $OURS "$k")")" "$(norm "$(q $THEIRS "$k")")"
	done
	for k in testing.test enforce.test none.test; do
		same "$k, strict_testing: our answer is the resolver's" \
		    "$(norm "$(q $STRICT "$k")")" \
		    "$(norm "$(q $THEIRS_STRICT "$k")")"
	done
fi

echo "# framing"
E="66:OK secure match=mx1.enforce.test:.enforce.test servername=hostname,"
same "pipelined requests in one write: answers in order" \
    "$(ask $OURS "$(ns 'postfix enforce.test')$(ns 'postfix none.test')$(ns 'postfix enforce.test')")" \
    "${E}9:NOTFOUND ,$E"
same "split reads: a request written a byte at a time" \
    "$(r=$(ns 'postfix enforce.test'); i=1; while [ $i -le ${#r} ]; do
	printf '%s' "$(printf '%s' "$r" | cut -c$i)"; sleep 0.02; i=$((i + 1))
    done | nc -N -w 10 127.0.0.1 $OURS)" "$E"
same "0-length netstring: PERM, the connection goes on" \
    "$(ask $OURS "0:,$(ns 'postfix enforce.test')")" \
    "43:PERM malformed request: expected \"name key\",$E"
same "overlong length: PERM, then closed (nothing after is read)" \
    "$(ask $OURS "1025:$(ns 'postfix enforce.test')")" \
    "44:PERM netstring longer than the request limit,"
big=$(printf 'postfix %01016d' 0)
same "a request of exactly the limit (1024 bytes) is read" \
    "$(ask $OURS "$(ns "$big")")" "9:NOTFOUND ,"
same "a length of 20 digits: PERM (no overflow)" \
    "$(ask $OURS "00000000000000000021:postfix enforce.test,")" \
    "45:PERM netstring length is not a decimal number,"
same "non-digit in the length: PERM" \
    "$(ask $OURS "2x:postfix enforce.test,")" \
    "45:PERM netstring length is not a decimal number,"
same "no length at all: PERM" "$(ask $OURS ":,")" \
    "45:PERM netstring length is not a decimal number,"
same "missing comma: PERM after the answers before it" \
    "$(ask $OURS "$(ns 'postfix enforce.test')20:postfix enforce.test;")" \
    "${E}36:PERM netstring not terminated by ',',"
same "NUL in a request: PERM" \
    "$(printf '15:postfix enf\0rce,' | nc -N -w 10 127.0.0.1 $OURS | tr '\0' '@')" \
    "$(printf '%s' 'PERM malformed request: a space or control byte in the key' | awk '{ printf "%d:%s,", length($0), $0 }')"
same "a truncated request, then end of input: no answer" \
    "$(ask $OURS "21:postfix enf")" ""

echo "# hostile and slow clients"
# A stalled client: half a request, then silence for 30 s; the request
# deadline (10 s from its first byte) ends it.
(printf '21:postfix enf'; sleep 30) | nc -w 40 127.0.0.1 $OURS >/dev/null &
stall=$!
# A flood of garbage from two more.
head -c 65536 /dev/urandom | nc -N -w 10 127.0.0.1 $OURS >/dev/null 2>&1 &
g1=$!
(printf '1000000000:'; head -c 65536 /dev/zero) |
    nc -N -w 10 127.0.0.1 $OURS >/dev/null 2>&1 &
g2=$!
# Many requests pipelined by a client that reads nothing for a while.
(i=0; while [ $i -lt 2000 ]; do ns 'postfix enforce.test'; i=$((i + 1)); done;
    sleep 3) | nc -w 10 127.0.0.1 $OURS >/dev/null 2>&1 &
g3=$!
# A client that asks for a slow policy and vanishes at once.
ask $OURS "$(ns 'postfix slow.test')" >/dev/null &
sleep 0.1
kill $! 2>/dev/null
same "a good client is answered meanwhile" "$(q $OURS enforce.test)" "$E"
wait $g1 $g2
same "and after the garbage" "$(q $OURS none.test)" "9:NOTFOUND ,"
# 200 clients at once, each its own connection.
i=0
while [ $i -lt 200 ]; do
	q $OURS "bulk$(printf %03d $((i % 200 + 1))).test" >"$S/many.$i" &
	i=$((i + 1))
done
wait_many() {
	i=0
	while [ $i -lt 200 ]; do
		dd=bulk$(printf %03d $((i + 1))).test
		grep -q "^[0-9]*:OK secure match=mx1.$dd:.$dd servername=hostname,$" \
		    "$S/many.$i" || return 1
		i=$((i + 1))
	done
}
check "200 concurrent clients each get their domain's answer" \
    waitfor 300 wait_many
check "the stalled client was closed by the request deadline" waitfor 150 \
    grep -q 'no complete request 10s after its first byte: closing' \
    "$S/sm.log"
check "the daemon is alive" kill -0 $smpid
kill $stall $g3 2>/dev/null

echo "# deadline"
same "DNS that never answers: TEMP after the deadline (-d 1)" \
    "$(norm "$(q $SLOWDL enforce.test)")" \
    "TEMP enforce.test: MTA-STS policy lookup timed out"
check "the deadline is logged with the domain" \
    grep -q 'enforce.test: no policy decision within 1s: TEMP' \
    "$S/sm-blackhole.log"

echo "# stop"
# Ours (this test's, a bench's) run with -c; the system's runs without.
check "the system's postfix-mta-sts-resolver service is not running" \
    sh -c "! pgrep -f 'mta-sts-daemon( |$)' | xargs -r ps -o args= -p |
    grep -qv -- ' -c '"
check "and it is not enabled at boot" \
    sh -c "! ls /etc/systemd/system/*.wants/postfix-mta-sts-resolver.service \
    /etc/rc[2345].d/S*postfix-mta-sts-resolver >/dev/null 2>&1"
kill -TERM $smpid
wait $smpid
rc=$?
same "SIGTERM: exit 0 (no leak, no sanitizer error)" "$rc" 0
check "no sanitizer report in the log" \
    sh -c "! grep -q 'Sanitizer' '$S/sm.log'"
check "framing errors were logged naming the peer" \
    grep -q '127.0.0.1:[0-9]*: netstring length is not a decimal number: closing' \
    "$S/sm.log"

echo "1..$n"
[ "$failed" -eq 0 ]
