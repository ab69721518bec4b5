/*
 * log.c - the core never prints: it hands each message to the sink the
 * host set (Exim's log, syslog for the filter, stderr for the CLI).
 */
#include <stdarg.h>
#include <stdio.h>

#include "mtasts.h"
#include "log.h"
#include "util.h"

static mtasts_log_fn log_fn;
static void *log_arg;
static int log_max = LOG_INFO;	/* log_level's default */

void
log_set_level(int prio)
{
	log_max = prio;
}

MTASTS_API void
mtasts_set_log(mtasts_log_fn fn, void *arg)
{
	log_fn = fn;
	log_arg = arg;
}

void
log_msg(int prio, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (log_fn == NULL || prio > log_max)
		return;
	va_start(ap, fmt);
	util_verr(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(prio, buf, log_arg);
}
