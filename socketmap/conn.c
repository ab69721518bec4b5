/*
 * conn.c - one socketmap client.  Requests are netstrings, may come
 * pipelined and split anyhow; answers go out in request order.  Each
 * request that needs a policy decision has its own deadline (TEMP when
 * it passes: Postfix defers, §5.1).  A framing error gets one PERM
 * answer after the pending ones, then the connection is closed: a
 * netstring stream cannot be resynchronised.  Clients that stall,
 * flood or vanish cost only their own connection.
 *
 * Every event ends in conn_pump(): parse what was read, queue the
 * answers that are ready, write them at once (an answer from the memo
 * leaves in the same loop iteration its request arrived in), and read
 * only while the client keeps up.
 */
#include <sys/queue.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <mtasts.h>

#include "netstring.h"
#include "request.h"
#include "socketmap.h"

/* Bytes read from a client at a time. */
#define CONN_READ_CHUNK		16384

struct conn;

struct req {
	TAILQ_ENTRY(req)	 entry;
	struct conn		*conn;		/* NULL once detached */
	struct event		*timer;		/* deadline, while querying */
	int			 querying;	/* core callback to come */
	char			*reply;		/* NULL until answered */
	size_t			 len;
	char			 domain[MTASTS_DOMAIN_MAX + 1];
};

struct conn {
	LIST_ENTRY(conn)	 entry;
	int			 fd;
	struct event		*rev;		/* readable, idle timeout */
	struct event		*wev;		/* writable, write timeout */
	struct evbuffer		*in;
	struct evbuffer		*out;
	TAILQ_HEAD(, req)	 reqs;		/* in request order */
	size_t			 nreqs;
	int			 reading;	/* rev is added */
	int			 closing;	/* no more input to read */
	int			 dead;		/* close at the next pump */
	char			 peer[64];
};

static LIST_HEAD(, conn)	conns = LIST_HEAD_INITIALIZER(conns);

static void	conn_pump(struct conn *);

static void
conn_req_free(struct req *r)
{
	if (r->timer != NULL)
		event_free(r->timer);
	free(r->reply);
	free(r);
}

static void
conn_close(struct conn *c)
{
	struct req	*r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, r, entry);
		r->conn = NULL;
		if (r->querying)	/* freed by conn_on_result() */
			event_del(r->timer);
		else
			conn_req_free(r);
	}
	LIST_REMOVE(c, entry);
	event_free(c->rev);
	event_free(c->wev);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	evutil_closesocket(c->fd);
	free(c);
	env.nconns--;
}

/* Queue one answer as a netstring. */
static void
conn_put(struct conn *c, const char *reply, size_t len)
{
	char	buf[512];
	int	n;

	n = snprintf(buf, sizeof(buf), "%zu:", len);
	if (n > 0 && (size_t)n + len + 1 <= sizeof(buf)) {
		memcpy(buf + n, reply, len);
		buf[(size_t)n + len] = ',';
		if (evbuffer_add(c->out, buf, (size_t)n + len + 1) == -1)
			fatalx("out of memory");
		return;
	}
	if (evbuffer_add_printf(c->out, "%zu:", len) == -1 ||
	    evbuffer_add(c->out, reply, len) == -1 ||
	    evbuffer_add(c->out, ",", 1) == -1)
		fatalx("out of memory");
}

/* Queue the answers at the head of the queue that are ready. */
static void
conn_flush(struct conn *c)
{
	struct req	*r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL && r->reply != NULL) {
		conn_put(c, r->reply, r->len);
		TAILQ_REMOVE(&c->reqs, r, entry);
		c->nreqs--;
		r->conn = NULL;
		if (!r->querying)
			conn_req_free(r);
	}
}

static void	conn_set_reply(struct req *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
conn_set_reply(struct req *r, const char *fmt, ...)
{
	char	buf[SM_REQUEST_MAX + 128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = snprintf(buf, sizeof(buf), "TEMP internal error");
	if ((r->reply = malloc((size_t)n + 1)) == NULL)
		fatalx("out of memory");
	memcpy(r->reply, buf, (size_t)n + 1);
	r->len = (size_t)n;
}

static void
conn_on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct req	*r = arg;

	(void)fd;
	(void)ev;
	log_warnx("%s: no policy decision within %us: TEMP", r->domain,
	    env.deadline);
	conn_set_reply(r, "TEMP %s: MTA-STS policy lookup timed out",
	    r->domain);
	conn_pump(r->conn);
}

static void
conn_on_result(struct mtasts_result *res, void *arg)
{
	struct req	*r = arg;
	char		*reply;
	size_t		 len;

	r->querying = 0;
	reply = answer_from_result(res, &len);
	answer_memo_put(r->domain, res, reply, len);
	log_debug("%s: %s (%zu errors)", r->domain,
	    mtasts_result_mode_name(res), mtasts_result_error_count(res));
	mtasts_result_free(res);
	if (r->conn == NULL || r->reply != NULL) {
		/* Its connection is gone or its deadline answered. */
		free(reply);
		if (r->conn == NULL)
			conn_req_free(r);
		return;
	}
	event_del(r->timer);
	r->reply = reply;
	r->len = len;
	conn_pump(r->conn);
}

/* Start the decision for a domain: from the memo, or the core's. */
static void
conn_query(struct req *r)
{
	struct timeval	 tv = { env.deadline, 0 };
	const char	*memo;
	char		 err[MTASTS_ERRLEN];

	if ((memo = answer_memo_get(r->domain, &r->len)) != NULL) {
		if ((r->reply = malloc(r->len + 1)) == NULL)
			fatalx("out of memory");
		memcpy(r->reply, memo, r->len + 1);
		return;
	}
	if ((r->timer = evtimer_new(env.base, conn_on_deadline, r)) == NULL)
		fatalx("out of memory");
	if (mtasts_query(env.mtasts, r->domain, 0, conn_on_result, r, err,
	    sizeof(err)) != MTASTS_OK) {
		log_warnx("%s: %s", r->domain, err);
		conn_set_reply(r, "TEMP %s: MTA-STS lookup failed", r->domain);
		return;
	}
	r->querying = 1;
	evtimer_add(r->timer, &tv);
}

static struct req *
conn_req_new(struct conn *c)
{
	struct req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatalx("out of memory");
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->nreqs++;
	return r;
}

static void
conn_request(struct conn *c, const char *p, size_t len)
{
	struct request	 rq;
	struct req	*r;
	const char	*memo;
	size_t		 mlen;

	switch (request_parse(p, len, &rq)) {
	case REQUEST_BAD:
		log_info("%s: %s", c->peer, rq.why);
		conn_set_reply(conn_req_new(c), "PERM %s", rq.why);
		break;
	case REQUEST_SKIP:
		log_debug("%s: '%.64s': %s: NOTFOUND", c->peer, rq.name,
		    rq.why);
		if (TAILQ_EMPTY(&c->reqs))
			conn_put(c, "NOTFOUND ", 9);
		else
			conn_set_reply(conn_req_new(c), "NOTFOUND ");
		break;
	case REQUEST_DOMAIN:
		/* The common case: a memo hit with nothing pending. */
		if (TAILQ_EMPTY(&c->reqs) &&
		    (memo = answer_memo_get(rq.domain, &mlen)) != NULL) {
			conn_put(c, memo, mlen);
			break;
		}
		r = conn_req_new(c);
		memcpy(r->domain, rq.domain, sizeof(r->domain));
		conn_query(r);
		break;
	}
}

/* A framing error: one PERM answer after the pending ones, then the
 * connection ends. */
static void
conn_bad_frame(struct conn *c, int status)
{
	log_info("%s: %s: closing", c->peer, netstring_strerror(status));
	conn_set_reply(conn_req_new(c), "PERM %s",
	    netstring_strerror(status));
	c->closing = 1;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
}

/* Take the complete requests out of the input, up to the inflight cap
 * and while the client reads our answers. */
static void
conn_parse(struct conn *c)
{
	size_t		 avail, take, off, dlen, used;
	const char	*p;
	int		 st;

	while (c->nreqs < SM_INFLIGHT_MAX &&
	    evbuffer_get_length(c->out) < SM_OUTPUT_MAX &&
	    (avail = evbuffer_get_length(c->in)) > 0) {
		take = netstring_frame_max(SM_REQUEST_MAX);
		if (take > avail)
			take = avail;
		if ((p = (const char *)evbuffer_pullup(c->in,
		    (ev_ssize_t)take)) == NULL)
			fatalx("out of memory");
		st = netstring_parse(p, take, SM_REQUEST_MAX, &off, &dlen,
		    &used);
		if (st == NETSTRING_MORE)
			break;
		if (st != NETSTRING_OK) {
			conn_bad_frame(c, st);
			break;
		}
		conn_request(c, p + off, dlen);
		evbuffer_drain(c->in, used);
	}
}

/* Write what is queued; wait for writability if the client is slow. */
static void
conn_write(struct conn *c)
{
	struct timeval	tv = { SM_WRITE_SECONDS, 0 };

	while (evbuffer_get_length(c->out) > 0) {
		if (evbuffer_write(c->out, c->fd) >= 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (event_add(c->wev, &tv) == 0)
				return;
			errno = ENOMEM;
		}
		log_debug("%s: %s", c->peer, strerror(errno));
		c->dead = 1;
		return;
	}
	event_del(c->wev);
}

static void
conn_pump(struct conn *c)
{
	struct timeval	tv = { SM_IDLE_SECONDS, 0 };
	int		want;

	conn_parse(c);
	conn_flush(c);
	if (!c->dead)
		conn_write(c);
	if (c->dead || (c->closing && c->nreqs == 0 &&
	    evbuffer_get_length(c->out) == 0)) {
		conn_close(c);
		return;
	}
	want = !c->closing && c->nreqs < SM_INFLIGHT_MAX &&
	    evbuffer_get_length(c->out) < SM_OUTPUT_MAX;
	if (want && !c->reading && event_add(c->rev, &tv) == -1) {
		/* Out of memory: close rather than never answer (the
		 * client sees the connection end and defers). */
		log_warnx("%s: cannot watch the connection: closed", c->peer);
		conn_close(c);
		return;
	}
	if (!want && c->reading)
		event_del(c->rev);
	c->reading = want;
}

/* EOF: answer what was asked, then close (clients may shut down their
 * side after the last request).  Errors and the idle timeout: close. */
/* One read(2) into the input buffer (evbuffer_read() would ask
 * FIONREAD first: a system call more per request). */
static ssize_t
conn_fill(struct conn *c)
{
	struct evbuffer_iovec	v;
	ssize_t			n;

	if (evbuffer_reserve_space(c->in, CONN_READ_CHUNK, &v, 1) < 1)
		fatalx("out of memory");
	n = read(c->fd, v.iov_base, v.iov_len);
	v.iov_len = n > 0 ? (size_t)n : 0;
	if (evbuffer_commit_space(c->in, &v, 1) == -1)
		fatalx("evbuffer_commit_space failed");
	return n;
}

static void
conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	(void)fd;
	if (what & EV_TIMEOUT) {
		log_info("%s: idle for %ds: closing", c->peer,
		    SM_IDLE_SECONDS);
		c->dead = 1;
	} else if ((n = conn_fill(c)) == 0) {
		log_debug("%s: end of input", c->peer);
		c->closing = 1;
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		log_debug("%s: %s", c->peer, strerror(errno));
		c->dead = 1;
	}
	conn_pump(c);
}

static void
conn_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		log_info("%s: takes no answers for %ds: closing", c->peer,
		    SM_WRITE_SECONDS);
		c->dead = 1;
	}
	conn_pump(c);
}

void
conn_accept(int fd, const char *peer)
{
	struct conn	*c;
	int		 one = 1;

	if (env.nconns >= env.conns_max) {
		log_warnx("%s: %zu connections already: refused", peer,
		    env.nconns);
		evutil_closesocket(fd);
		return;
	}
	/* Answers are small and one per request: send each at once. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evutil_make_socket_nonblocking(fd) == -1) {
		log_warnx("%s: cannot make the socket non-blocking", peer);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL ||
	    (c->rev = event_new(env.base, fd, EV_READ | EV_PERSIST,
	    conn_on_readable, c)) == NULL ||
	    (c->wev = event_new(env.base, fd, EV_WRITE, conn_on_writable,
	    c)) == NULL)
		fatalx("out of memory");
	c->fd = fd;
	TAILQ_INIT(&c->reqs);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	LIST_INSERT_HEAD(&conns, c, entry);
	env.nconns++;
	log_debug("%s: connected", peer);
	conn_pump(c);
}

void
conn_shutdown(void)
{
	struct conn	*c;

	while ((c = LIST_FIRST(&conns)) != NULL)
		conn_close(c);
}
