/*
 * loglimit.c - bad input is logged, but not a line for each bad line:
 * smtpd relays what peers send, and a flood of garbage must not become
 * a flood of log lines (syslog, the disk).  In each period the first
 * LOGLIMIT_BURST lines are logged, the rest counted; the count is
 * logged when the period is over, at the next input line.  Lines about
 * our own failures are not limited: they go through log_warnx().
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "loglimit.h"

static time_t		start;		/* of the current period */
static unsigned int	shown;		/* lines logged in it */
static unsigned long	hidden;		/* lines only counted in it */

void
loglimit_flush(time_t now)
{
	/* A clock set back starts a new period as well. */
	if (now >= start && now - start < LOGLIMIT_PERIOD)
		return;
	if (hidden > 0)
		log_warnx("%lu more lines about bad input not logged in the "
		    "last %lld s", hidden, (long long)(now - start));
	start = now;
	shown = 0;
	hidden = 0;
}

void
log_input(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	loglimit_flush(time(NULL));
	if (shown == LOGLIMIT_BURST) {
		hidden++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shown++;
	log_warnx("%s%s", msg, shown < LOGLIMIT_BURST ? "" : " (more lines "
	    "about bad input are counted, not logged, for a while)");
}
