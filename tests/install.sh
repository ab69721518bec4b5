#!/bin/sh
# The build's promises: soname, only public symbols exported, make install
# with DESTDIR and PREFIX, a working pkg-config file, man pages that
# mandoc accepts.  Prints TAP.
set -u
B=${B:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { d=$1; shift; if "$@" >"$T/log" 2>&1; then ok "$d"; else nok "$d"; sed 's/^/# /' "$T/log"; fi; }

soname=$(objdump -p "$B/libmtasts.so.0" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libmtasts.so.0 ] && ok "soname libmtasts.so.0" || nok "soname is '$soname'"

other=$(nm -D --defined-only "$B/libmtasts.so.0" | awk '{ print $3 }' |
    sed 's/@.*//' | grep -v '^mtasts_' | grep -v '^MTASTS_0$')
[ -z "$other" ] && ok "only mtasts_* symbols exported" ||
    nok "exported non-API symbols: $other"
nm -D --defined-only "$B/libmtasts.so.0" | grep -q ' mtasts_policy_parse@@MTASTS_0$' &&
    ok "mtasts_policy_parse exported" || nok "mtasts_policy_parse not exported"

# The static library too: internals are local, only the API is global.
other=$(nm -g --defined-only "$B/pub/libmtasts.a" | awk 'NF == 3 { print $3 }' |
    grep -v '^mtasts_')
[ -z "$other" ] && ok "static library: only mtasts_* globals" ||
    nok "static library defines non-API globals: $(echo $other)"

# Layering: the CLI and the adapters compile against include/ alone, so
# one that includes a core header fails to build; the core sees core/.
for o in cli/main.o opensmtpd-filter/rcpt.o opensmtpd-filter/table/main.o \
    socketmap/conn.o tlsrptd/main.o exim/mtasts.so; do
	if make -n -B V=1 "$B/$o" 2>/dev/null | grep -- ' -c \| -shared ' |
	    grep -q -- '-Icore'; then
		nok "$o is compiled with the core's headers on its path"
	else
		ok "$o is compiled without the core's headers"
	fi
done
make -n -B V=1 "$B/core/policy.o" 2>/dev/null | grep -q -- '-Icore' &&
    ok "core/policy.o sees core/" || nok "core/policy.o lacks -Icore"

check "make install DESTDIR PREFIX" make -s install DESTDIR="$T/root" PREFIX=/opt/mt
R="$T/root/opt/mt"
for f in bin/mtasts lib/libmtasts.a lib/libmtasts.so.0 lib/libmtasts.so \
    include/mtasts.h lib/pkgconfig/mtasts.pc share/man/man1/mtasts.1 \
    share/man/man5/mtasts.conf.5 share/man/man8/mtasts-exim.8 \
    share/man/man8/filter-mtasts.8 lib/exim4/mtasts.so \
    share/man/man8/table-mtasts.8 libexec/mtasts/filter-mtasts \
    libexec/opensmtpd/table-mtasts lib/systemd/system/mtasts-report.service \
    lib/systemd/system/mtasts-report.timer sbin/mtasts-socketmap \
    share/man/man8/mtasts-socketmap.8 share/man/man3/libmtasts.3 \
    lib/systemd/system/mtasts-socketmap.service sbin/mtasts-tlsrptd \
    share/man/man8/mtasts-tlsrptd.8 \
    lib/systemd/system/mtasts-tlsrptd.service; do
	[ -e "$R/$f" ] && ok "installed $f" || nok "missing $f"
done
grep -q '^ExecStart=/opt/mt/bin/mtasts report send$' \
    "$R/lib/systemd/system/mtasts-report.service" &&
    ok "mtasts-report.service runs the installed mtasts" ||
    nok "mtasts-report.service ExecStart"
grep -q '^prefix=/opt/mt$' "$R/lib/pkgconfig/mtasts.pc" &&
    ok "mtasts.pc prefix" || nok "mtasts.pc prefix"

# A program built only from the installed header, pkg-config and library.
cat >"$T/use.c" <<'EOC'
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
flags=$(PKG_CONFIG_SYSROOT_DIR="$T/root" PKG_CONFIG_PATH="$R/lib/pkgconfig" \
    pkg-config --cflags --libs mtasts)
check "link against installed libmtasts.so" \
    cc -std=c11 -Wall -Werror "$T/use.c" -o "$T/use" $flags
check "run against installed libmtasts.so" env LD_LIBRARY_PATH="$R/lib" "$T/use"
check "link statically against installed libmtasts.a" \
    cc -std=c11 -Wall -Werror "$T/use.c" -o "$T/use-static" -I"$R/include" \
    "$R/lib/libmtasts.a" $(pkg-config --libs openssl libidn2 libcares hiredis \
    libevent libcurl) -ldb
check "run the statically linked program" "$T/use-static"
nm -g --defined-only "$R/lib/libmtasts.a" | grep -q ' cache_get$' &&
    nok "installed libmtasts.a defines cache_get" ||
    ok "installed libmtasts.a does not define cache_get"
check "installed mtasts runs" "$R/bin/mtasts" --version

# The examples of libmtasts(3), as shipped in docs/examples/: the page
# shows each one whole (its literal blocks, \e unescaped, are the files),
# each builds from the installed header, pkg-config and library alone,
# and each runs.  The decision examples ask a dead resolver (nothing
# listens on 127.0.0.1:9), so they answer at once: no policy.
awk -v d="$T" '/^\.Sh EXAMPLES/ { ex = 1 } /^\.Sh SEE ALSO/ { ex = 0 }
    ex && /^\.Ed/ { inb = 0 } ex && inb { print > (d "/block." n) }
    ex && /^\.Bd -literal/ { inb = 1; n++ }' docs/libmtasts.3
evflags=$(pkg-config --cflags --libs libevent)
for e in docs/examples/libmtasts-*.c; do
	x=$(basename "$e" .c)
	shown=no
	for b in "$T"/block.*; do
		sed 's/\\e/\\/g' "$b" | cmp -s - "$e" && shown=yes
	done
	[ "$shown" = yes ] && ok "libmtasts(3) shows $x.c as shipped" ||
	    nok "libmtasts(3) does not show $x.c as shipped"
	check "$x.c builds against the installed library" \
	    cc -std=c11 -Wall -Wextra -Werror "$e" -o "$T/$x" $flags $evflags
done
run() { env LD_LIBRARY_PATH="$R/lib" MTASTS_CONF="$T/ex.conf" "$@"; }
printf 'resolver = 127.0.0.1:9\ndns_timeout = 2s\ncache_dir = %s/excache\n' \
    "$T" >"$T/ex.conf"
out=$(run "$T/libmtasts-parse" mail.example.com MAIL.Example.COM. \
    a.backup.example.net)
rc=$?
[ $rc -eq 0 ] && [ "$out" = "mode enforce, max_age 604800
mx mail.example.com
mx *.backup.example.net
mail.example.com: allowed
MAIL.Example.COM.: allowed
a.backup.example.net: allowed" ] && ok "libmtasts-parse: policy parsed, MX hosts allowed" ||
    { nok "libmtasts-parse: exit $rc"; echo "$out" | sed 's/^/# /'; }
out=$(run "$T/libmtasts-parse" x.a.backup.example.net backup.example.net)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -qx 'x.a.backup.example.net: not allowed' &&
    echo "$out" | grep -qx 'backup.example.net: not allowed' &&
    ok "libmtasts-parse: *. matches one label only (D10)" ||
    { nok "libmtasts-parse: exit $rc"; echo "$out" | sed 's/^/# /'; }
out=$(run timeout 20 "$T/libmtasts-wait" example.com 2>&1)
rc=$?
[ $rc -eq 0 ] && echo "$out" | grep -qx 'example.com: no-policy' &&
    ok "libmtasts-wait: no resolver, no cached policy: no policy" ||
    { nok "libmtasts-wait: exit $rc"; echo "$out" | sed 's/^/# /'; }
out=$(run timeout 20 "$T/libmtasts-async" example.com mail.example.com 2>&1)
rc=$?
[ $rc -eq 0 ] &&
    echo "$out" | grep -qx 'example.com: no-policy: deliver as usual' &&
    ok "libmtasts-async: the callback runs on the caller's loop" ||
    { nok "libmtasts-async: exit $rc"; echo "$out" | sed 's/^/# /'; }
out=$(run timeout 20 "$T/libmtasts-wait" 'not a domain' 2>&1)
rc=$?
[ $rc -eq 65 ] && ok "libmtasts-wait: a bad domain is an error, no result" ||
    { nok "libmtasts-wait: bad domain: exit $rc"; echo "$out" | sed 's/^/# /'; }

for m in docs/*.[1-8]; do
	[ -f "$m" ] || continue
	check "mandoc -T lint $m" mandoc -T lint -W warning "$m"
done
echo "1..$n"
[ "$failed" -eq 0 ]
