/*
 * stop.h - SIGTERM and SIGINT for the daemons (mtasts-socketmap,
 * mtasts-tlsrptd).  A plain handler, so that a busy loop cannot delay
 * the bound: it wakes the event loop through a pipe (the caller reads
 * its end with an event and winds down), and arms alarm(2), so that a
 * shutdown not over in time ends with SIGALRM and _exit(1); a second
 * signal ends the process at once.
 */
#ifndef ADAPTER_STOP_H
#define ADAPTER_STOP_H

/* Install the handlers; name says who exits in the line written to
 * stderr (to_stderr: in the foreground) when the bound ends it.
 * Returns the pipe's end to read: readable once a signal came.  Any
 * failure is fatal (startup only). */
int	stop_init(const char *name, unsigned int seconds, int to_stderr);

#endif /* ADAPTER_STOP_H */
