/*
 * conn.c - one socketmap client.  Requests are netstrings, may come
 * pipelined and split anyhow; answers go out in request order.  Each
 * request that needs a policy decision has its own deadline (TEMP when
 * it passes: Postfix defers, §5.1).  A framing error gets one PERM
 * answer after the pending ones, then the connection is closed: a
 * netstring stream cannot be resynchronised.  Clients that stall,
 * flood or vanish cost only their own connection.
 *
 * Slots: Postfix keeps its socketmap connections open between
 * requests and reuses them, so a connection idle between requests is
 * legitimate; but when every slot is taken, the one idle, stalled
 * mid-request or not taking answers the longest is closed for the
 * newcomer (Postfix reconnects and asks again).  A request has an
 * absolute deadline from its first byte, which trickling bytes do not
 * extend.  Lookups in progress are bounded over all connections: past
 * the bound a request that is not its connection's only one is
 * answered TEMP at once (Postfix defers, §5.1) rather than queued.
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
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
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

#define STR1(x)			#x
#define STR(x)			STR1(x)

/* Bytes read from a client at a time: a few requests' worth, so that
 * a thousand clients cost little memory. */
#define CONN_READ_CHUNK		3072

struct conn;

struct req {
	TAILQ_ENTRY(req)	 entry;
	struct conn		*conn;		/* NULL once detached */
	struct event		*timer;		/* deadline, while querying */
	int			 querying;	/* core callback to come */
	char			*reply;		/* NULL until answered */
	size_t			 len;
	int64_t			 t0;		/* arrival, metrics_now() */
	int			 tlsrpt;	/* with TLSRPT attributes */
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	char			 key[MTASTS_DOMAIN_MAX + 8]; /* memo */
};

struct conn {
	LIST_ENTRY(conn)	 entry;
	int			 fd;
	struct event		*rev;		/* readable */
	struct event		*wev;		/* writable */
	struct event		*timer;		/* the nearest deadline below */
	struct evbuffer		*in;
	struct evbuffer		*out;
	TAILQ_HEAD(, req)	 reqs;		/* in request order */
	size_t			 nreqs;
	int			 reading;	/* rev is added */
	int			 closing;	/* no more input to read */
	int			 dead;		/* close at the next pump */
	int64_t			 idle_since;	/* ms; 0: a request under way */
	int64_t			 req_since;	/* ms; first byte of a partial one */
	int64_t			 out_since;	/* ms; answers not yet taken */
	int64_t			 timer_at;	/* ms; 0: timer not armed */
	char			 peer[64];
};

static LIST_HEAD(, conn)	conns = LIST_HEAD_INITIALIZER(conns);

static void	conn_pump(struct conn *);

static int64_t
conn_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	event_free(c->timer);
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
		metrics_answer(r->reply, r->len, r->t0);
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
	log_rate(LR_TEMP, "%s: no policy decision within %us: TEMP",
	    r->domain, env.deadline);
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
	env.npending--;
	reply = answer_from_result(res, r->tlsrpt, &len);
	answer_memo_put(r->key, res, reply, len);
	log_debug("%s: %s (%zu errors), DANE %s", r->domain,
	    mtasts_result_mode_name(res), mtasts_result_error_count(res),
	    mtasts_dane_name(mtasts_result_dane(res)));
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

	if ((memo = answer_memo_get(r->key, &r->len)) != NULL) {
		if ((r->reply = malloc(r->len + 1)) == NULL)
			fatalx("out of memory");
		memcpy(r->reply, memo, r->len + 1);
		return;
	}
	/* Overload: the connection's only request still gets its lookup
	 * (Postfix asks one at a time) while descriptors last, a
	 * pipelined one gets TEMP. */
	if (env.npending >= env.lookups_max ||
	    (env.npending >= env.pending_max && r->conn->nreqs > 1)) {
		log_rate(LR_TEMP, "%s: %zu lookups in progress: TEMP",
		    r->domain, env.npending);
		conn_set_reply(r, "TEMP %s: MTA-STS lookups overloaded",
		    r->domain);
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
	env.npending++;
	evtimer_add(r->timer, &tv);
}

static struct req *
conn_req_new(struct conn *c)
{
	struct req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatalx("out of memory");
	r->conn = c;
	r->t0 = metrics_now();
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
	char		 key[MTASTS_DOMAIN_MAX + 8];
	int		 tlsrpt;

	switch (request_parse(p, len, &rq)) {
	case REQUEST_BAD:
		log_rate(LR_REQUEST, "%s: %s", c->peer, rq.why);
		conn_set_reply(conn_req_new(c), "PERM %s", rq.why);
		break;
	case REQUEST_SKIP:
		log_debug("%s: '%.64s': %s: NOTFOUND", c->peer, rq.name,
		    rq.why);
		if (TAILQ_EMPTY(&c->reqs)) {
			metrics_answer("NOTFOUND ", 9, 0);
			conn_put(c, "NOTFOUND ", 9);
		} else
			conn_set_reply(conn_req_new(c), "NOTFOUND ");
		break;
	case REQUEST_DOMAIN:
		/* The memo has each domain's two kinds of answer apart:
		 * a domain name has no blank. */
		tlsrpt = rq.tlsrpt || env.tlsrpt;
		snprintf(key, sizeof(key), "%s%s", rq.domain,
		    tlsrpt ? " tlsrpt" : "");
		/* The common case: a memo hit with nothing pending. */
		if (TAILQ_EMPTY(&c->reqs) &&
		    (memo = answer_memo_get(key, &mlen)) != NULL) {
			metrics_answer(memo, mlen, 0);
			conn_put(c, memo, mlen);
			break;
		}
		r = conn_req_new(c);
		memcpy(r->domain, rq.domain, sizeof(r->domain));
		memcpy(r->key, key, sizeof(r->key));
		r->tlsrpt = tlsrpt;
		conn_query(r);
		break;
	}
}

/* A framing error: one PERM answer after the pending ones, then the
 * connection ends. */
static void
conn_bad_frame(struct conn *c, int status)
{
	log_rate(LR_REQUEST, "%s: %s: closing", c->peer,
	    netstring_strerror(status));
	conn_set_reply(conn_req_new(c), "PERM %s",
	    netstring_strerror(status));
	c->closing = 1;
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
}

/* Take the complete requests out of the input, up to the inflight cap
 * and while the client reads our answers.  Returns 1 when only more
 * input can make progress (none, or a partial request). */
static int
conn_parse(struct conn *c)
{
	size_t		 avail, take, off, dlen, used;
	const char	*p;
	int		 st = NETSTRING_OK, done = 0, starved = 1;

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
		done = 1;
	}
	if (evbuffer_get_length(c->in) > 0 && st != NETSTRING_MORE)
		starved = 0;
	/* The clock of a request starts with its first byte. */
	if (evbuffer_get_length(c->in) == 0)
		c->req_since = 0;
	else if (c->req_since == 0 || done)
		c->req_since = conn_now();
	return starved;
}

/* Write what is queued; wait for writability if the client is slow. */
static void
conn_write(struct conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		if (evbuffer_write(c->out, c->fd) >= 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (event_add(c->wev, NULL) == 0)
				return;
			errno = ENOMEM;
		}
		log_debug("%s: %s", c->peer, strerror(errno));
		c->dead = 1;
		return;
	}
	event_del(c->wev);
}

/* The connection's nearest deadline in ms, 0 for none, and its name.
 * One waiting for lookups has none: each request has its own. */
static int64_t
conn_deadline(struct conn *c, const char **why)
{
	int64_t	at = 0;

	if (c->out_since != 0) {
		at = c->out_since + SM_WRITE_SECONDS * 1000;
		*why = "answers not taken for " STR(SM_WRITE_SECONDS) "s";
	}
	if (c->reading && c->req_since != 0 &&
	    (at == 0 || c->req_since + SM_REQUEST_SECONDS * 1000 < at)) {
		at = c->req_since + SM_REQUEST_SECONDS * 1000;
		*why = "no complete request " STR(SM_REQUEST_SECONDS)
		    "s after its first byte";
	}
	if (c->idle_since != 0 &&
	    (at == 0 || c->idle_since + SM_IDLE_SECONDS * 1000 < at)) {
		at = c->idle_since + SM_IDLE_SECONDS * 1000;
		*why = "idle for " STR(SM_IDLE_SECONDS) "s";
	}
	return at;
}

/* Note when the connection became idle or began to owe or be owed
 * bytes, and arm its timer for the nearest deadline. */
static void
conn_clock(struct conn *c)
{
	struct timeval	 tv;
	const char	*why;
	int64_t		 now = conn_now(), at;

	if (c->nreqs == 0 && evbuffer_get_length(c->in) == 0 &&
	    evbuffer_get_length(c->out) == 0) {
		if (c->idle_since == 0)
			c->idle_since = now;
	} else
		c->idle_since = 0;
	if (evbuffer_get_length(c->out) == 0)
		c->out_since = 0;
	else if (c->out_since == 0)
		c->out_since = now;
	if ((at = conn_deadline(c, &why)) == c->timer_at)
		return;
	c->timer_at = at;
	if (at == 0) {
		event_del(c->timer);
		return;
	}
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	event_add(c->timer, &tv);
}

static void
conn_pump(struct conn *c)
{
	int	want, starved;

	/* Requests already read wait only for the caps, not for more
	 * input: parse again while answering made room (a client that
	 * pipelined and now waits would else wait for good). */
	for (;;) {
		starved = conn_parse(c);
		conn_flush(c);
		if (!c->dead)
			conn_write(c);
		if (c->dead || starved || c->closing ||
		    c->nreqs >= SM_INFLIGHT_MAX ||
		    evbuffer_get_length(c->out) >= SM_OUTPUT_MAX)
			break;
	}
	if (c->dead || (c->closing && c->nreqs == 0 &&
	    evbuffer_get_length(c->out) == 0)) {
		conn_close(c);
		return;
	}
	want = !c->closing && c->nreqs < SM_INFLIGHT_MAX &&
	    evbuffer_get_length(c->out) < SM_OUTPUT_MAX;
	if (want && !c->reading) {
		if (event_add(c->rev, NULL) == -1) {
			/* Out of memory: close rather than never answer
			 * (the client sees the connection end and
			 * defers). */
			log_warnx("%s: cannot watch the connection: closed",
			    c->peer);
			conn_close(c);
			return;
		}
		/* We stopped reading, not the client: a fresh clock. */
		if (c->req_since != 0)
			c->req_since = conn_now();
	} else if (!want && c->reading)
		event_del(c->rev);
	c->reading = want;
	conn_clock(c);
}

static void
conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	const char	*why = "";
	int64_t		 at;

	(void)fd;
	(void)what;
	c->timer_at = 0;
	at = conn_deadline(c, &why);
	if (at != 0 && at <= conn_now()) {
		log_rate(LR_CONN, "%s: %s: closing", c->peer, why);
		c->dead = 1;
	}
	conn_pump(c);
}

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

/* EOF: answer what was asked, then close (clients may shut down their
 * side after the last request).  Errors: close. */
static void
conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	(void)fd;
	(void)what;
	if ((n = conn_fill(c)) == 0) {
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
	(void)what;
	conn_pump(c);
}

/* When every slot is taken: the connection that has waited longest
 * while idle, stalled mid-request or not taking answers, if that is
 * over SM_EVICT_MS (a newcomer gets time to send its request).  Else
 * the one with the most requests in flight, if more than one: a
 * pipelining client, not Postfix, which asks one at a time. */
static struct conn *
conn_victim(void)
{
	struct conn	*c, *best = NULL, *most = NULL;
	int64_t		 since, best_since = 0, now = conn_now();

	LIST_FOREACH(c, &conns, entry) {
		if (c->nreqs > 1 && (most == NULL || c->nreqs > most->nreqs))
			most = c;
		if (c->nreqs > 0)
			continue;
		if ((since = c->idle_since) == 0)
			since = c->req_since;
		if (c->out_since != 0 && (since == 0 || c->out_since < since))
			since = c->out_since;
		if (since == 0 || now - since < SM_EVICT_MS)
			continue;
		if (best == NULL || since < best_since) {
			best = c;
			best_since = since;
		}
	}
	return best != NULL ? best : most;
}

void
conn_accept(int fd, const char *peer)
{
	struct conn	*c;
	int		 one = 1;

	if (env.nconns >= env.conns_max) {
		if ((c = conn_victim()) == NULL) {
			log_rate(LR_CONN, "%s: %zu connections, all busy: "
			    "refused", peer, env.nconns);
			evutil_closesocket(fd);
			return;
		}
		log_rate(LR_CONN, "%s: %zu connections: closing this one "
		    "(%s) for a new one", c->peer, env.nconns,
		    c->nreqs > 0 ? "pipelining" : c->idle_since != 0 ?
		    "idle" : "stalled");
		conn_close(c);
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
	    c)) == NULL ||
	    (c->timer = evtimer_new(env.base, conn_on_timer, c)) == NULL)
		fatalx("out of memory");
	c->fd = fd;
	TAILQ_INIT(&c->reqs);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	LIST_INSERT_HEAD(&conns, c, entry);
	if (++env.nconns > env.peak_conns)
		env.peak_conns = env.nconns;
	log_debug("%s: connected", peer);
	conn_pump(c);
}

/* Stopping: every request still waiting is answered TEMP (Postfix
 * defers, §5.1), with one write that does not wait, then closed. */
void
conn_shutdown(void)
{
	struct conn	*c;
	struct req	*r;

	while ((c = LIST_FIRST(&conns)) != NULL) {
		TAILQ_FOREACH(r, &c->reqs, entry)
			if (r->reply == NULL)
				conn_set_reply(r, "TEMP %s: mtasts-socketmap is "
				    "stopping", r->domain);
		conn_flush(c);
		if (evbuffer_get_length(c->out) > 0)
			(void)evbuffer_write(c->out, c->fd);
		conn_close(c);
	}
}

/* After a burst (connections gone since the last call): give the
 * freed buffers back to the system; malloc keeps them otherwise. */
void
conn_trim(void)
{
	if (env.peak_conns > env.nconns)
		(void)malloc_trim(0);
	env.peak_conns = env.nconns;
}
