#!/bin/sh
# tests/integration/fleet.sh BUILDDIR
#
# Fleet mode (issue 16, docs/fleet.md) with a real redis-server from
# Debian on loopback, started and stopped here (its own port, directory
# and password), and the fixture's nsd and nginx.  Three "hosts": three
# configurations, three cache directories, separate processes.
# Asserts: each policy is fetched once for the fleet (counted at nginx);
# the others answer "source": "shared"; AUTH is required; a dead,
# silent or garbage-speaking store never stops or weakens a decision and
# is logged once; once back, it is used again; a unix socket and an ACL
# user work, a wrong password is logged naming the store and never
# shown.  rediss:// where the build has TLS (Debian 13's hiredis_ssl):
# a second redis-server with a throwaway CA; a certificate that does
# not verify leaves the store unused, never a plaintext fallback.  On
# Debian 12 (hiredis 0.14) rediss:// is refused by the configuration.
# TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-fleet-it
M=$(pwd)/$B/mtasts
. "$here/tap.sh"

RPORT=16379			# our redis-server
GPORT=16378			# the hostile fake server
TPORT=16377			# our redis-server with TLS only
PW=fleet-it-secret
APW=fleet-acl-Secret9		# the ACL user's

command -v redis-server >/dev/null 2>&1 || {
	echo "1..0 # SKIP redis-server not installed (make deps)"; exit 0; }
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
fi
peers=""
redis_stop() {
	[ -f "$S/redis/pid" ] && kill "$(cat "$S/redis/pid")" 2>/dev/null
	waitfor 50 sh -c "! redis-cli -p $RPORT -a $PW --no-auth-warning \
	    ping >/dev/null 2>&1" || true
	rm -f "$S/redis/pid"
}
trap 'redis_stop; tls_stop; for p in $peers; do kill "$p" 2>/dev/null; done
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
. "$S/env"
rm -rf "$S"/host* "$S/redis" "$S/redis-tls"	# what an earlier run left

redis_start() {
	mkdir -p "$S/redis"
	redis-server --port $RPORT --bind 127.0.0.1 --dir "$S/redis" \
	    --unixsocket "$S/redis/sock" --unixsocketperm 700 \
	    --requirepass $PW --save '' --appendonly no --daemonize yes \
	    --pidfile "$S/redis/pid" --logfile "$S/redis/log" >/dev/null &&
	    waitfor 50 sh -c "redis-cli -p $RPORT -a $PW --no-auth-warning \
	    ping 2>/dev/null | grep -q PONG"
}
rcli() { redis-cli -p $RPORT -a $PW --no-auth-warning -n 3 "$@"; }
tls_stop() {
	[ -f "$S/redis-tls/pid" ] && kill "$(cat "$S/redis-tls/pid")" \
	    2>/dev/null
	rm -f "$S/redis-tls/pid"
}

# host N [URL]: a configuration of its own, cache directory and all.
host() {
	mkdir -p "$S/host$1/cache"
	sed '/^cache_dir/d' "$FIXTURE_CONF" >"$S/host$1/conf"
	cat >>"$S/host$1/conf" <<EOF
cache_dir = $S/host$1/cache
shared_cache = ${2:-redis://:$PW@127.0.0.1:$RPORT/3}
shared_prefix = it:
report_organization = Fleet IT
report_contact = tlsrpt@fleet.test
report_submitter = fleet.test
report_dir = $S/host$1/reports
report_sendmail = /usr/bin/tee -a $S/host$1/mail
EOF
}
# q N DOMAIN: query --json as host N: $out, $rc, stderr in $S/hostN/err.
q() {
	out=$("$M" -c "$S/host$1/conf" -v query --json "$2" \
	    2>"$S/host$1/err")
	rc=$?
}
js() { printf '%s\n' "$out" | jq -r "$1"; }
count() { sh "$here/fixture/count" "$S" "mta-sts.$1"; }

check "redis-server starts (requirepass)" redis_start
for h in 1 2 3; do host $h; done

# 1. One fetch for the fleet, three hosts at once.
: >"$FIXTURE_NGINX_LOG"
for h in 1 2 3; do
	"$M" -c "$S/host$h/conf" query --json enforce.test \
	    >"$S/host$h/out" 2>"$S/host$h/err" &
done
wait
modes=$(for h in 1 2 3; do jq -r .mode "$S/host$h/out"; done | sort -u)
srcs=$(for h in 1 2 3; do jq -r .source "$S/host$h/out"; done | sort |
    tr '\n' ' ')
[ "$modes" = enforce ] && ok "three hosts at once: all enforce" ||
    not_ok "three hosts at once: all enforce" "modes: $modes"
[ "$(count enforce.test)" = 1 ] && ok "... fetched once for the fleet" ||
    not_ok "... fetched once for the fleet" \
    "fetches: $(count enforce.test), sources: $srcs"
[ "$srcs" = "network shared shared " ] && ok "... one from the network, \
two \"source\": \"shared\"" || not_ok "... sources" "$srcs"
rcli get it:policy:enforce.test | head -n 2 | tr '\n' ' ' |
    grep -q '^mtasts-policy 1 enforcev1 $' && ok "stored with its id" ||
    not_ok "stored with its id" "$(rcli get it:policy:enforce.test | head -3)"
ttl=$(rcli ttl it:policy:enforce.test)
[ "$ttl" -gt 600000 ] && [ "$ttl" -le 604800 ] &&
    ok "... expiring with the policy (TTL $ttl s)" ||
    not_ok "... expiring with the policy" "TTL $ttl"

# 2. A host that comes later takes it from the store, no fetch.
host 4
q 4 enforce.test
[ "$(js .source)" = shared ] && [ "$(js .mode)" = enforce ] &&
    [ "$(count enforce.test)" = 1 ] && ok "a fourth host: shared, no fetch" ||
    not_ok "a fourth host: shared, no fetch" "$out" "$(cat "$S/host4/err")"
q 4 enforce.test
[ "$(js .source)" = cache ] && ok "... then from its own cache" ||
    not_ok "... then from its own cache" "$out"

# 3. Warming 200 domains on three hosts at once: 200 fetches, not 600.
: >"$FIXTURE_NGINX_LOG"
doms=$(i=1; while [ $i -le 200 ]; do printf 'bulk%03d.test ' $i;
    i=$((i + 1)); done)
t0=$(date +%s)
for h in 1 2 3; do
	# shellcheck disable=SC2086
	"$M" -c "$S/host$h/conf" refresh --jobs 20 $doms \
	    >"$S/host$h/refresh" 2>&1 &
done
wait
t1=$(date +%s)
fetches=$(grep -c 'mta-sts\.bulk' "$FIXTURE_NGINX_LOG")
[ "$fetches" = 200 ] && ok "3 hosts refresh 200 domains: 200 fetches \
($((t1 - t0)) s)" || not_ok "3 hosts refresh 200 domains: 200 fetches" \
    "fetches: $fetches" "$(tail -n 3 "$S/host2/refresh")"
good=0
for h in 1 2 3; do
	for d in bulk001.test bulk100.test bulk200.test; do
		q $h $d
		[ "$(js .mode)" = enforce ] && good=$((good + 1))
	done
done
[ $good = 9 ] && ok "... every host has the policies" ||
    not_ok "... every host has the policies" "$good of 9"

# 4. The failure rate limit holds for the fleet (§3.3): a new id whose
# policy is gone (404) is fetched by one host; the others do not retry.
sh "$here/fixture/set" "$S" dynamic.test fleetfail1 - >/dev/null 2>&1
: >"$FIXTURE_NGINX_LOG"
q 1 dynamic.test
f1=$(count dynamic.test)
q 2 dynamic.test
e2=$(js '[.errors[].type] | join(",")')
q 3 dynamic.test
e3=$(js '[.errors[].type] | join(",")')
f3=$(count dynamic.test)
[ "$f1" -ge 1 ] && [ "$f3" = "$f1" ] && [ "$e2" = rate-limited ] &&
    [ "$e3" = rate-limited ] &&
    ok "a failed fetch is not retried by the other hosts" ||
    not_ok "a failed fetch is not retried by the other hosts" \
    "fetches after host 1: $f1, after 3: $f3; errors: $e2 / $e3"

# 5. AUTH is required: a wrong password is refused, the decision stands.
host 5 "redis://:wrong@127.0.0.1:$RPORT/3"
q 5 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    grep -q "shared cache redis://127.0.0.1:$RPORT/3: unreachable: AUTH" \
    "$S/host5/err" && ok "wrong password: refused, logged, decided anyway" ||
    not_ok "wrong password" "$out" "$(cat "$S/host5/err")"
grep -q "$PW\|wrong" "$S/host5/err" && not_ok "the password is never logged" \
    || ok "the password is never logged"

# 5b. An ACL user (AUTH user password) limited to the fleet's keys, by
# TCP and by the unix socket (database 0); a wrong password for it is
# logged naming the store, and a host with the policy cached keeps
# deciding from it.
rcli acl setuser fleet on ">$APW" '~it:*' '+@all' >/dev/null
host 11 "unix:fleet:$APW@$S/redis/sock"
q 11 enforce.test
[ "$(js .source)" = network ] && [ "$(js .mode)" = enforce ] &&
    rcli -n 0 exists it:policy:enforce.test | grep -q 1 &&
    ok "unix socket, ACL user: stored in database 0" ||
    not_ok "unix socket, ACL user: stored" "$out" "$(cat "$S/host11/err")"
host 15 "unix:fleet:$APW@$S/redis/sock"
q 15 enforce.test
[ "$(js .source)" = shared ] && [ "$(js .mode)" = enforce ] &&
    ok "... another host takes it from there" ||
    not_ok "unix socket, ACL user: shared" "$out" "$(cat "$S/host15/err")"
host 12 "redis://fleet:$APW@127.0.0.1:$RPORT/3"
q 12 enforce.test
[ "$(js .source)" = shared ] && [ "$(js .mode)" = enforce ] &&
    ok "TCP, ACL user: the fleet's policy" ||
    not_ok "TCP, ACL user" "$out" "$(cat "$S/host12/err")"
host 13 "redis://fleet:Wrong-$APW@127.0.0.1:$RPORT/3"
q 13 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    grep -q "shared cache redis://127.0.0.1:$RPORT/3: unreachable: AUTH \
refused: WRONGPASS" "$S/host13/err" &&
    ok "ACL user, wrong password: logged naming the store, decided" ||
    not_ok "ACL user, wrong password" "$out" "$(cat "$S/host13/err")"
host 14 "unix:fleet:Wrong-$APW@$S/redis/sock"
q 14 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    grep -q "shared cache unix:$S/redis/sock: unreachable: AUTH refused: \
WRONGPASS" "$S/host14/err" &&
    ok "unix socket, wrong password: logged naming the store, decided" ||
    not_ok "unix socket, wrong password" "$out" "$(cat "$S/host14/err")"
sed -i "s|^shared_cache = .*|shared_cache = unix:fleet:Wrong-$APW@$S/redis/sock|" \
    "$S/host11/conf"
q 11 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = cache ] &&
    ok "... a host with the policy cached keeps deciding from it" ||
    not_ok "... a host with the policy cached" "$out" \
    "$(cat "$S/host11/err")"
# Nothing a user sees carries a password: query, check, the logs.
"$M" -c "$S/host12/conf" -v query enforce.test >"$S/host12/shown" 2>&1
"$M" -c "$S/host12/conf" -v check --json exgood.test >>"$S/host12/shown" 2>&1
"$M" -c "$S/host13/conf" -v check exgood.test >>"$S/host12/shown" 2>&1
"$M" -c "$S/host13/conf" -v query --json bulk001.test >>"$S/host12/shown" \
    2>&1
grep -q 'shared cache redis://127.0.0.1' "$S/host12/shown" &&
    ! grep -q -- "$APW\|$PW" "$S/host12/shown" &&
    ok "query and check name the store, never its password" ||
    not_ok "query and check never show a password" \
    "$(grep -- "$APW\|$PW\|shared cache" "$S/host12/shown" | head -n 3)"

# 6. The store dies mid-run: every host still decides as strictly.
host 10
# shellcheck disable=SC2086
"$M" -c "$S/host10/conf" refresh --jobs 4 $doms >"$S/host10/refresh" \
    2>"$S/host10/err" &
rp=$!
sleep 0.3
redis_stop
wait $rp
rrc=$?
[ $rrc = 0 ] && grep -q '^200 due: .* 0 without policy' "$S/host10/refresh" &&
    ok "store killed during a refresh of 200: every domain has its policy" ||
    not_ok "store killed during a refresh" "rc $rrc" \
    "$(tail -n 2 "$S/host10/refresh")" "$(tail -n 3 "$S/host10/err")"
good=0
for d in bulk001.test bulk199.test bulk200.test; do
	q 10 $d
	[ "$(js .mode)" = enforce ] && good=$((good + 1))
done
[ $good = 3 ] && ok "... and keeps deciding enforce" ||
    not_ok "... and keeps deciding enforce" "$good of 3"
host 6
t0=$(date +%s)
q 6 enforce.test
t1=$(date +%s)
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    [ $((t1 - t0)) -le 3 ] &&
    ok "store down: a new host fetches itself, enforce ($((t1 - t0)) s)" ||
    not_ok "store down: new host" "$out" "$(cat "$S/host6/err")"
[ "$(grep -c 'unreachable' "$S/host6/err")" = 1 ] &&
    ok "... 'unreachable' logged once" ||
    not_ok "... 'unreachable' logged once" "$(cat "$S/host6/err")"
q 1 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = cache ] &&
    ok "... a host with the policy keeps it" || not_ok "... keeps it" "$out"
q 2 bulk050.test
[ "$(js .mode)" = enforce ] && ok "... and bulk050 too" ||
    not_ok "... and bulk050 too" "$out"
check "redis-server restarted" redis_start
host 7
q 7 enforce.test
[ "$(js .source)" = network ] && rcli exists it:policy:enforce.test |
    grep -q 1 && ok "store back (empty): the next fetch fills it" ||
    not_ok "store back" "$out" "$(cat "$S/host7/err")"
host 8
q 8 enforce.test
[ "$(js .source)" = shared ] && ok "... and the fleet uses it again" ||
    not_ok "... and the fleet uses it again" "$out"

# 7. TLS results recorded on three hosts (separate processes, as the
# adapters do): summed in one report, sent once for the fleet.
R=$(pwd)/$B/tests/tlsrec
today=$(date -u +%F)
"$R" "$S/host1/conf" exgood.test success mx.exgood.test 127.0.3.1 10 &&
"$R" "$S/host2/conf" exgood.test success mx.exgood.test 127.0.3.1 20 &&
"$R" "$S/host3/conf" exgood.test success mx.exgood.test 127.0.3.1 30 &&
"$R" "$S/host2/conf" exgood.test certificate-expired mx.exgood.test \
    127.0.3.1 4 2>"$S/rec.err"
check "three hosts record TLS results" test $? = 0
sums() {
	"$M" -c "$S/host$1/conf" report show --json --date "$today" |
	    jq -r '.["exgood.test"].policies | map(.summary |
	    "\(.["total-successful-session-count"])/\(.["total-failure-session-count"])")
	    | join(",")'
}
for h in 1 3; do
	s=$(sums $h)
	[ "$s" = 60/4 ] && ok "host $h's report has the fleet's sums (60/4)" ||
	    not_ok "host $h's report has the fleet's sums" "$s"
done
for h in 1 2 3; do
	"$M" -c "$S/host$h/conf" report send --date "$today" \
	    >"$S/host$h/send" 2>&1
done
mails=$(cat "$S"/host?/mail 2>/dev/null | grep -c '^To: tlsrpt@exgood.test')
[ "$mails" = 1 ] && ok "one report sent for the fleet" ||
    not_ok "one report sent for the fleet" "mails: $mails" \
    "$(cat "$S"/host?/send)"
[ "$(grep -l 'left to the fleet' "$S"/host?/send | wc -l)" = 2 ] &&
    ok "... the other hosts left it to the fleet" ||
    not_ok "... the other hosts left it to the fleet" "$(cat "$S"/host?/send)"
rcli get "it:report:$today:exgood.test" | grep -q '^done delivered ' &&
    ok "... its delivery state is shared" ||
    not_ok "... its delivery state is shared" \
    "$(rcli get "it:report:$today:exgood.test")"
for h in 1 2 3; do
	"$M" -c "$S/host$h/conf" report send --date "$today" \
	    >>"$S/host$h/send" 2>&1
done
mails=$(cat "$S"/host?/mail 2>/dev/null | grep -c '^To: tlsrpt@exgood.test')
[ "$mails" = 1 ] && ok "... and never again" || not_ok "... and never again" \
    "mails: $mails"

# 8. Hostile stores: garbage, an endless array, silence.  Each is
# logged naming the store; the decision is the network's, in bounded
# time.
hostile() {
	desc=$1
	shift
	socat TCP-LISTEN:$GPORT,bind=127.0.0.1,reuseaddr,fork "$@" \
	    2>/dev/null &
	gp=$!
	peers="$peers $gp"
	waitfor 30 sh -c "nc -z 127.0.0.1 $GPORT" || true
	host 9 "redis://127.0.0.1:$GPORT/0"
	rm -rf "$S/host9/cache"/*
	t0=$(date +%s)
	q 9 enforce.test
	t1=$(date +%s)
	kill $gp 2>/dev/null
	wait $gp 2>/dev/null
	if [ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
	    [ $((t1 - t0)) -le 4 ] &&
	    grep -q "shared cache redis://127.0.0.1:$GPORT/0: " "$S/host9/err"
	then
		ok "hostile store ($desc): enforce from the network, logged"
	else
		not_ok "hostile store ($desc)" "$out" "$(cat "$S/host9/err")"
	fi
}
hostile "garbage" SYSTEM:'printf "@@garbage\r\n"; sleep 1'
hostile "2^31 elements" SYSTEM:'printf "*2147483647\r\n"; sleep 1'
hostile "endless bulk" SYSTEM:'printf "\$100000000\r\n";
    head -c 8000000 /dev/zero; sleep 1'
hostile "silence" SYSTEM:'sleep 3'
hostile "wrong type" SYSTEM:'printf ":42\r\n"; sleep 1'

no_password() {
	! grep -q -- "$PW\|$APW" "$S"/host*/err "$S"/host*/out \
	    "$S"/host*/send "$S"/host*/refresh "$S"/host*/shown 2>/dev/null &&
	    ok "no password in any output or log of any host" ||
	    not_ok "no password in any output or log" \
	    "$(grep -l -- "$PW\|$APW" "$S"/host*/* 2>/dev/null)"
}

# 9. rediss://: TLS to the store where the build has it (hiredis_ssl,
# Debian 13), refused by the configuration where it has not (Debian 12).
host 20 "rediss://:$PW@127.0.0.1:$TPORT/3"
if ! pkg-config --exists hiredis_ssl 2>/dev/null; then
	q 20 enforce.test
	[ $rc != 0 ] && grep -q "shared_cache: rediss:// (TLS) needs hiredis \
1.0 or later with libhiredis_ssl" "$S/host20/err" &&
	    ok "no hiredis_ssl: rediss:// refused by the configuration" ||
	    not_ok "no hiredis_ssl: rediss:// refused" "rc $rc" \
	    "$(cat "$S/host20/err")"
	no_password
	tap_end
	exit
fi
T=$S/redis-tls
mkdir -p "$T"
# A throwaway CA, a leaf for store.fleet.test and 127.0.0.1, and a
# rogue CA no host trusts.
tls_ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -sha256 -days 30 -subj "/CN=$2" \
	    -addext basicConstraints=critical,CA:true \
	    -addext keyUsage=critical,keyCertSign \
	    -keyout "$T/$1.key" -out "$T/$1.pem" 2>>"$T/openssl.log"
}
tls_pki() {
	tls_ca ca "fleet it CA" && tls_ca rogue "fleet it rogue CA" &&
	printf '%s\n' "basicConstraints = critical, CA:false" \
	    "extendedKeyUsage = serverAuth" \
	    "subjectAltName = DNS:store.fleet.test, IP:127.0.0.1" \
	    >"$T/leaf.ext" &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=store.fleet.test" -keyout "$T/store.key" \
	    -out "$T/store.csr" 2>>"$T/openssl.log" &&
	openssl x509 -req -sha256 -days 30 -in "$T/store.csr" -CA "$T/ca.pem" \
	    -CAkey "$T/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -extfile "$T/leaf.ext" -out "$T/store.pem" >>"$T/openssl.log" 2>&1
}
tcli() {
	redis-cli --tls --cacert "$T/ca.pem" -h 127.0.0.1 -p $TPORT -a $PW \
	    --no-auth-warning -n 3 "$@"
}
tls_start() {
	redis-server --port 0 --tls-port $TPORT --bind 127.0.0.1 \
	    --tls-cert-file "$T/store.pem" --tls-key-file "$T/store.key" \
	    --tls-ca-cert-file "$T/ca.pem" --tls-auth-clients no \
	    --dir "$T" --requirepass $PW --save '' --appendonly no \
	    --daemonize yes --pidfile "$T/pid" --logfile "$T/log" \
	    >/dev/null && waitfor 50 sh -c "$(command -v redis-cli) --tls \
	    --cacert $T/ca.pem -h 127.0.0.1 -p $TPORT -a $PW \
	    --no-auth-warning ping 2>/dev/null | grep -q PONG"
}
check "a throwaway CA and the store's certificate" tls_pki
check "redis-server with TLS only starts" tls_start
# tlshost N [NAME [CA]]: host N on the TLS store, trusting CA (a file
# of $T, "" for the system's store) and checking NAME.
tlshost() {
	host "$1" "rediss://:$PW@127.0.0.1:$TPORT/3"
	[ -n "${2:-}" ] && echo "shared_tls_name = $2" >>"$S/host$1/conf"
	[ "${3-ca}" != "" ] && echo "shared_ca_file = $T/${3-ca}.pem" \
	    >>"$S/host$1/conf"
	:
}
tlshost 20
q 20 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    tcli get it:policy:enforce.test | grep -q '^mtasts-policy 1$' &&
    ok "rediss://: a host stores the policy over TLS" ||
    not_ok "rediss://: a host stores the policy over TLS" "$out" \
    "$(cat "$S/host20/err")" "$(tcli keys '*' 2>&1 | head -n 3)"
tlshost 21
q 21 enforce.test
[ "$(js .source)" = shared ] && [ "$(js .mode)" = enforce ] &&
    ok "... another takes it from there: \"source\": \"shared\"" ||
    not_ok "... another takes it over TLS" "$out" "$(cat "$S/host21/err")"
tlshost 22 store.fleet.test
q 22 enforce.test
[ "$(js .source)" = shared ] &&
    ok "... shared_tls_name: the certificate's name, reached by address" ||
    not_ok "... shared_tls_name" "$out" "$(cat "$S/host22/err")"
# A certificate that does not verify: the store is unusable, never used
# in clear; decisions come from the local cache or the network.
tls_bad() {
	desc=$1 want=$2
	shift 2
	tlshost "$@"
	t0=$(date +%s)
	q "$1" enforce.test
	t1=$(date +%s)
	[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
	    [ $((t1 - t0)) -le 3 ] && grep -q "shared cache \
rediss://127.0.0.1:$TPORT/3: unreachable: TLS: $want" "$S/host$1/err" &&
	    ok "$desc: store unused, logged, enforce from the network" ||
	    not_ok "$desc" "$out" "$(cat "$S/host$1/err")"
}
# (redis-server sends its chain with the root: "self-signed certificate
# in certificate chain", not "unable to get local issuer certificate")
tls_bad "a CA the host does not trust" "server certificate not verified: \
.*certificate" 23 "" rogue
tls_bad "the system's CA store (no shared_ca_file)" "server certificate \
not verified: .*certificate" 24 "" ""
tls_bad "another name (shared_tls_name)" "server certificate not \
verified: hostname mismatch" 25 other.fleet.test
sed -i "s|^shared_ca_file = .*|shared_ca_file = $T/rogue.pem|" \
    "$S/host21/conf"
q 21 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = cache ] &&
    ok "... a host with the policy cached keeps deciding from it" ||
    not_ok "... a host with the policy cached" "$out" \
    "$(cat "$S/host21/err")"
# No plaintext fallback: rediss:// to a server that does not answer
# TLS gets a ClientHello, never the password, and gives up in time.
socat TCP-LISTEN:$GPORT,bind=127.0.0.1,reuseaddr,fork \
    SYSTEM:"cat >>$T/seen" 2>/dev/null &
gp=$!
peers="$peers $gp"
waitfor 30 sh -c "nc -z 127.0.0.1 $GPORT" || true
: >"$T/seen"
host 26 "rediss://:$PW@127.0.0.1:$GPORT/3"
echo "shared_ca_file = $T/ca.pem" >>"$S/host26/conf"
t0=$(date +%s)
q 26 enforce.test
t1=$(date +%s)
kill $gp 2>/dev/null
wait $gp 2>/dev/null
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    [ $((t1 - t0)) -le 3 ] &&
    [ "$(od -An -tx1 -N1 "$T/seen" | tr -d ' ')" = 16 ] &&
    ! grep -q -- "$PW\|AUTH" "$T/seen" &&
    grep -q "TLS handshake: no answer in time" "$S/host26/err" &&
    ok "a server silent in TLS: a ClientHello, never AUTH in clear" ||
    not_ok "a server silent in TLS" "$out" "$(od -c "$T/seen" | head -n 2)" \
    "$(cat "$S/host26/err")"
host 27 "rediss://:$PW@127.0.0.1:$RPORT/3"
echo "shared_ca_file = $T/ca.pem" >>"$S/host27/conf"
q 27 enforce.test
[ "$(js .mode)" = enforce ] && [ "$(js .source)" = network ] &&
    grep -q "shared cache rediss://127.0.0.1:$RPORT/3: unreachable: TLS \
handshake" "$S/host27/err" &&
    ok "rediss:// to a plaintext redis-server: refused, no fallback" ||
    not_ok "rediss:// to a plaintext redis-server" "$out" \
    "$(cat "$S/host27/err")"
no_password

tap_end
