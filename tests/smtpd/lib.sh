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
