/*
 * log.c - the adapters' sink (log.h): smtpd takes a filter's stderr
 * into its log, a table's too with -d; a daemon logs to syslog, or to
 * stderr in the foreground.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "log.h"

static const char	*log_prefix = "";
static int		 log_flags = LOG_TO_STDERR;
static int		 log_facility = LOG_MAIL;

void
log_init(const char *prefix, int flags, int facility)
{
	log_prefix = prefix;
	log_flags = flags;
	log_facility = facility;
}

static void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char	msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_flags & LOG_TO_STDERR)
		fprintf(stderr, "%s%s\n", log_prefix, msg);
	if (log_flags & LOG_TO_SYSLOG)
		syslog(log_facility | prio, "%s", msg);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!(log_flags & LOG_VERBOSE))
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
log_prio(int prio, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

void
log_on_core(int prio, const char *msg, void *arg)
{
	(void)arg;
	if (prio <= LOG_NOTICE || (log_flags & LOG_VERBOSE))
		log_prio(prio, "%s", msg);
}
