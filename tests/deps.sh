#!/bin/sh
# Install the Debian packages named as arguments, if any is missing.
# Idempotent: apt is not touched when everything is there already.
#
# Some packages (nsd, nginx-light) would start a system service from
# their postinst.  The test fixture runs its own private instances and
# the machine's services must stay as they are, so while apt-get runs a
# /usr/sbin/policy-rc.d that exits 101 ("action forbidden") is put in
# place -- only if there is none already, and removed again afterwards.
set -eu
missing=""
for p in "$@"; do
	s=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'make deps' as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
prc=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$prc" ] && [ ! -L "$prc" ]; then
	ours=1
	trap 'rm -f "$prc"' EXIT
	trap 'exit 1' HUP INT TERM
	printf '#!/bin/sh\n# tests/deps.sh: no service starts during make deps\nexit 101\n' >"$prc"
	chmod 755 "$prc"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
# postfix-mta-sts-resolver is only the reference the socketmap tests and
# bench start themselves: its service must not start at boot either (it
# would take 127.0.0.1:8461).
case " $missing " in
*" postfix-mta-sts-resolver "*)
	systemctl disable postfix-mta-sts-resolver.service \
	    >/dev/null 2>&1 || true
	update-rc.d postfix-mta-sts-resolver disable >/dev/null 2>&1 || true
	;;
esac
if [ -n "$ours" ]; then
	rm -f "$prc"
	trap - EXIT
fi
