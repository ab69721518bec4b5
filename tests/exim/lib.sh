# tests/exim/lib.sh - shared by tests/exim/{start,stop,selftest} and by
# tests that use the Exim harness.  Sourced, never run.  POSIX sh.
# Needs tests/fixture/lib.sh sourced first (addresses, fx_alive, ...).

EX_PORT=2525		# where each receiving Exim listens (socat: port 25)
EX_SENDER_IP=127.0.5.1	# the sender's source address (smtp interface)
# The receivers, by name: (a) good (b) wrongname (c) selfsigned
# (d) notls (e) never.
EX_RCVS="good wrongname selfsigned notls never"

# ex_rcv NAME: set RIP (address) and RCERT (fixture certificate name
# under STATEDIR/ca, "" for none) for receiver NAME.
ex_rcv() {
	case $1 in
	good)		RIP=$FX_RCV_GOOD RCERT=mx-good ;;
	wrongname)	RIP=$FX_RCV_WRONGNAME RCERT=mx-wrongname ;;
	selfsigned)	RIP=$FX_RCV_SELFSIGNED RCERT=mx-selfsigned ;;
	notls)		RIP=$FX_RCV_NOTLS RCERT="" ;;
	never)		RIP=$FX_RCV_NEVER RCERT=mx-never ;;
	*)		return 1 ;;
	esac
}

# ex_smtp_banner IP [PORT]: a 220 greeting comes from IP:PORT (default
# 25) within 3 s; the probe says QUIT.
ex_smtp_banner() {
	printf 'QUIT\r\n' | nc -w 3 "$1" "${2:-25}" 2>/dev/null | grep -q '^220 '
}

# ex_msgs DIR: how many messages a receiver stored (DIR = its state dir).
ex_msgs() {
	find "$1/Maildir/new" -type f 2>/dev/null | wc -l | tr -d ' '
}

# ex_queue_ids SENDER: message ids in the queue of the exim wrapper
# SENDER (e.g. $EXIM_SENDER), one a line (4.96 has no -bpi).
ex_queue_ids() {
	"$1" -bp 2>/dev/null |
	    awk '$3 ~ /^[0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+$/ { print $3 }'
}

# ex_ehlo IP: the EHLO response of IP:25 (waits for the greeting first,
# as Exim wants).
ex_ehlo() {
	(sleep 0.3; printf 'EHLO probe.harness.test\r\n'; sleep 0.3;
	    printf 'QUIT\r\n') | nc -w 3 "$1" 25 2>/dev/null | tr -d '\r'
}

# ex_clean SENDER_DIR: empty the sender's queue and hints databases
# (retry times), e.g. between tests.  Only while no delivery runs.
ex_clean() {
	rm -rf "$1/spool/input" "$1/spool/msglog" "$1/spool/db"
}
