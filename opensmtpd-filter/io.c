/*
 * io.c - smtpd's side of the socketpair: bounded lines in, buffered
 * non-blocking lines out, both on the one event base.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "filter.h"
#include "loglimit.h"

static struct bufferevent	*io_in;
static struct evbuffer		*io_out;
static struct event		*io_wev;
static void			(*io_online)(char *, size_t);
static int			 io_skipping;	/* inside an overlong line */
static int			 io_eof;	/* stdin ended */

static void	io_flush(void);

static void
io_on_writable(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	io_flush();
}

static void
io_flush(void)
{
	while (evbuffer_get_length(io_out) > 0) {
		if (evbuffer_write(io_out, STDOUT_FILENO) >= 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (event_add(io_wev, NULL) == 0)
				return;
		}
		/* smtpd is gone: nothing left to answer. */
		log_warnx("stdout: %s", strerror(errno));
		event_base_loopbreak(env.base);
		return;
	}
}

void
io_printf(const char *fmt, ...)
{
	char	line[FILTER_LINE_MAX];
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	r = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(line) - 1) {
		log_warnx("answer too long, not sent");
		return;
	}
	log_debug("> %s", line);
	line[r++] = '\n';
	if (evbuffer_add(io_out, line, (size_t)r) != 0)
		fatalx("out of memory");
	io_flush();
}

/* Hand over each complete line; drop one longer than FILTER_LINE_MAX
 * (its end included) with a single message. */
static void
io_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 eol;
	char			 line[FILTER_LINE_MAX + 1];
	size_t			 n;

	(void)arg;
	for (;;) {
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			n = evbuffer_get_length(in);
			if (n > FILTER_LINE_MAX) {
				if (!io_skipping)
					log_input("stdin: line longer than %d "
					    "bytes dropped", FILTER_LINE_MAX);
				io_skipping = 1;
				evbuffer_drain(in, n);
			}
			return;
		}
		n = (size_t)eol.pos;
		if (io_skipping || n > FILTER_LINE_MAX) {
			if (!io_skipping)
				log_input("stdin: line longer than %d bytes "
				    "dropped", FILTER_LINE_MAX);
			io_skipping = 0;
			evbuffer_drain(in, n + 1);
			continue;
		}
		evbuffer_remove(in, line, n + 1);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		io_online(line, n);
	}
}

static void
io_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	if (what & BEV_EVENT_ERROR)
		log_warnx("stdin: %s", strerror(errno));
	/* EOF: smtpd is shutting down, or a test is over; answer what
	 * is pending first (each has a deadline). */
	bufferevent_disable(io_in, EV_READ);
	io_eof = 1;
	io_idle();
}

/* Stop once input has ended and nothing waits for an answer. */
void
io_idle(void)
{
	/* Not loopexit: that allocates, and the filter must end with
	 * its input even when memory has run out. */
	if (io_eof && rcpt_pending() == 0)
		event_base_loopbreak(env.base);
}

void
io_init(void (*online)(char *, size_t))
{
	io_online = online;
	if (evutil_make_socket_nonblocking(STDIN_FILENO) == -1 ||
	    evutil_make_socket_nonblocking(STDOUT_FILENO) == -1)
		fatalx("cannot make stdin/stdout non-blocking");
	if ((io_out = evbuffer_new()) == NULL ||
	    (io_wev = event_new(env.base, STDOUT_FILENO, EV_WRITE,
	    io_on_writable, NULL)) == NULL ||
	    (io_in = bufferevent_socket_new(env.base, STDIN_FILENO, 0)) ==
	    NULL)
		fatalx("out of memory");
	bufferevent_setcb(io_in, io_on_read, NULL, io_on_event, NULL);
	if (bufferevent_enable(io_in, EV_READ) == -1)
		fatalx("stdin: cannot poll it (a pipe or socket is needed)");
}

void
io_free(void)
{
	if (io_out != NULL) {
		/* Last answers: block briefly rather than lose them. */
		fcntl(STDOUT_FILENO, F_SETFL,
		    fcntl(STDOUT_FILENO, F_GETFL) & ~O_NONBLOCK);
		while (evbuffer_get_length(io_out) > 0 &&
		    evbuffer_write(io_out, STDOUT_FILENO) > 0)
			;
		evbuffer_free(io_out);
	}
	if (io_wev != NULL)
		event_free(io_wev);
	if (io_in != NULL)
		bufferevent_free(io_in);
}
