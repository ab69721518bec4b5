#!/bin/sh
# tests/trixie/root.sh [BUILDDIR]
#
# Debian 13 ("trixie") for the build and every test (issue 18).  The
# machines run Debian 12, so a minimal trixie root is made with
# mmdebstrap from the Debian archive this machine already uses (the
# first URIs of /etc/apt/sources.list*), and cached under
# /var/cache/mtasts-trixie/root-HASH, HASH naming the mirror and the
# package list: a root is made again only when missing or when that list
# changed, and older ones are removed.  The cache is not under BUILDDIR
# on purpose: the root is 0.8 GB and a minute or more of downloading,
# the same for every clone and worktree on the machine, and "make
# clean" or a fresh clone would throw it away; /var/cache is where
# Debian keeps such data (FHS: removable, rebuilt on demand), and the
# hash keeps it from going stale.  MTASTS_TRIXIE_CACHE=DIR (e.g.
# build/trixie) puts it elsewhere.  Then a copy of the tree (not its
# build directories) is built there with trixie's GCC and libraries
# (-Werror: warning-free), its unit tests (plain and ASan+UBSan) and
# fuzz-corpus replays run, and its Debian packages are built and checked
# by trixie's lintian, chrooted in a private mount namespace: the
# cached root lies under an overlay whose writes land in a tmpfs, so the
# cache stays pristine and every mount vanishes with the namespace,
# whatever way this script ends.  Also checked while the root is made:
# every package "make deps" asks for exists on Debian 13.  Last, the
# real-MTA suites of tests/integration run inside the root (below).
#
# MTASTS_TRIXIE_SUITES="postfix dane" runs only those suites;
# MTASTS_TRIXIE_QUICK=1 also skips the unit tests, corpus replays and
# package build (the edit loop on one suite; make check never sets it).
#
# TAP on stdout, with the time each step took.  Needs root and
# mmdebstrap (make deps installs it).  tests/run.sh (make check) runs
# it after the Debian 12 suites.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${MTASTS_TRIXIE_CACHE:-/var/cache/mtasts-trixie}
SUITE=trixie
ROOT_SECS=1500		# making the root (download and unpack)
RUN_SECS=2400		# the build and the tests inside it
# What the build, the unit tests and the packages need; build-essential
# brings GCC, db5.3-util the db5.3_verify test_cache runs.
PKGS="build-essential pkg-config libssl-dev libidn2-dev libc-ares-dev
libcurl4-openssl-dev libevent-dev libdb5.3-dev db5.3-util libjansson-dev
libcmocka-dev zlib1g-dev exim4-dev debhelper dpkg-dev fakeroot lintian
mount procps iproute2 openssl nsd nginx-light bind9-dnsutils
netcat-openbsd curl jq socat swaks ca-certificates libhiredis-dev redis-server
unbound ldnsutils libtlsrpt0-dev"
# The MTAs themselves conflict with each other (one mail-transport-agent
# per system): the harnesses (tests/exim, tests/smtpd, tests/postfix)
# run them from "dpkg -x" trees, and the root gets the libraries they
# link.  Their .deb files are kept under $CACHE/debs.
MTAS="opensmtpd exim4-daemon-heavy postfix"

if [ -z "${MTASTS_TRIXIE_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "Bail out! needs root"; exit 1; }
	MTASTS_TRIXIE_NS=1 exec unshare --mount --propagation private \
	    sh "$0" "$@"
fi
. "$here/tests/tap.sh"
now() { date +%s; }

if ! command -v mmdebstrap >/dev/null 2>&1; then
	skip "mmdebstrap absent (make deps installs it)"
	tap_end
	exit 0
fi

# The first Debian mirror apt uses here, deb822 or one-line style.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security |
    head -n 1)
[ -n "$mirror" ] || mirror=$(sed -n \
    's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\(http[^[:space:]]*\).*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v security | head -n 1)
[ -n "$mirror" ] || { echo "Bail out! no Debian mirror in sources.list*"; exit 1; }

# Every package make deps installs, to be found on Debian 13.
deps=$(make -s -C "$here" -pn 2>/dev/null |
    sed -n 's/^DEB_PKGS[[:space:]]*:*=[[:space:]]*//p' | tail -n 1)

key=$(printf '%s\n' 2 "$SUITE" "$mirror" $PKGS -- $MTAS -- $deps | sha256sum |
    cut -c1-16)
R0=$CACHE/root-$key
T=$(mktemp -d /tmp/mtasts-trixie.XXXXXX)
# Processes left in the root (a harness killed mid-way): ours, ended
# before their mounts go.
root_procs() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$T/root" ] &&
		    echo "${p#/proc/}"
	done
}
cleanup() {
	pids=$(root_procs)
	[ -z "$pids" ] || { kill $pids; sleep 1; kill -9 $(root_procs) \
	    2>/dev/null; }
	umount -R "$T" 2>/dev/null
	rmdir "$T" 2>/dev/null
	[ -n "${new:-}" ] && rm -rf "$new"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- the root, from the cache or made now ------------------------------
t0=$(now)
if [ -f "$R0/.mtasts-complete" ]; then
	ok "trixie root from the cache ($R0)"
else
	# Without the archive there is no root: say so, loudly, and skip.
	if ! curl -fsS --max-time 30 -o /dev/null \
	    "$mirror/dists/$SUITE/InRelease" 2>"$T.curl"; then
		skip "Debian 13 suites NOT RUN: no cached root and the archive \
$mirror is unreachable ($(head -n 1 "$T.curl"))"
		rm -f "$T.curl"
		tap_end
		exit 0
	fi
	rm -f "$T.curl"
	mkdir -p "$CACHE"
	new=$CACHE/new-$key.$$
	rm -rf "$new"
	# Run in the new root before mmdebstrap's cleanup.  The package
	# lists stay: the harnesses "apt-get download" the MTAs (once, see
	# $CACHE/debs).  The root gets the libraries the MTAs link: what
	# their Depends name lib*.
	cat >"$T.hook" <<-EOF
	chroot "\$1" apt-get install --simulate $deps >"\$1/var/tmp/deps.log" 2>&1
	echo \$? >"\$1/var/tmp/deps.rc"
	libs=\$(chroot "\$1" apt-cache depends --no-recommends --no-suggests \\
	    --no-conflicts --no-breaks --no-replaces --no-enhances $MTAS |
	    sed -n 's/^ *Depends: \\(lib[^<>]*\\)\$/\\1/p' | sort -u)
	chroot "\$1" apt-get install -y --no-install-recommends \$libs
	EOF
	if timeout "$ROOT_SECS" mmdebstrap --variant=minbase \
	    --skip=cleanup/apt/lists \
	    --include="$(echo $PKGS | tr ' ' ,)" \
	    --customize-hook="sh $T.hook \"\$1\"" \
	    "$SUITE" "$new" "deb $mirror $SUITE main" \
	    "deb $mirror $SUITE-updates main" >"$T.mmdebstrap.log" 2>&1; then
		touch "$new/.mtasts-complete"
		for o in "$CACHE"/root-* "$CACHE"/debs-*; do
			[ "$o" != "$R0" ] && [ "$o" != "$CACHE/debs-$key" ] &&
			    [ -d "$o" ] && rm -rf "$o"
		done
		rm -rf "$R0"
		mv "$new" "$R0"
		new=""
		ok "trixie root made with mmdebstrap from $mirror ($(du -sh \
		    "$R0" | cut -f1))"
	else
		not_ok "trixie root made with mmdebstrap from $mirror" \
		    "$(tail -n 15 "$T.mmdebstrap.log")"
		rm -f "$T.mmdebstrap.log" "$T.hook"
		tap_end
		exit 1
	fi
	rm -f "$T.mmdebstrap.log" "$T.hook"
fi
echo "# root: $(($(now) - t0)) s"
if [ "$(cat "$R0/var/tmp/deps.rc" 2>/dev/null)" = 0 ]; then
	ok "make deps: every package exists on Debian 13"
else
	not_ok "make deps: every package exists on Debian 13" \
	    "$(grep -E '^E:' "$R0/var/tmp/deps.log" | head -n 5)"
fi

# --- a scratch copy of it, and of the tree ------------------------------
R=$T/root
mount -t tmpfs -o mode=755 tmpfs "$T" &&
    mkdir -p "$T/upper" "$T/work" "$R" &&
    mount -t overlay overlay \
    -o "lowerdir=$R0,upperdir=$T/upper,workdir=$T/work" "$R" &&
    mount -t proc proc "$R/proc" && mount --bind /dev "$R/dev" &&
    mount -t sysfs sysfs "$R/sys" &&
    mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" ||
    { echo "Bail out! cannot mount the scratch root"; exit 1; }
mkdir -p "$R/src"
# apt-get download (the MTA harnesses) resolves the archive's name.
cp /etc/resolv.conf /etc/hosts "$R/etc/" 2>/dev/null
tar -C "$here" -c --exclude-vcs --exclude=./build --exclude='./build-*' \
    --exclude="./$B" --exclude=./debian/build . | tar -C "$R/src" -x
in_root() { chroot "$R" env -i PATH=/usr/bin:/usr/sbin:/bin:/sbin \
    HOME=/root LANG=C.UTF-8 "$@"; }
echo "# $(in_root gcc --version | head -n 1)"
echo "# c-ares $(in_root pkg-config --modversion libcares)," \
    "libcurl $(in_root pkg-config --modversion libcurl)," \
    "OpenSSL $(in_root pkg-config --modversion openssl)"

# --- build -------------------------------------------------------------
units=$(cd "$here" && ls tests/unit/test_*.c | sed 's|.*/\(.*\)\.c$|\1|')
fuzz=$(cd "$here" && ls tests/fuzz/fuzz_*.c | sed 's|.*/fuzz_\(.*\)\.c$|\1|')
# MTASTS_TRIXIE_QUICK=1, for the edit loop on one suite: no unit tests,
# no corpus replays, only what the MTA suites run.
if [ -n "${MTASTS_TRIXIE_QUICK:-}" ]; then
	units=""
	fuzz=""
fi
targets="all build/asan/mtasts build/tests/tlsrec"	# tlsrec: fleet.sh
[ -n "${MTASTS_TRIXIE_QUICK:-}" ] ||
    targets="$targets build/asan/tests/test_alloc_fail"
# The ASan+UBSan programs the MTA suites run.
targets="$targets build/asan/filter-mtasts build/asan/table-mtasts"
targets="$targets build/asan/mtasts-socketmap build/asan/mtasts-tlsrptd"
# tlsrptd.sh's senders: byte for byte as libtlsrpt, and libtlsrpt itself.
targets="$targets build/tests/tlsrptsend build/tests/tlsrptreal"
targets="$targets build/tests/lockhold"
for u in $units; do
	targets="$targets build/tests/$u build/asan/tests/$u"
done
for f in $fuzz; do targets="$targets build/asan/replay_$f"; done
t0=$(now)
if timeout "$RUN_SECS" chroot "$R" sh -c "cd /src && make -j2 B=build \
    $targets" >"$T/build.log" 2>&1; then
	ok "make (-Werror) with trixie's compiler and libraries: library, \
CLI, module, filter, table, socketmap, tests"
else
	not_ok "make (-Werror) with trixie's compiler and libraries" \
	    "$(grep -E 'error|warning' "$T/build.log" | head -n 20)" \
	    "$(tail -n 5 "$T/build.log")"
fi
echo "# build: $(($(now) - t0)) s"

# --- unit tests and corpus replays --------------------------------------
t0=$(now)
# run DESC CMD...: one TAP line for a whole test program.
run() {
	d=$1
	shift
	if timeout 600 chroot "$R" sh -c "cd /src && $*" >"$T/run.log" 2>&1
	then
		ok "$d"
	else
		not_ok "$d" "$(grep -E 'not ok|ERROR|FAILED|Sanitizer' \
		    "$T/run.log" | head -n 10)"
	fi
}
for u in $units; do
	run "unit: $u" "build/tests/$u"
	run "unit (asan+ubsan): $u" \
	    "ASAN_OPTIONS=detect_leaks=1 build/asan/tests/$u"
done
[ -n "${MTASTS_TRIXIE_QUICK:-}" ] ||
    run "unit (asan+ubsan): test_alloc_fail" build/asan/tests/test_alloc_fail
for f in $fuzz; do
	run "fuzz replay: $f" "build/asan/replay_$f tests/fuzz/corpus/$f"
done
echo "# tests: $(($(now) - t0)) s"

# --- the Debian packages, with trixie's debhelper and lintian ----------
# The suites run below (tests/integration/NAME.sh).  deb.sh and
# packaged.sh install, use and purge the packages built for 13 in 13,
# as they do for 12 on 12; deb.sh builds them and runs lintian, so the
# packages are built here only when it does not run.
MTA_SUITES=${MTASTS_TRIXIE_SUITES:-"smtpd smtpd-pin exim exim-cache tlsrpt
fleet postfix postfix310 dane tlsrptd deb packaged"}
case " $MTA_SUITES ${MTASTS_TRIXIE_QUICK:+quick} " in
*" deb "*|*" quick "*) ;;
*)
	t0=$(now)
	if timeout "$RUN_SECS" chroot "$R" sh -c "cd /src && make deb-build \
	    B=build" >"$T/deb.log" 2>&1; then
		ok "make deb-build on Debian 13: $(cd "$R/src/build/deb" &&
		    echo *.deb | wc -w) packages"
		in_root lintian --allow-root /src/build/deb/src/mtasts_*.changes \
		    >"$T/lintian" 2>&1
		grep -E '^[EW]: ' "$T/lintian" | sed 's/^/# lintian /'
		check "lintian (Debian 13): no errors" \
		    test -z "$(grep '^E: ' "$T/lintian")"
		check "lintian (Debian 13): no aliased-location" \
		    test -z "$(grep 'aliased-location' "$T/lintian")"
	else
		not_ok "make deb-build on Debian 13" "$(tail -n 15 "$T/deb.log")"
	fi
	echo "# packages: $(($(now) - t0)) s"
	;;
esac

# --- the real MTAs of Debian 13 ------------------------------------------
# The harnesses and suites of Debian 12 (tests/exim, tests/smtpd,
# tests/postfix, tests/integration) run unchanged inside the root
# against trixie's MTAs unpacked with dpkg -x: Exim 4.98, OpenSMTPD 7.6,
# Postfix 3.10.  The .deb files the harnesses download are kept in
# $CACHE/debs-KEY, with the root they belong to; they are fetched first,
# while the archive can be reached.  Each suite then runs in a network
# namespace of its own, so its fixed loopback addresses never meet
# anything else on this machine (the Debian 12 suites included).  There
# lo gets a second address: with 127.0.0.1 alone, getaddrinfo's
# AI_ADDRCONFIG sees no IPv4 and smtpd cannot resolve its relay hosts.
for m in exim smtpd postfix; do
	mkdir -p "$CACHE/debs-$key/$m" "$R/src/build/$m/debs" &&
	    mount --bind "$CACHE/debs-$key/$m" "$R/src/build/$m/debs" ||
	    { echo "Bail out! cannot mount $CACHE/debs-$key/$m"; exit 1; }
	if timeout 600 chroot "$R" sh -c "cd /src && sh tests/$m/setup build" \
	    >"$T/setup.log" 2>&1; then
		ok "$m harness set up: $(tail -n 1 "$T/setup.log" |
		    sed 's/ in \/.*//')"
	else
		not_ok "$m harness set up" "$(tail -n 5 "$T/setup.log")"
	fi
done
# suite NAME: tests/integration/NAME.sh in the root; its results are
# ours, named "13 NAME: ...".
suite() {
	t0=$(now)
	timeout 900 unshare --net sh -c 'ip link set lo up &&
	    ip addr add 127.0.0.2/8 dev lo && exec "$@"' suite \
	    chroot "$R" env -i PATH=/usr/bin:/usr/sbin:/bin:/sbin \
	    HOME=/root LANG=C.UTF-8 sh -c "cd /src && sh \
	    tests/integration/$1.sh build" >"$T/suite.log" 2>&1
	rc=$?
	f0=$failed
	while IFS= read -r l; do
		case $l in
		"ok "*"# SKIP"*) skip "13 $1: ${l#*# SKIP }" ;;
		"ok "*) ok "13 $1: ${l#ok * - }" ;;
		"not ok "*) not_ok "13 $1: ${l#not ok * - }" ;;
		"Bail out!"*) not_ok "13 $1: $l" ;;
		"1.."*) ;;
		"#"*) echo "$l" ;;
		esac
	done <"$T/suite.log"
	[ "$rc" -eq 0 ] || [ "$failed" -gt "$f0" ] ||
	    not_ok "13 $1: exited with status $rc" "$(tail -n 5 "$T/suite.log")"
	echo "# $1 on Debian 13: $(($(now) - t0)) s"
}
for m in $MTA_SUITES; do
	suite "$m"
done
tap_end
