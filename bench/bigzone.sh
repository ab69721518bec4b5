#!/bin/sh
# bench/bigzone.sh start|stop DIR FIXTURE_DIR [COUNT]: COUNT (10000)
# enforce policy domains d1.big.test ... dCOUNT.big.test for the
# memory figures of bench/socketmap.sh, next to the running fixture
# (whose CA signs the certificates) and only inside the bench's network
# namespace:
#   nsd on 127.0.9.64:53, zone big.test: wildcard TXT, A and MX, so
#	_mta-sts.dN.big.test is "v=STSv1; id=bigv1;" and mta-sts.dN.big.test
#	is 127.0.1.9 for any N;
#   nginx on 127.0.1.9:443: one server block per 200 names, each with a
#	certificate listing its 200 mta-sts.dN.big.test names; the same
#	enforce policy ("mx: *.big.test") for all.
# Writes DIR/resolv.conf (for the resolver) and DIR/resolver (for
# mtasts.conf).  BIGZONE_ACCESS_LOG=FILE logs each request there (the
# fleet bench counts fetches).  Root; exit 0 once DNS and HTTPS answer.
set -eu
cmd=$1 D=$2 F=$3 N=${4:-10000}
IP_DNS=127.0.9.64
IP_WEB=127.0.1.9
die() { echo "bigzone: $*" >&2; exit 1; }
stop() {
	for p in "$D/nsd.pid" "$D/nginx.pid"; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
	done
	return 0
}
if [ "$cmd" = stop ]; then
	stop
	exit 0
fi
stop
rm -rf "$D"
mkdir -p "$D/certs" "$D/tmp" "$D/www"
ip addr show lo | grep -q "inet 127.0.0.1/8" || die "no loopback"

cat >"$D/big.test.zone" <<EOF
\$TTL 3600
@	IN SOA ns.big.test. hostmaster.big.test. 1 3600 600 86400 60
@	IN NS ns.big.test.
ns	IN A $IP_DNS
*	IN TXT "v=STSv1; id=bigv1;"
*	IN A $IP_WEB
*	IN MX 10 mx.big.test.
EOF
cat >"$D/nsd.conf" <<EOF
server:
	ip-address: $IP_DNS@53
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$D"
	database: ""
	zonelistfile: "$D/zone.list"
	xfrdfile: "$D/xfrd.state"
	xfrdir: "$D"
	pidfile: "$D/nsd.pid"
	logfile: "$D/nsd.log"
	verbosity: 1
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
remote-control:
	control-enable: no
zone:
	name: "big.test"
	zonefile: "big.test.zone"
EOF
nsd -c "$D/nsd.conf" </dev/null >>"$D/nsd.log" 2>&1 || die "nsd: $(tail -n 2 "$D/nsd.log")"

printf 'version: STSv1\nmode: enforce\nmx: *.big.test\nmax_age: 604800\n' \
    >"$D/www/mta-sts.txt"
i=1
while [ $i -le "$N" ]; do
	j=$((i + 199))
	[ $j -le "$N" ] || j=$N
	c=$D/certs/c$i
	{
		echo "[ leaf ]"
		echo "basicConstraints = critical, CA:false"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = serverAuth"
		echo "subjectAltName = @san"
		echo "[ san ]"
		k=$i
		while [ $k -le $j ]; do
			echo "DNS.$((k - i + 1)) = mta-sts.d$k.big.test"
			k=$((k + 1))
		done
	} >"$c.ext"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -subj "/CN=mta-sts.d$i.big.test" -keyout "$c.key" -out "$c.csr" \
	    2>/dev/null
	openssl x509 -req -sha256 -days 30 -in "$c.csr" -CA "$F/ca/ca.pem" \
	    -CAkey "$F/ca/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
	    -extfile "$c.ext" -extensions leaf -out "$c.pem" 2>/dev/null ||
	    die "cannot sign $c"
	i=$((j + 1))
done
# nginx picks a server block, and so the certificate, by name: each
# block lists its own 200 names.
blocks=""
i=1
while [ $i -le "$N" ]; do
	j=$((i + 199))
	[ $j -le "$N" ] || j=$N
	names=""
	k=$i
	while [ $k -le $j ]; do
		names="$names mta-sts.d$k.big.test"
		k=$((k + 1))
	done
	blocks="$blocks
	server {
		listen $IP_WEB:443 ssl;
		server_name$names;
		ssl_certificate $D/certs/c$i.pem;
		ssl_certificate_key $D/certs/c$i.key;
	}"
	i=$((j + 1))
done
cat >"$D/nginx.conf" <<EOF
user root root;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/error.log warn;
events { worker_connections 1024; }
http {
	access_log ${BIGZONE_ACCESS_LOG:-off};
	client_body_temp_path $D/tmp/body;
	proxy_temp_path $D/tmp/proxy;
	fastcgi_temp_path $D/tmp/fastcgi;
	uwsgi_temp_path $D/tmp/uwsgi;
	scgi_temp_path $D/tmp/scgi;
	server_names_hash_max_size 65536;
	server_names_hash_bucket_size 128;
	server_tokens off;
	keepalive_timeout 5s;
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen $IP_WEB:443 ssl default_server;
		server_name _;
		ssl_certificate $D/certs/c1.pem;
		ssl_certificate_key $D/certs/c1.key;
		return 404;
	}
	location_placeholder
$blocks
}
EOF
# Every server serves the one policy.
sed -i -e '/location_placeholder/d' \
    -e "s|ssl_certificate_key \\($D/certs/c[0-9]*.key\\);|ssl_certificate_key \\1;\\
		location = /.well-known/mta-sts.txt { default_type text/plain; alias $D/www/mta-sts.txt; }|" \
    "$D/nginx.conf"
nginx -p "$D/" -c "$D/nginx.conf" -e "$D/error.log" -t >"$D/nginx-t.log" 2>&1 ||
    die "nginx.conf: $(tail -n 2 "$D/nginx-t.log")"
nginx -p "$D/" -c "$D/nginx.conf" -e "$D/error.log" || die "nginx did not start"
printf 'nameserver %s\noptions attempts:2 timeout:2\n' "$IP_DNS" >"$D/resolv.conf"
echo "$IP_DNS:53" >"$D/resolver"
w=0
until dig +short +time=1 +tries=1 @"$IP_DNS" TXT _mta-sts.d1.big.test | grep -q STSv1 &&
    curl -sf --cacert "$F/ca/ca.pem" --resolve "mta-sts.d$N.big.test:443:$IP_WEB" \
    "https://mta-sts.d$N.big.test/.well-known/mta-sts.txt" | grep -q enforce; do
	w=$((w + 1))
	[ $w -lt 50 ] || die "DNS or HTTPS not answering (see $D)"
	sleep 0.2
done
