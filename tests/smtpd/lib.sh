# tests/smtpd/lib.sh - shared by tests/smtpd/{start,stop} and tests that
# use the smtpd harness.  Sourced, never run.  POSIX sh.  Needs
# tests/fixture/lib.sh sourced first (fx_alive, fx_wait_gone, die).

SM_IP=127.0.6.1		# where the sending smtpd listens, port 25
SM_DEADLINE=10		# filter-mtasts -d: seconds per rcpt-to

# sm_queued DIR ADDR: an envelope for ADDR is in the queue of the smtpd
# whose harness directory is DIR (envelopes are plain text files).
sm_queued() {
	grep -rqs -F -- "$2" "$1/spool/smtpd/queue" 2>/dev/null
}

# sm_queue_count DIR: envelopes in the queue.
sm_queue_count() {
	find "$1/spool/smtpd/queue" -path '*/envelopes/*' -type f 2>/dev/null |
	    wc -l | tr -d ' '
}

# What smtpd logs about the certificate depends on its version
# (SMTPD_VERSION, Debian's, from tests/smtpd/start): 6.8 checks it
# itself after an OpenSSL handshake, 7.x lets libtls check it during
# the handshake (issue 18).
# sm_log_verified LOG: a session went out over a verified certificate.
sm_log_verified() {
	case ${SMTPD_VERSION:-6.8} in
	6.*) grep -q 'server-cert-check result="success"' "$1" ;;
	*) grep -q 'mta cert-check result="valid"' "$1" ;;
	esac
}
# sm_log_badname LOG NAME: a certificate refused for not naming NAME.
sm_log_badname() {
	case ${SMTPD_VERSION:-6.8} in
	6.*) grep -q "ssl_check_name: no match for '$2'" "$1" ;;
	*) grep -q "name .$2. not present in server certificate" "$1" ;;
	esac
}
