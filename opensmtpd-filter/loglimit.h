/*
 * loglimit.h - lines about bad input, logged without flooding the log;
 * shared by filter-mtasts and table-mtasts (loglimit.c, on
 * adapter/lograte.c).
 */
#ifndef LOGLIMIT_H
#define LOGLIMIT_H

#include <time.h>

#include "../adapter/log.h"

#define LOGLIMIT_BURST	LOGRATE_LINES	/* lines logged per period */
#define LOGLIMIT_PERIOD	LOGRATE_SECONDS

/* Log one line about bad input, unless LOGLIMIT_BURST of them were
 * logged in this period already: then it is only counted. */
void	log_input(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* If the period is over at now: log how many lines were only counted,
 * and start a new one.  log_input() calls it; call it for each input
 * line too, so the count comes even when the bad input stopped. */
void	loglimit_flush(time_t now);

#endif /* LOGLIMIT_H */
