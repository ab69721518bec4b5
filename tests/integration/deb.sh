#!/bin/sh
# tests/integration/deb.sh BUILDDIR
#
# The Debian packages (debian/, docs/install.md): "make deb-build" makes
# them from a copy of the tree, lintian finds no error, the binaries
# carry dpkg-buildflags' hardening, and they install, run and purge in a
# scratch root: the host's /usr under an overlay (dpkg's writes land in
# a tmpfs), copies of /etc and of dpkg's database, all in a private mount
# namespace, so the host is never changed.  Maintainer scripts run
# chrooted there (dpkg --root): the _mtasts user, /var/lib/mtasts and its
# group for Exim and OpenSMTPD, the timer.  The installed mtasts then
# queries the fixture (nsd + nginx on loopback) as _mtasts, and as an Exim
# transport would (Debian-exim, no supplementary groups).  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v dpkg-buildpackage >/dev/null 2>&1; then
	echo "ok - # SKIP dpkg-buildpackage absent (make deps installs it)"
	exit 0
fi
# Everything below in a private mount namespace: the mounts vanish with it.
if [ -z "${MTASTS_DEB_NS:-}" ]; then
	MTASTS_DEB_NS=1 exec unshare --mount --propagation private \
	    sh "$0" "$@"
fi

D=$(pwd)/$B/deb
S=$(pwd)/$B/fixture-deb
V=$(sed -n 's/^VERSION[[:space:]]*=[[:space:]]*//p' Makefile)
. "$here/tap.sh"
# logged DESC CMD...: CMD's output shown only when it fails.
logged() {
	d=$1; shift
	if "$@" >"$T/log" 2>&1; then ok "$d"; else
		not_ok "$d" "command: $*"; sed 's/^/#   /' "$T/log" | tail -n 25
	fi
}

T=$(mktemp -d /tmp/mtasts-deb.XXXXXX)
# Only this namespace sees the tmpfs: outside, $T stays an empty
# directory.  Never "rm -rf" here: /dev is bind-mounted under it.
cleanup() {
	sh "$here/fixture/stop" "$S" >/dev/null 2>&1
	umount -R "$T" 2>/dev/null
	rmdir "$T" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
mount -t tmpfs -o mode=755 tmpfs "$T" || { echo "Bail out! tmpfs"; exit 1; }
host_users=$(grep -c '^_mtasts:' /etc/passwd /etc/group)

# --- build --------------------------------------------------------------
if ! make -s --no-print-directory deb-build B="$B" >"$T/build.log" 2>&1; then
	echo "Bail out! make deb-build failed: $(tail -n 5 "$T/build.log")"
	exit 1
fi
pkgs="libmtasts0 libmtasts-dev mtasts mtasts-exim mtasts-opensmtpd mtasts-socketmap mtasts-tlsrptd"
arch=$(dpkg --print-architecture)
for p in $pkgs; do
	check "$p ${V} built" test -f "$D/${p}_${V}_$arch.deb"
done
deb() { echo "$D/${1}_${V}_$arch.deb"; }
# The compiles of the package build (V=1 shows them) warn but never stop
# on a warning: the next compiler's new warning must not fail the build.
if grep -q ' -c .*core/policy\.c' "$D/src/build.log" &&
    ! grep ' -c ' "$D/src/build.log" | grep -q -- '-Werror'; then
	ok "package build compiles without -Werror"
else
	not_ok "package build compiles without -Werror"
fi

# --- lintian ------------------------------------------------------------
lintian --allow-root "$D"/src/*.changes >"$T/lintian" 2>&1
if grep -q '^E: ' "$T/lintian"; then
	not_ok "lintian: no errors" "$(grep '^E: ' "$T/lintian")"
else
	ok "lintian: no errors"
fi
grep '^W: ' "$T/lintian" | sed 's/^/# lintian /'

# --- contents -----------------------------------------------------------
# has PKG PATH...: the package ships each PATH.
has() {
	p=$1; shift
	dpkg-deb -c "$(deb "$p")" | awk '{ print $6 }' | sed 's|^\./|/|' \
	    >"$T/list"
	for f in "$@"; do
		grep -qx "$f" "$T/list" || { echo "# $p lacks $f"; return 1; }
	done
}
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
check "libmtasts0: the shared library only" has libmtasts0 \
    /usr/lib/$ma/libmtasts.so.0 /usr/lib/$ma/libmtasts.so.$V
check "libmtasts-dev: header, .so, .a, pkg-config, libmtasts(3)" \
    has libmtasts-dev /usr/include/mtasts.h /usr/lib/$ma/libmtasts.so \
    /usr/lib/$ma/libmtasts.a /usr/lib/$ma/pkgconfig/mtasts.pc \
    /usr/share/man/man3/libmtasts.3.gz \
    /usr/share/doc/libmtasts-dev/examples/libmtasts-parse.c
check "mtasts: CLI, config, units, man pages" has mtasts /usr/bin/mtasts \
    /etc/mtasts/mtasts.conf /usr/lib/systemd/system/mtasts-refresh.service \
    /usr/lib/systemd/system/mtasts-refresh.timer \
    /usr/lib/systemd/system/mtasts-metrics.service \
    /usr/lib/systemd/system/mtasts-metrics.timer \
    /usr/share/doc/mtasts/mtasts-rules.yml \
    /usr/share/man/man1/mtasts.1.gz /usr/share/man/man5/mtasts.conf.5.gz
check "mtasts-exim: module where the example config loads it, examples" \
    has mtasts-exim /usr/lib/exim4/mtasts.so \
    /usr/share/man/man8/mtasts-exim.8.gz \
    /usr/share/doc/mtasts-exim/examples/conf.d/main/00_mtasts_macros \
    /usr/lib/systemd/system/mtasts-refresh.service.d/mtasts-refresh-exim.conf \
    /usr/lib/systemd/system/mtasts-metrics.service.d/mtasts-metrics-exim.conf
grep -q '^MTASTS_SO = /usr/lib/exim4/mtasts.so$' \
    "$here/../docs/exim/conf.d/main/00_mtasts_macros" &&
    ok "example Exim config names the packaged module path" ||
    not_ok "example Exim config names the packaged module path"
check "mtasts-opensmtpd: filter, reference smtpd.conf" has mtasts-opensmtpd \
    /usr/libexec/mtasts/filter-mtasts /usr/share/man/man8/filter-mtasts.8.gz \
    /usr/share/doc/mtasts-opensmtpd/examples/smtpd.conf
check "mtasts-socketmap: daemon, unit, man page, how-to" has mtasts-socketmap \
    /usr/sbin/mtasts-socketmap /usr/lib/systemd/system/mtasts-socketmap.service \
    /usr/share/man/man8/mtasts-socketmap.8.gz \
    /usr/share/doc/mtasts-socketmap/postfix.md.gz
check "mtasts-tlsrptd: daemon, unit, man page" has mtasts-tlsrptd \
    /usr/sbin/mtasts-tlsrptd /usr/lib/systemd/system/mtasts-tlsrptd.service \
    /usr/share/man/man8/mtasts-tlsrptd.8.gz
dpkg-deb --fsys-tarfile "$(deb mtasts-tlsrptd)" |
    tar -xO ./usr/lib/systemd/system/mtasts-tlsrptd.service 2>/dev/null |
    grep -qx 'ExecStart=/usr/sbin/mtasts-tlsrptd -f' &&
    ok "mtasts-tlsrptd: the unit starts the packaged daemon" ||
    not_ok "mtasts-tlsrptd: the unit starts the packaged daemon"
dpkg-deb --fsys-tarfile "$(deb mtasts-socketmap)" |
    tar -xO ./usr/lib/systemd/system/mtasts-socketmap.service 2>/dev/null |
    grep -qx 'ExecStart=/usr/sbin/mtasts-socketmap -f -s /var/spool/postfix/mtasts/socketmap' &&
    ok "mtasts-socketmap: the unit starts the packaged daemon on its unix socket" ||
    not_ok "mtasts-socketmap: the unit starts the packaged daemon on its unix socket"
# The /usr merge: nothing under /lib, /bin or /sbin (trixie's lintian
# calls it aliased-location; bookworm's does not look).
aliased=""
for p in $pkgs; do
	aliased="$aliased$(dpkg-deb -c "$(deb "$p")" | awk '{ print $6 }' |
	    grep -E '^\./(lib|lib64|bin|sbin)/')"
done
check "no file under an aliased location (/lib, /bin, /sbin)" \
    test -z "$aliased"
dpkg-deb -I "$(deb mtasts)" conffiles 2>/dev/null |
    grep -qx /etc/mtasts/mtasts.conf &&
    ok "/etc/mtasts/mtasts.conf is a conffile" ||
    not_ok "/etc/mtasts/mtasts.conf is a conffile"
dpkg-deb -f "$(deb libmtasts-dev)" Depends |
    grep -q "libmtasts0 (= $V)" &&
    ok "libmtasts-dev depends on the same libmtasts0" ||
    not_ok "libmtasts-dev depends on the same libmtasts0"

# --- hardening (dpkg-buildflags reached the Makefile) -------------------
X=$T/x
mkdir -p "$X"
for p in mtasts mtasts-exim mtasts-opensmtpd mtasts-socketmap \
    mtasts-tlsrptd libmtasts0; do
	dpkg-deb -x "$(deb "$p")" "$X"
done
for f in usr/bin/mtasts usr/libexec/mtasts/filter-mtasts \
    usr/sbin/mtasts-socketmap usr/sbin/mtasts-tlsrptd \
    usr/lib/exim4/mtasts.so usr/lib/$ma/libmtasts.so.$V; do
	e=$X/$f
	readelf -lW "$e" | grep -q GNU_RELRO &&
	    readelf -dW "$e" | grep -q 'BIND_NOW\|FLAGS.*NOW' &&
	    nm -D "$e" | grep -q ' U __stack_chk_fail' &&
	    nm -D "$e" | grep ' U __[a-z0-9_]*_chk' | grep -qv __stack_chk &&
	    ok "$f: relro, bindnow, stack protector, fortify" ||
	    not_ok "$f: relro, bindnow, stack protector, fortify"
done
readelf -hW "$X/usr/bin/mtasts" | grep -q 'DYN (Position-Independent' &&
    ok "mtasts is PIE" || not_ok "mtasts is PIE"

# --- the scratch root ---------------------------------------------------
R=$T/root
mkdir -p "$R/usr" "$T/upper" "$T/work" "$R/var/lib" "$R/var/cache" \
    "$R/var/log" "$R/tmp" "$R/run" "$R/dev" "$R/proc"
chmod 1777 "$R/tmp"
for l in bin lib lib64 sbin; do [ -L /$l ] && ln -s "usr/$l" "$R/$l"; done
mount -t overlay overlay \
    -o "lowerdir=/usr,upperdir=$T/upper,workdir=$T/work" "$R/usr" &&
    mount --bind /dev "$R/dev" && mount -t proc proc "$R/proc" &&
    cp -a /etc "$R/etc" && cp -a /var/lib/dpkg "$R/var/lib/dpkg" ||
    { echo "Bail out! cannot make the scratch root"; exit 1; }
rm -rf "$R/etc/mtasts" "$R/etc/systemd/system/timers.target.wants/mtasts-"*
# No init system in the root: postinst must not try to start anything.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"
in_root() { chroot "$R" "$@"; }
for u in _mtasts Debian-exim; do
	in_root deluser --system --quiet "$u" >/dev/null 2>&1
	in_root delgroup --system --quiet "$u" >/dev/null 2>&1
done

logged "dpkg --root -i libmtasts0 libmtasts-dev mtasts (dependencies met)" \
    dpkg --root="$R" -i "$(deb libmtasts0)" "$(deb libmtasts-dev)" \
    "$(deb mtasts)"
out=$(in_root /usr/bin/mtasts --version 2>&1)
case $out in
*"$V"*) ok "installed mtasts --version: $out" ;;
*) not_ok "installed mtasts --version" "got: $out" ;;
esac
pw=$(in_root getent passwd _mtasts)
case $pw in
_mtasts:x:*:*:*:/nonexistent:/usr/sbin/nologin)
	ok "postinst made the system user _mtasts" ;;
*)	not_ok "postinst made the system user _mtasts" "got: $pw" ;;
esac
check "postinst made the group _mtasts" \
    sh -c "chroot '$R' getent group _mtasts >/dev/null"
st=$(in_root stat -c '%U:%G %a' "/var/lib/mtasts" 2>&1)
check "/var/lib/mtasts is _mtasts:_mtasts 2770 (got $st)" \
    test "$st" = "_mtasts:_mtasts 2770"
check "the timers are enabled" sh -c \
    "test -L '$R/etc/systemd/system/timers.target.wants/mtasts-refresh.timer' &&
    test -L '$R/etc/systemd/system/timers.target.wants/mtasts-report.timer'"
check "the service is not enabled by itself (the timer starts it)" \
    test -z "$(find "$R/etc/systemd/system" -name mtasts-refresh.service)"
check "the metrics timer is enabled, not its service" sh -c "test -L \
    '$R/etc/systemd/system/timers.target.wants/mtasts-metrics.timer' &&
    test -z \"\$(find '$R/etc/systemd/system' -name mtasts-metrics.service)\""
check "the host's /etc/passwd and /etc/group are untouched" \
    test "$(grep -c '^_mtasts:' /etc/passwd /etc/group)" = "$host_users"

# libmtasts-dev: a program built from the installed header and pkg-config.
cat >"$R/tmp/use.c" <<'EOC'
#include <string.h>
#include <mtasts.h>
int
main(void)
{
	const char *p = "version: STSv1\nmode: testing\nmx: a.example\nmax_age: 9\n";
	struct mtasts_policy *pol;

	if (mtasts_policy_parse(p, strlen(p), &pol, NULL, 0) != MTASTS_OK)
		return 1;
	mtasts_policy_free(pol);
	return 0;
}
EOC
logged "build and run a program with pkg-config mtasts in the root" \
    chroot "$R" sh -c 'cc -Wall -Werror -o /tmp/use /tmp/use.c \
    $(pkg-config --cflags --libs mtasts) && /tmp/use &&
    ldd /tmp/use | grep -q "libmtasts.so.0 => /"'

# systemd-analyze verify, with the units as installed.
if command -v systemd-analyze >/dev/null 2>&1; then
	# It exits 0 on unknown keys too: any output is a failure.
	out=$(systemd-analyze verify --man=no --root="$R" \
	    mtasts-refresh.timer mtasts-refresh.service \
	    mtasts-report.timer mtasts-report.service \
	    mtasts-metrics.timer mtasts-metrics.service 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ -z "$out" ] &&
	    ok "systemd-analyze verify mtasts-{refresh,report,metrics}.{service,timer}" ||
	    not_ok "systemd-analyze verify mtasts-{refresh,report,metrics}.{service,timer}" \
	    "exit $rc" "$out"
	# The exposure scores, for information (docs/operations.md).
	for u in mtasts-refresh mtasts-report; do
		systemd-analyze security --offline=yes --root="$R" \
		    $u.service 2>/dev/null | tail -n 1 | sed "s/^/# $u: /"
	done
fi
# The report service parses DNS and POSTs to URIs from it: never root.
# unit_key UNIT KEY: its values of KEY, one a line.
unit_key() { sed -n "s/^$2=//p" "$R/lib/systemd/system/$1"; }
check "mtasts-report.service runs as _mtasts:_mtasts, umask 0007" test \
    "$(unit_key mtasts-report.service User) $(unit_key \
    mtasts-report.service Group) $(unit_key mtasts-report.service UMask)" \
    = "_mtasts _mtasts 0007"
check "mtasts-report.service: ProtectSystem=strict, the cache writable" \
    test "$(unit_key mtasts-report.service ProtectSystem) $(unit_key \
    mtasts-report.service ReadWritePaths | head -n 1) $(unit_key \
    mtasts-report.service ExecStart)" = \
    "strict /var/lib/mtasts /usr/bin/mtasts report send"

# --- queries from the installed files, against the fixture -------------
if ! sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1; then
	echo "Bail out! fixture did not start: $(tail -n 3 "$S.start.log")"
	exit 1
fi
. "$S/env"
cp "$FIXTURE_CA" "$R/etc/mtasts/test-ca.pem"
cat >"$R/etc/mtasts/test.conf" <<EOF
# deb.sh: the packaged cache, the fixture's DNS and CA.
resolver	= $FIXTURE_RESOLVER
ca_file		= /etc/mtasts/test-ca.pem
dns_timeout	= 2s
fetch_timeout	= 5s
EOF
# query AS DOMAIN: "mode source" of the installed mtasts run as user AS
# ("-" root, "exim" Debian-exim without supplementary groups, as Exim's
# transports run).
query() {
	case $1 in
	-) run="" ;;
	exim) run="setpriv --reuid=Debian-exim --regid=Debian-exim \
	    --clear-groups" ;;
	*) run="setpriv --reuid=$1 --regid=$1 --init-groups" ;;
	esac
	j=$(chroot "$R" $run /usr/bin/mtasts -c /etc/mtasts/test.conf \
	    query --json "$2" 2>"$T/qerr")
	qrc=$?
	got=$(printf '%s' "$j" | jq -r '"\(.mode) \(.source)"' 2>/dev/null)
}
query _mtasts enforce.test
[ "$qrc" = 0 ] && [ "$got" = "enforce network" ] &&
    ok "installed mtasts as _mtasts: enforce.test is enforce" ||
    not_ok "installed mtasts as _mtasts: enforce.test is enforce" \
    "exit $qrc, got '$got'" "$(cat "$T/qerr")"
st=$(in_root stat -c '%U:%G %a' "/var/lib/mtasts/policies.db" 2>&1)
check "the cache file is _mtasts:_mtasts 0660 (got $st)" \
    test "$st" = "_mtasts:_mtasts 660"
query - enforce.test
[ "$qrc" = 0 ] && [ "$got" = "enforce cache" ] &&
    ok "root reads the policy from the shared cache" ||
    not_ok "root reads the policy from the shared cache" \
    "exit $qrc, got '$got'" "$(cat "$T/qerr")"

# mtasts report send in the packaged layout (/var/lib/mtasts/reports):
# as the unit runs it (_mtasts), after root ran it once (by hand, or the
# unit of an earlier version): the postinst gives root's files to
# _mtasts.  A TLS result to report, counted through libmtasts-dev.
printf '%s\n' "report_organization = deb test" \
    "report_contact = tlsrpt@deb.test" "report_submitter = deb.test" \
    >>"$R/etc/mtasts/test.conf"
cat >"$R/tmp/count.c" <<'EOC'
#include <stdio.h>
#include <mtasts.h>
int
main(void)
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	char err[MTASTS_ERRLEN];

	if (mtasts_config_load("/etc/mtasts/test.conf", &cfg, err,
	    sizeof(err)) != MTASTS_OK ||
	    mtasts_ctx_new(NULL, cfg, 0, &ctx, err, sizeof(err)) != MTASTS_OK ||
	    mtasts_tls_result(ctx, "enforce.test", "success",
	    "mx.enforce.test", "127.0.0.1", err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	return 0;
}
EOC
as_mtasts="setpriv --reuid=_mtasts --regid=_mtasts --init-groups"
today=$(date -u +%F)
rp=/var/lib/mtasts/reports
# send_as USER-CMD OUT: mtasts report send for today in the root, with
# the unit's umask.
send_as() {
	chroot "$R" sh -c "umask 0007; exec $1 /usr/bin/mtasts -c \
	    /etc/mtasts/test.conf report send --date $today" >"$2" 2>&1
}
logged "a TLS result counted as _mtasts" chroot "$R" sh -c \
    "cc -Wall -Werror -o /tmp/count /tmp/count.c \
    \$(pkg-config --cflags --libs mtasts) && $as_mtasts /tmp/count"
send_as "" "$T/send.root"
check "report send as root: a report and its state (root's)" sh -c \
    "ls '$R$rp' | grep -q 'enforce.test.*json.gz.state\$' &&
    [ \"\$(stat -c %u '$R$rp/.send.lock')\" = 0 ]"
logged "dpkg --root -i mtasts again (the upgrade's postinst)" \
    dpkg --root="$R" -i "$(deb mtasts)"
own=$(chroot "$R" find "$rp" ! -user _mtasts | tr '\n' ' ')
check "postinst gave root's reports, states, lock to _mtasts${own:+ (not: $own)}" \
    test -z "$own"
send_as "$as_mtasts" "$T/send.out"
rc=$?
check "report send as _mtasts after root: exit $rc, no permission error" \
    sh -c "[ $rc -le 1 ] && ! grep -Eqi 'permission|denied|cannot' \
    '$T/send.out'"
mv "$R$rp" "$R$rp.old"
send_as "$as_mtasts" "$T/send2.out"
st=$(chroot "$R" stat -c '%U:%G %a' "$rp" "$rp/.send.lock" | tr '\n' ' ')
check "as _mtasts from scratch: reports directory, lock (got $st)" \
    test "$st" = "_mtasts:_mtasts 2750 _mtasts:_mtasts 640 "
own=$(chroot "$R" find "$rp" -name '*enforce.test*' -user _mtasts | wc -l)
check "as _mtasts: the report and its state written ($own files)" \
    test "$own" = 2
rm -rf "$R$rp.old" "$R/tmp/count" "$R/tmp/count.c"

# mtasts-exim: Exim's user (made here as exim4-base's postinst would),
# the cache handed to its group.
in_root adduser --system --group --quiet --no-create-home \
    --allow-bad-names Debian-exim
logged "dpkg --root -i mtasts-exim (exim4-daemon-heavy forced)" \
    dpkg --root="$R" --force-depends -i "$(deb mtasts-exim)"
st=$(in_root stat -c '%G %a' "/var/lib/mtasts" "/var/lib/mtasts/policies.db" |
    tr '\n' ' ')
check "with mtasts-exim the cache's group is Debian-exim (got $st)" \
    test "$st" = "Debian-exim 2770 Debian-exim 660 "
query exim testing.test
[ "$qrc" = 0 ] && [ "$got" = "testing network" ] &&
    ok "as an Exim transport (Debian-exim, no groups): testing.test" ||
    not_ok "as an Exim transport (Debian-exim, no groups): testing.test" \
    "exit $qrc, got '$got'" "$(cat "$T/qerr")"
j=$(chroot "$R" setpriv --reuid=_mtasts --regid=_mtasts \
    --groups=Debian-exim /usr/bin/mtasts -c /etc/mtasts/test.conf \
    cache list --json 2>"$T/qerr")
case $j in
*enforce.test*testing.test* | *testing.test*enforce.test*)
	ok "the refresh's user (_mtasts + Debian-exim, the drop-in) reads it" ;;
*)	not_ok "the refresh's user (_mtasts + Debian-exim) reads it" \
	    "got: $j" "$(cat "$T/qerr")" ;;
esac
if command -v systemd-analyze >/dev/null 2>&1; then
	out=$(systemd-analyze verify --man=no --root="$R" \
	    mtasts-report.service mtasts-refresh.service 2>&1)
	check "with mtasts-exim: the drop-ins verify; report's adds Debian-exim" \
	    sh -c "[ -z '$out' ] && grep -qx 'SupplementaryGroups=Debian-exim' \
	    '$R/lib/systemd/system/mtasts-report.service.d/mtasts-report-exim.conf'"
fi
logged "dpkg --root -r mtasts-exim" dpkg --root="$R" -r mtasts-exim
st=$(in_root stat -c '%G' "/var/lib/mtasts" "/var/lib/mtasts/policies.db" |
    tr '\n' ' ')
check "removing mtasts-exim gives the cache back to _mtasts (got $st)" \
    test "$st" = "_mtasts _mtasts "

# mtasts-opensmtpd: the table exists before smtpd starts, smtpd's lookup
# process (another user, no groups) can read it and nothing else.
logged "dpkg --root -i mtasts-opensmtpd (opensmtpd forced)" \
    dpkg --root="$R" --force-depends -i "$(deb mtasts-opensmtpd)"
st=$(in_root stat -c '%U:%G %a' "/var/lib/mtasts/enforce.db" 2>&1)
check "empty enforce table _mtasts:_mtasts 0644 (got $st)" \
    test "$st" = "_mtasts:_mtasts 644"
check "another user (smtpd's lookup) reads the table" \
    chroot "$R" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    sh -c 'db5.3_dump /var/lib/mtasts/enforce.db >/dev/null'
check "... but not the cache" \
    chroot "$R" setpriv --reuid=nobody --regid=nogroup --clear-groups \
    sh -c '! test -r /var/lib/mtasts/policies.db'

# --- purge --------------------------------------------------------------
rm -f "$R/etc/mtasts/test.conf" "$R/etc/mtasts/test-ca.pem"
logged "dpkg --root --purge all five" dpkg --root="$R" --purge \
    mtasts-opensmtpd mtasts-exim mtasts libmtasts-dev libmtasts0
check "purge removed /var/lib/mtasts" test ! -e "$R/var/lib/mtasts"
check "purge removed the user and group _mtasts" \
    sh -c "! grep -q '^_mtasts:' '$R/etc/passwd' '$R/etc/group'"
check "purge removed /etc/mtasts" test ! -e "$R/etc/mtasts"
left=$(find "$T/upper" -name '*mtasts*' ! -type c)
check "purge left no mtasts file in /usr" test -z "$left"

echo "1..$n"
[ "$failed" -eq 0 ]
