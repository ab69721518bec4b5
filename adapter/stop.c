/*
 * stop.c - a bounded shutdown on SIGTERM and SIGINT (stop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "stop.h"

static volatile sig_atomic_t	 stop_signals;
static int			 stop_pipe[2] = { -1, -1 };
static unsigned int		 stop_seconds;
static int			 stop_stderr;
static char			 stop_msg[128];
static size_t			 stop_msglen;

static void
stop_on_alarm(int sig)
{
	(void)sig;
	/* Nothing to do about a failed write here: the exit is the point
	 * (and (void) does not quiet glibc's warn_unused_result). */
	if (stop_stderr && write(STDERR_FILENO, stop_msg, stop_msglen) < 0)
		_exit(1);
	_exit(1);
}

static void
stop_on_signal(int sig)
{
	int	saved = errno;

	if (stop_signals++ > 0)
		stop_on_alarm(sig);
	alarm(stop_seconds);
	/* Full pipe: a wake-up is pending already; else alarm(2) acts. */
	if (write(stop_pipe[1], "", 1) < 0)
		errno = saved;
	errno = saved;
}

int
stop_init(const char *name, unsigned int seconds, int to_stderr)
{
	struct sigaction	sa;
	int			n;

	stop_seconds = seconds;
	stop_stderr = to_stderr;
	n = snprintf(stop_msg, sizeof(stop_msg), "%s: shutdown took too "
	    "long: exiting now\n", name);
	stop_msglen = n > 0 && (size_t)n < sizeof(stop_msg) ? (size_t)n : 0;
	if (pipe(stop_pipe) == -1 ||
	    fcntl(stop_pipe[0], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(stop_pipe[1], F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(stop_pipe[1], F_SETFL, O_NONBLOCK) == -1)
		fatalx("pipe: %s", strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = stop_on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		fatalx("sigaction: %s", strerror(errno));
	sa.sa_handler = stop_on_signal;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatalx("sigaction: %s", strerror(errno));
	return stop_pipe[0];
}
