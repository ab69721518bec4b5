/*
 * log.h - the host's log sink (mtasts_set_log).
 */
#ifndef MTASTS_LOG_H
#define MTASTS_LOG_H

#include <syslog.h>

/* Messages less urgent than prio (LOG_ERR..LOG_DEBUG) are dropped;
 * mtasts_ctx_new() sets it from log_level in mtasts.conf. */
void	log_set_level(int prio);
void	log_msg(int prio, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* MTASTS_LOG_H */
