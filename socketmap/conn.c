/*
 * conn.c - one socketmap client.  Requests are netstrings, may come
 * pipelined and split anyhow; answers go out in request order.  Each
 * request that needs a policy decision has its own deadline (TEMP when
 * it passes: Postfix defers, §5.1).  A framing error gets one PERM
 * answer after the pending ones, then the connection is closed: a
 * netstring stream cannot be resynchronised.  Clients that stall,
 * flood or vanish cost only their own connection.
 */
#include <sys/queue.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <mtasts.h>

#include "netstring.h"
#include "request.h"
#include "socketmap.h"

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
	struct bufferevent	*bev;
	TAILQ_HEAD(, req)	 reqs;		/* in request order */
	size_t			 nreqs;
	int			 closing;	/* no more input to read */
	char			 peer[64];
};

static LIST_HEAD(, conn)	conns = LIST_HEAD_INITIALIZER(conns);

static void	conn_read(struct conn *);

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
	bufferevent_free(c->bev);
	free(c);
	env.nconns--;
}

/* Send the answers at the head of the queue that are ready. */
static void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct req	*r;

	while ((r = TAILQ_FIRST(&c->reqs)) != NULL && r->reply != NULL) {
		if (evbuffer_add_printf(out, "%zu:", r->len) == -1 ||
		    evbuffer_add(out, r->reply, r->len) == -1 ||
		    evbuffer_add(out, ",", 1) == -1)
			fatalx("out of memory");
		TAILQ_REMOVE(&c->reqs, r, entry);
		c->nreqs--;
		r->conn = NULL;
		if (!r->querying)
			conn_req_free(r);
	}
}

/* Nothing left to answer on a connection that reads no more: close
 * it once the output is gone. */
static int
conn_done(struct conn *c)
{
	return c->closing && c->nreqs == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

static void
conn_answered(struct conn *c)
{
	conn_flush(c);
	if (conn_done(c)) {
		conn_close(c);
		return;
	}
	if (!c->closing)
		conn_read(c);		/* input may wait on the inflight cap */
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
	conn_answered(r->conn);
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
	conn_answered(r->conn);
}

/* Start the decision for a domain: from the memo, or the core's. */
static void
conn_query(struct req *r)
{
	struct timeval	tv = { env.deadline, 0 };
	char		err[MTASTS_ERRLEN];

	if ((r->reply = answer_memo_get(r->domain, &r->len)) != NULL)
		return;
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

static void
conn_request(struct conn *c, const char *p, size_t len)
{
	struct request	 rq;
	struct req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatalx("out of memory");
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->nreqs++;
	switch (request_parse(p, len, &rq)) {
	case REQUEST_BAD:
		log_info("%s: %s", c->peer, rq.why);
		conn_set_reply(r, "PERM %s", rq.why);
		break;
	case REQUEST_SKIP:
		log_debug("%s: '%.64s': %s: NOTFOUND", c->peer, rq.name,
		    rq.why);
		conn_set_reply(r, "NOTFOUND ");
		break;
	case REQUEST_DOMAIN:
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
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	struct req	*r;

	log_info("%s: %s: closing", c->peer, netstring_strerror(status));
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatalx("out of memory");
	conn_set_reply(r, "PERM %s", netstring_strerror(status));
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->reqs, r, entry);
	c->nreqs++;
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* Take the complete requests out of the input, up to the inflight cap
 * and while the client reads our answers. */
static void
conn_read(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 avail, take, off, dlen, used;
	const char	*p;
	int		 st;

	while (!c->closing && c->nreqs < SM_INFLIGHT_MAX &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    SM_OUTPUT_MAX && (avail = evbuffer_get_length(in)) > 0) {
		take = netstring_frame_max(SM_REQUEST_MAX);
		if (take > avail)
			take = avail;
		if ((p = (const char *)evbuffer_pullup(in, (ssize_t)take)) ==
		    NULL)
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
		evbuffer_drain(in, used);
	}
	conn_flush(c);
	if (c->closing || c->nreqs >= SM_INFLIGHT_MAX ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) >=
	    SM_OUTPUT_MAX)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

static void
conn_on_read(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	conn_read(c);
	if (conn_done(c))
		conn_close(c);
}

static void
conn_on_write(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (conn_done(c)) {
		conn_close(c);
		return;
	}
	if (!c->closing)
		conn_read(c);	/* output drained: read what waits */
}

/* EOF: answer what was asked, then close (clients may shut down their
 * side after the last request).  Errors and timeouts: close now. */
static void
conn_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		log_debug("%s: end of input", c->peer);
		c->closing = 1;
		bufferevent_disable(c->bev, EV_READ);
		if (conn_done(c))
			conn_close(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_info("%s: idle or not reading: closing", c->peer);
	else if (what & BEV_EVENT_ERROR)
		log_debug("%s: %s", c->peer, strerror(errno));
	conn_close(c);
}

void
conn_accept(int fd, const char *peer)
{
	struct timeval	 rtv = { SM_IDLE_SECONDS, 0 };
	struct timeval	 wtv = { SM_WRITE_SECONDS, 0 };
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
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(env.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("out of memory");
	TAILQ_INIT(&c->reqs);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	bufferevent_setcb(c->bev, conn_on_read, conn_on_write, conn_on_event,
	    c);
	bufferevent_set_timeouts(c->bev, &rtv, &wtv);
	bufferevent_enable(c->bev, EV_READ);
	LIST_INSERT_HEAD(&conns, c, entry);
	env.nconns++;
	log_debug("%s: connected", peer);
}

void
conn_shutdown(void)
{
	struct conn	*c;

	while ((c = LIST_FIRST(&conns)) != NULL)
		conn_close(c);
}
