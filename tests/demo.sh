#!/bin/sh
# make demo: a short tour of what mtasts checks, on local sample files.
# (The discovery/cache work turns this into a full end-to-end run.)
M=${1:-build/mtasts}
E=docs/examples
run() {
	printf '\n$ mtasts %s\n' "$*"
	"$M" "$@"
	printf '(exit %d)\n' $?
}
echo "== The _mta-sts TXT record (RFC 8461 §3.1)"
run lint record 'v=STSv1; id=20261124T000000;'
run lint record 'v=STSv1; id=2026-11-24'
run lint record 'v=spf1 -all' 'v=STSv1; id=a' 'v=STSv1 ; id=b'
echo
echo "== The policy file (RFC 8461 §3.2)"
cat "$E/good-policy.txt"
run lint policy --json "$E/good-policy.txt"
run lint policy "$E/bad-policy.txt"
echo
echo "== MX hosts against the policy's patterns (RFC 8461 §4.1)"
run match '*.backup.example.net' mx1.backup.example.net
run match '*.backup.example.net' a.mx1.backup.example.net
run match mail.example.com mail.example.com.evil.example
echo
echo "== The TLSRPT record (RFC 8460 §3)"
run lint tlsrpt 'v=TLSRPTv1; rua=mailto:tlsrpt@example.com,http://example.com/r'
