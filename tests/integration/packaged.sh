#!/bin/sh
# tests/integration/packaged.sh BUILDDIR
#
# The Debian packages enforce MTA-STS in the real MTAs (docs/install.md):
# the files of mtasts-exim and mtasts-opensmtpd (BUILDDIR/deb, made by
# "make deb" or deb.sh before this), unpacked with dpkg -x, run in
# Debian's Exim (the module) and OpenSMTPD (filter and table, MX
# pinning) -- 4.96 and 6.8 on Debian 12, 4.98 and 7.6 on 13 -- against
# the fixture and the Exim receivers.  The build tree's programs are
# not used.  TAP.
set -u
B=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
S=$(pwd)/$B/fixture-packaged
R=$S/root

. "$here/tap.sh"
. "$here/smtpd/lib.sh"

if ! ls "$B"/deb/mtasts-exim_*.deb >/dev/null 2>&1; then
	make -s --no-print-directory deb-build B="$B" >"$S.deb.log" 2>&1 || {
		echo "Bail out! make deb-build failed: $(tail -n 2 "$S.deb.log")"
		exit 1
	}
fi
rm -rf "$R"
mkdir -p "$R"
for p in mtasts-exim mtasts-opensmtpd; do
	dpkg -x "$(ls "$B"/deb/${p}_*.deb | tail -n 1)" "$R" || {
		echo "Bail out! dpkg -x $p failed"
		exit 1
	}
done
SO=$R/usr/lib/exim4/mtasts.so
F=$R/usr/libexec/mtasts/filter-mtasts
T=$R/usr/libexec/opensmtpd/table-mtasts
chmod 755 "$S" "$R"	# Exim and smtpd run as their own users
check "mtasts-exim ships the module" test -f "$SO"
check "mtasts-opensmtpd ships the filter and the table backend" \
    test -x "$F" -a -x "$T"

for s in smtpd/setup exim/setup; do
	sh "$here/$s" "$B" >"$S.setup.log" 2>&1 || {
		echo "Bail out! tests/$s failed: $(tail -n 2 "$S.setup.log")"
		exit 1
	}
done
sh "$here/fixture/start" "$S" >"$S.start.log" 2>&1 || {
	echo "Bail out! fixture did not start: $(tail -n 2 "$S.start.log")"
	exit 1
}
trap 'sh "$here/smtpd/stop" "$S" >/dev/null 2>&1;
    sh "$here/exim/stop" "$S" >/dev/null 2>&1;
    sh "$here/fixture/stop" "$S" >/dev/null 2>&1' EXIT
trap 'exit 1' HUP INT TERM
MTASTS_SO=$SO sh "$here/exim/start" "$B" "$S" >"$S.exim.log" 2>&1 || {
	echo "Bail out! exim harness did not start: $(tail -n 2 "$S.exim.log")"
	exit 1
}
. "$S/env"
. "$S/exim/env"
X="$EXIM_SENDER -DHARNESS_MTASTS"
run=$$
got() { grep -rqs -- "$2" "$1/Maildir/new"; }

echo "# Exim ${EXIM_VERSION:-} with the packaged module"
check "the harness loads the packaged module" test "$EXIM_MODULE_SO" = "$SO"
for d in exgood exbadcert; do
	printf 'Subject: packaged\n\nPKG-%s-%s\n' "$d" "$run" |
	    $X -odi -f a@harness.test -- "u@$d.test" 2>>"$S/exim-stderr.log"
done
check "exgood: delivered over verified TLS by the mtasts router" \
    grep -q "=> u@exgood.test .*R=mtasts_enforce T=mtasts_smtp .*CV=yes" \
    "$EXIM_SENDER_LOG"
check "exgood: stored by the good receiver" \
    got "$EXIM_RCV_GOOD_DIR" "PKG-exgood-$run"
check "exbadcert: deferred, still queued, nothing stored" sh -c \
    "$X -bp 2>/dev/null | grep -q u@exbadcert.test &&
    ! grep -rqs PKG-exbadcert-$run '$EXIM_RCV_WRONGNAME_DIR/Maildir/new'"

echo "# OpenSMTPD with the packaged filter and table (MX pinning)"
if ! TIER=B FILTER=$F TABLE=$T sh "$here/smtpd/start" "$B" "$S" \
    >"$S.smtpd.log" 2>&1; then
	echo "Bail out! smtpd harness did not start: $(tail -n 2 "$S.smtpd.log")"
	exit 1
fi
. "$S/smtpd/env"
for d in exmixed exbadcert; do
	swaks --server "$SMTPD_IP" --from a@harness.test --to "u@$d.test" \
	    --body "PKGS-$d-$run" --timeout 30 >"$S/swaks-$d.out" 2>&1
done
pinned() { grep -q "table-mtasts\[mtasts\]: exmixed.test: relay via smtp+tls://mx2.exmixed.test" "$SMTPD_LOG"; }
check "exmixed: the packaged table pinned the MX the policy allows" \
    waitfor 150 pinned
check "exmixed: stored by the good receiver (mx2), never by mx1" sh -c \
    "i=0; while [ \$i -lt 150 ]; do
    grep -rqs PKGS-exmixed-$run '$EXIM_RCV_GOOD_DIR/Maildir/new' && break
    i=\$((i + 1)); sleep 0.1; done
    grep -rqs PKGS-exmixed-$run '$EXIM_RCV_GOOD_DIR/Maildir/new' &&
    ! grep -q '^EHLO' '$EXIM_RCV_NEVER_CAPTURE'"
# smtpd's log line for the wrong name depends on its version.
badcert() {
	sm_log_badname "$SMTPD_LOG" mx.exbadcert.test &&
	    grep -rqs u@exbadcert.test "$SMTPD_DIR/spool/smtpd/queue"
}
check "exbadcert: refused for its certificate, still queued" \
    waitfor 600 badcert

echo "1..$n"
echo "# $((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
