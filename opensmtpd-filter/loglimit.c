/*
 * loglimit.c - filter-mtasts's and table-mtasts's lines about bad input
 * (what smtpd relays from peers), one kind of adapter/lograte.c.
 */
#include <stdarg.h>
#include <time.h>

#include "../adapter/log.h"
#include "loglimit.h"

static struct lograte	input = { "lines about bad input", 0, 0, 0 };

void
loglimit_flush(time_t now)
{
	lograte_flush(&input, now, 0);
}

void
log_input(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lograte_vlog(&input, time(NULL), fmt, ap);
	va_end(ap);
}
