/*
 * log.h - the host's log sink (mtasts_set_log).
 */
#ifndef MTASTS_LOG_H
#define MTASTS_LOG_H

#include <syslog.h>

void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* MTASTS_LOG_H */
