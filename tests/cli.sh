#!/bin/sh
# CLI contract of mtasts(1): exit codes, text and --json output.
# Usage: sh tests/cli.sh path/to/mtasts   (prints TAP)
set -u
M=${1:?usage: cli.sh MTASTS}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
failed=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

# expect DESC STATUS STDOUT -- ARGS...: exact exit status and stdout.
expect() {
	desc=$1 want_rc=$2 want_out=$3
	shift 4
	out=$("$M" "$@" 2>"$T/err")
	rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
		ok "$desc"
	else
		nok "$desc"
		echo "# args: $*"
		echo "# want $want_rc: $want_out"
		echo "# got  $rc: $out"
		sed 's/^/# stderr: /' "$T/err"
	fi
}

# expect_rc DESC STATUS PATTERN -- ARGS...: status, stdout+stderr grep.
expect_rc() {
	desc=$1 want_rc=$2 pat=$3
	shift 4
	"$M" "$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" = "$want_rc" ] && grep -q -- "$pat" "$T/out"; then
		ok "$desc"
	else
		nok "$desc"
		echo "# args: $*"
		echo "# want $want_rc and /$pat/, got $rc:"
		sed 's/^/#   /' "$T/out"
	fi
}

# --- lint record (RFC 8461 §3.1) -----------------------------------
expect "record: valid" 0 "valid id=20160831085700Z" -- \
    lint record 'v=STSv1; id=20160831085700Z;'
expect "record: json valid" 0 '{"valid":true,"id":"abc"}' -- \
    lint record --json 'v=STSv1; id=abc'
expect "record: D3 trailing WSP" 1 \
    "invalid: _mta-sts record: trailing whitespace without a final ';'" -- \
    lint record 'v=STSv1; id=abc '
expect_rc "record: json invalid" 1 '^{"valid":false,"error":"' -- \
    lint record --json 'v=STSv1; id=a-b'
expect "record: RRset with SPF" 0 "valid id=x1" -- \
    lint record 'v=spf1 -all' 'v=STSv1; id=x1'
expect_rc "record: two STS RRs (A1.8)" 1 'exactly one' -- \
    lint record 'v=STSv1; id=a' 'v=STSv1; id=b'
expect_rc "record: D2 discarded prefix" 1 'no record' -- \
    lint record 'v=STSv10; id=a'
expect "record: D4 first id wins" 0 "valid id=first" -- \
    lint record 'v=STSv1; id=first; id=second'
printf 'v=STSv1; id=a\000b' >"$T/nul.rr"
expect_rc "record: NUL byte in file" 1 'control byte' -- \
    lint record --file "$T/nul.rr"
printf 'v=STSv1; id=abc' >"$T/ok.rr"
printf 'v=spf1 -all' >"$T/spf.rr"
expect "record: --file RRset" 0 "valid id=abc" -- \
    lint record --file "$T/spf.rr" "$T/ok.rr"
printf 'v=STSv1; id=ab\r\n' >"$T/crlf.rr"
expect_rc "record: CR LF in file" 1 'control byte' -- \
    lint record --file "$T/crlf.rr"
printf 'v=STSv1; id=\303\251' >"$T/utf8.rr"
expect_rc "record: non-ASCII (A1.4)" 1 'non-ASCII' -- \
    lint record --file "$T/utf8.rr"
expect_rc "record: missing file" 2 'No such file' -- \
    lint record --file "$T/nonexistent"
expect_rc "record: no RR" 2 'usage' -- lint record
: >"$T/empty"
expect_rc "record: empty file" 1 'no record begins with' -- lint record --file "$T/empty"

# --- lint policy (RFC 8461 §3.2) -----------------------------------
printf 'version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n' >"$T/p1"
expect "policy: json valid" 0 \
    '{"valid":true,"mode":"enforce","max_age":604800,"mx":["mail.example.com","*.example.net"],"warnings":[]}' -- \
    lint policy --json "$T/p1"
expect "policy: text valid" 0 "valid
mode: enforce
max_age: 604800
mx: mail.example.com
mx: *.example.net" -- lint policy "$T/p1"
out=$("$M" lint policy - <"$T/p1")
[ "$out" = "$("$M" lint policy "$T/p1")" ] && ok "policy: stdin" || nok "policy: stdin"
printf 'version: STSv1\r\nmode: testing\r\nmx: a.example\r\nmax_age: 86400\r\n' >"$T/p2"
expect_rc "policy: CRLF (D1)" 0 'mode: testing' -- lint policy "$T/p2"
printf 'version: STSv1\nmode: testing\rmx: a.example\nmax_age: 86400\n' >"$T/p3"
expect "policy: bare CR (D1)" 1 \
    "invalid: policy: line 2: bare CR (lines end in LF or CRLF)" -- \
    lint policy "$T/p3"
printf 'version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 86400\n' >"$T/p4"
expect "policy: D5 duplicate warns" 0 \
    '{"valid":true,"mode":"enforce","max_age":86400,"mx":["a.example"],"warnings":["line 3: duplicate '"'mode'"' ignored (the first one wins)"]}' -- \
    lint policy --json "$T/p4"
printf 'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 86400\n\n' >"$T/p5"
expect_rc "policy: trailing blank line (D6)" 1 'line 5: empty line' -- \
    lint policy "$T/p5"
printf 'version: STSv1\nmode: enforce\nmx: a.example\nmax_age: +86400\n' >"$T/p6"
expect_rc "policy: max_age sign (D8)" 1 'line 4: max_age' -- \
    lint policy --json "$T/p6"
printf 'version: STSv1\nmode: enforce\nmx: mail.example.com.\nmax_age: 86400\n' >"$T/p7"
expect_rc "policy: mx trailing dot (D9)" 1 'line 3: mx: trailing dot' -- \
    lint policy "$T/p7"
printf 'version: STSv1\nMODE: enforce\nmx: a.example\nmax_age: 86400\n' >"$T/p8"
expect_rc "policy: case-sensitive names (D6)" 1 "no 'mode' field" -- \
    lint policy "$T/p8"
printf 'version: STSv1\nmode: none\nmax_age: 86400\n' >"$T/p9"
expect_rc "policy: none without mx (D7)" 0 'mode: none' -- lint policy "$T/p9"
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/big"
expect_rc "policy: 1 MiB line" 1 'more than the limit' -- lint policy "$T/big"
head -c 5000000 /dev/zero >"$T/huge"
expect_rc "policy: over 4 MiB" 2 'larger than' -- lint policy "$T/huge"
expect_rc "policy: directory" 2 'mtasts: ' -- lint policy "$T"
expect_rc "policy: two files" 2 'usage' -- lint policy "$T/p1" "$T/p2"
printf '\357\273\277version: STSv1\nmode: none\nmax_age: 1\n' >"$T/bom"
expect_rc "policy: BOM (D6)" 1 'byte order mark' -- lint policy "$T/bom"

# --- lint tlsrpt (RFC 8460 §3) -------------------------------------
expect "tlsrpt: valid" 0 "valid
rua: mailto:tlsrpt@example.com
rua: https://r.example.com/v1" -- \
    lint tlsrpt 'v=TLSRPTv1; rua=mailto:tlsrpt@example.com, https://r.example.com/v1'
expect "tlsrpt: json D22 skipped scheme" 0 \
    '{"valid":true,"rua":["mailto:a@example.com"],"warnings":["rua '"'http://r.example.com/'"' skipped: only mailto: and https: are supported (RFC 8460 §3)"]}' -- \
    lint tlsrpt --json 'v=TLSRPTv1;rua=http://r.example.com/,mailto:a@example.com'
expect_rc "tlsrpt: no usable URI (D22)" 1 'no usable rua' -- \
    lint tlsrpt 'v=TLSRPTv1; rua=http://r.example.com/'
expect_rc "tlsrpt: unencoded ! (D22)" 1 'must be %-encoded' -- \
    lint tlsrpt 'v=TLSRPTv1; rua=mailto:a!b@example.com'
expect "tlsrpt: D19 rua merged" 0 "valid
rua: mailto:a@example.com
rua: mailto:b@example.com" -- \
    lint tlsrpt 'v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com'
expect_rc "tlsrpt: two records" 1 'exactly one' -- \
    lint tlsrpt 'v=TLSRPTv1; rua=mailto:a@example.com' 'v=TLSRPTv1; rua=mailto:b@example.com'

# --- match (RFC 8461 §4.1) -----------------------------------------
expect "match: wildcard one label" 0 match -- match '*.example.com' mail.example.com
expect "match: wildcard two labels (D10)" 1 "no match" -- \
    match '*.example.com' a.b.example.com
expect "match: wildcard apex (D10)" 1 "no match" -- match '*.example.com' example.com
expect "match: case and trailing dot" 0 match -- match Mail.Example.COM mail.example.com.
expect "match: json" 0 '{"match":true}' -- match --json '*.example.com' MX.example.com
expect "match: json no match" 1 '{"match":false}' -- match --json a.example.com b.example.com
expect_rc "match: invalid pattern" 1 "invalid: mx: '\*' is allowed only" -- \
    match 'mx*.example.com' mx1.example.com
expect_rc "match: json invalid pattern" 1 '"error":"mx: ' -- \
    match --json 'mail.example.com.' mail.example.com
expect "match: U-label host" 0 match -- match 'mail.xn--bcher-kva.example' 'mail.bücher.example'
expect_rc "match: missing host" 2 'need PATTERN and HOST' -- match a.example

# --- match --cert (RFC 8461 §4.2, D11, D12) ------------------------
if command -v openssl >/dev/null 2>&1; then
	mk() { # mk NAME SUBJECT [SAN]
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 \
		    -subj "$2" ${3:+-addext "subjectAltName=$3"} 2>/dev/null
	}
	mk san /CN=ignored.example DNS:mx.example.com,DNS:*.example.net
	mk cn /CN=mx.example.com
	mk partial /CN=x DNS:mx*.example.com
	expect "cert: SAN exact" 0 match -- match --cert "$T/san.pem" mx.example.com
	expect "cert: SAN wildcard" 0 '{"match":true}' -- \
	    match --cert "$T/san.pem" --json a.example.net
	expect "cert: wildcard depth" 1 "no match" -- match --cert "$T/san.pem" a.b.example.net
	expect "cert: CN not used (D12)" 1 "no match" -- match --cert "$T/san.pem" ignored.example
	expect "cert: CN-only cert (D12)" 1 "no match" -- match --cert "$T/cn.pem" mx.example.com
	expect "cert: partial wildcard (D11)" 1 "no match" -- match --cert "$T/partial.pem" mx1.example.com
	expect_rc "cert: not a certificate" 2 'no PEM certificate' -- \
	    match --cert "$T/p1" mx.example.com
else
	nok "cert: openssl command missing (make deps installs it)"
fi

# --- check: usage only (tests/integration/check.sh has the network) --
printf 'resolver = 127.0.0.1:9\ncache_dir = %s/cache\n' "$T" >"$T/check.conf"
expect_rc "check help" 0 'mtasts .*check .*--port N.* DOMAIN' -- \
    -c "$T/check.conf" check --help
expect_rc "check: no DOMAIN" 2 'check needs one DOMAIN' -- \
    -c "$T/check.conf" check
expect_rc "check: two DOMAINs" 2 'check needs one DOMAIN' -- \
    -c "$T/check.conf" check a.example b.example
expect_rc "check: invalid DOMAIN" 2 'usage' -- \
    -c "$T/check.conf" check 'a_b!.example'
expect_rc "check: --port out of range" 2 '--port needs a number' -- \
    -c "$T/check.conf" check --port 65536 example.com
expect_rc "check: --port without a number" 2 '--port needs a number' -- \
    -c "$T/check.conf" check example.com --port
expect_rc "check: unknown option" 2 'unknown option --frob' -- \
    -c "$T/check.conf" check --frob example.com
expect_rc "help lists check" 0 'check \[--json\] \[--port N\] DOMAIN' -- --help

# --- metrics (tests/integration/metrics.sh has the fixture) ----------
mkdir -p "$T/cache"
expect_rc "metrics help" 0 'mtasts .*metrics \[--output FILE\]' -- \
    -c "$T/check.conf" metrics --help
expect_rc "metrics: an empty cache" 0 '^mtasts_cache_entries 0$' -- \
    -c "$T/check.conf" metrics
expect_rc "metrics: no argument allowed" 2 'usage' -- \
    -c "$T/check.conf" metrics extra
expect_rc "metrics: --output needs a file" 2 '--output needs a file' -- \
    -c "$T/check.conf" metrics --output
expect_rc "metrics: unknown option" 2 'unknown option --json2' -- \
    -c "$T/check.conf" metrics --json2
expect_rc "metrics: unwritable --output" 2 'mtasts: metrics: ' -- \
    -c "$T/check.conf" metrics --output "$T/none/m.prom"
expect "metrics --output: written, nothing on stdout" 0 "" -- \
    -c "$T/check.conf" metrics --output "$T/m.prom"
grep -q '^# TYPE mtasts_decisions_total counter$' "$T/m.prom" &&
    ok "metrics --output: the file holds the text" ||
    nok "metrics --output: the file holds the text"
expect_rc "refresh: --jitter out of range" 2 '--jitter needs seconds' -- \
    -c "$T/check.conf" refresh --jitter 86401 --all
expect_rc "help lists metrics" 0 'metrics \[--output FILE\]' -- --help

# --- help and version ----------------------------------------------
expect_rc "help" 0 'mtasts lint record' -- --help
expect_rc "lint help" 0 'mtasts lint policy' -- lint --help
expect_rc "match help" 0 'mtasts match --cert' -- match --help
expect_rc "version" 0 '^mtasts [0-9]' -- --version
expect_rc "no command" 2 'usage' --
expect_rc "unknown command" 2 "unknown command" -- frobnicate
expect_rc "unknown option" 2 "unknown option" -- lint record --frob x

echo "1..$n"
[ "$failed" -eq 0 ]
