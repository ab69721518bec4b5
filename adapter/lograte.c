/*
 * lograte.c - lines about hostile input are logged, but not one for
 * each: smtpd relays what peers send and anyone may connect to a
 * socketmap, and a flood of garbage must not become a flood of log
 * lines (syslog, the disk).  Lines about our own failures are not
 * limited: they go to log_warnx() directly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

void
lograte_flush(struct lograte *l, time_t now, int force)
{
	/* A clock set back starts a new interval as well. */
	if (!force && now >= l->start && now - l->start < LOGRATE_SECONDS)
		return;
	if (l->dropped > 0)
		log_warnx("%lu more %s not logged in the last %llds",
		    l->dropped, l->what, (long long)(now - l->start));
	l->start = now;
	l->lines = 0;
	l->dropped = 0;
}

void
lograte_vlog(struct lograte *l, time_t now, const char *fmt, va_list ap)
{
	char	msg[1024];

	lograte_flush(l, now, 0);
	if (l->lines >= LOGRATE_LINES) {
		l->dropped++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (++l->lines < LOGRATE_LINES)
		log_warnx("%s", msg);
	else
		log_warnx("%s (more %s in the next %llds are counted, not "
		    "logged)", msg, l->what,
		    (long long)(LOGRATE_SECONDS - (now - l->start)));
}

void
lograte_log(struct lograte *l, time_t now, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lograte_vlog(l, now, fmt, ap);
	va_end(ap);
}

time_t
lograte_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
lograte_flush_all(struct lograte *l, size_t n, int force)
{
	time_t	now = lograte_now();
	size_t	i;

	for (i = 0; i < n; i++)
		lograte_flush(&l[i], now, force);
}
