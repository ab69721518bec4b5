/*
 * metrics.c - GET /metrics on a listener of its own (-M, libevent's
 * evhttp), and the socketmap's own counters: requests by answer and a
 * latency histogram (docs/operations.md, "Metrics").
 *
 * The HTTP side must never hurt the socketmap answers, which share the
 * event loop: at most METRICS_CONNS connections, each closed after
 * METRICS_DEADLINE seconds whatever it sends (slowloris), headers
 * bounded, and the text from the cache made at most once a second
 * however often it is asked for.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <mtasts.h>

#include "socketmap.h"

#define METRICS_CONNS		8	/* HTTP connections at once */
#define METRICS_DEADLINE	10	/* seconds a connection may live */
#define METRICS_IDLE		5	/* seconds without a byte */
#define METRICS_HEADERS_MAX	8192
#define METRICS_REUSE_MS	1000	/* the cache's text is reused */
#define METRICS_SWEEP_MS	100	/* connections looked at */

/* The answers Postfix's socketmap client knows (the first word). */
static const char *const metrics_answers[] = {
	"OK", "NOTFOUND", "TEMP", "TIMEOUT", "PERM", NULL
};
#define METRICS_NANSWERS	5

/* Latency buckets, seconds: a memo hit takes microseconds, a fetch up
 * to the deadline. */
static const double metrics_le[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30
};
#define METRICS_NLE	(sizeof(metrics_le) / sizeof(metrics_le[0]))

static struct {
	uint64_t	 answers[METRICS_NANSWERS];
	uint64_t	 buckets[METRICS_NLE];	/* not cumulative */
	uint64_t	 count;
	double		 sum;
} stats;

/* One HTTP connection.  We hold a reference on its bufferevent, so the
 * descriptor stays the connection's until we drop it (a shutdown(2)
 * never hits a reused descriptor); evhttp freeing it clears its
 * callbacks, which the sweep notices. */
struct metrics_conn {
	LIST_ENTRY(metrics_conn) entry;
	struct bufferevent	*bev;
	int64_t			 born;		/* metrics_now() */
	int			 shut;		/* shutdown(2) done */
	int			 refused;	/* over METRICS_CONNS */
};

static LIST_HEAD(, metrics_conn) mconns = LIST_HEAD_INITIALIZER(mconns);
static struct evhttp		*http;
static struct evconnlistener	*listener;
static struct event		*sweep;	/* while connections live */
static size_t			 nconns;
static uint64_t			 refused;	/* over METRICS_CONNS */
static char			*text;		/* the core's last text */
static size_t			 textlen;
static int64_t			 text_ms;

int64_t
metrics_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One answer sent, to a request that arrived at t0 (metrics_now(), or
 * 0 for an answer given at once). */
void
metrics_answer(const char *reply, size_t len, int64_t t0)
{
	double	secs = t0 == 0 ? 0.0 : (double)(metrics_now() - t0) / 1e9;
	size_t	i, n;

	for (i = 0; metrics_answers[i] != NULL; i++) {
		n = strlen(metrics_answers[i]);
		if (len >= n && memcmp(reply, metrics_answers[i], n) == 0 &&
		    (len == n || reply[n] == ' ')) {
			stats.answers[i]++;
			break;
		}
	}
	for (i = 0; i < METRICS_NLE && secs > metrics_le[i]; i++)
		;
	if (i < METRICS_NLE)
		stats.buckets[i]++;
	stats.count++;
	stats.sum += secs;
}

static void
metrics_own(struct evbuffer *b)
{
	uint64_t	cum = 0;
	size_t		i;

	evbuffer_add_printf(b, "# HELP mtasts_socketmap_requests_total "
	    "Socketmap answers sent, by their first word.\n"
	    "# TYPE mtasts_socketmap_requests_total counter\n");
	for (i = 0; metrics_answers[i] != NULL; i++)
		evbuffer_add_printf(b, "mtasts_socketmap_requests_total"
		    "{answer=\"%s\"} %llu\n", metrics_answers[i],
		    (unsigned long long)stats.answers[i]);
	evbuffer_add_printf(b, "# HELP mtasts_socketmap_request_duration_"
	    "seconds Time from a request's arrival to its answer.\n"
	    "# TYPE mtasts_socketmap_request_duration_seconds histogram\n");
	for (i = 0; i < METRICS_NLE; i++) {
		cum += stats.buckets[i];
		evbuffer_add_printf(b, "mtasts_socketmap_request_duration_"
		    "seconds_bucket{le=\"%g\"} %llu\n", metrics_le[i],
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "mtasts_socketmap_request_duration_seconds_"
	    "bucket{le=\"+Inf\"} %llu\n"
	    "mtasts_socketmap_request_duration_seconds_sum %.6f\n"
	    "mtasts_socketmap_request_duration_seconds_count %llu\n",
	    (unsigned long long)stats.count, stats.sum,
	    (unsigned long long)stats.count);
	evbuffer_add_printf(b, "# HELP mtasts_socketmap_connections "
	    "Socketmap client connections open.\n"
	    "# TYPE mtasts_socketmap_connections gauge\n"
	    "mtasts_socketmap_connections %zu\n"
	    "# HELP mtasts_socketmap_http_connections Metrics HTTP "
	    "connections open, this one included.\n"
	    "# TYPE mtasts_socketmap_http_connections gauge\n"
	    "mtasts_socketmap_http_connections %zu\n"
	    "# HELP mtasts_socketmap_http_refused_total Metrics HTTP "
	    "connections closed at once: too many open.\n"
	    "# TYPE mtasts_socketmap_http_refused_total counter\n"
	    "mtasts_socketmap_http_refused_total %llu\n", env.nconns, nconns,
	    (unsigned long long)refused);
}

/* The core's text (cache reads), made again at most once a second. */
static int
metrics_core_text(void)
{
	int64_t	now = metrics_now() / 1000000;
	char	*t;
	size_t	 len;
	int	 r;

	if (text != NULL && now - text_ms < METRICS_REUSE_MS)
		return MTASTS_OK;
	if ((r = mtasts_metrics_text(env.mtasts, &t, &len)) != MTASTS_OK)
		return r;
	free(text);
	text = t;
	textlen = len;
	text_ms = now;
	return MTASTS_OK;
}

static void
metrics_on_get(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*b;
	int		 r;

	(void)arg;
	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, NULL);
		return;
	}
	if ((r = metrics_core_text()) != MTASTS_OK) {
		log_warnx("metrics: %s", mtasts_strerror(r));
		evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(b, text, textlen);
	metrics_own(b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static void
metrics_on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/* Every METRICS_SWEEP_MS while connections live: forget those evhttp
 * freed, shut down those past their deadline or over the limit (evhttp
 * then sees the end of the connection and frees it), and accept again
 * below the limit. */
static void
metrics_on_sweep(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval		 tv = { 0, METRICS_SWEEP_MS * 1000 };
	struct metrics_conn	*mc, *next;
	bufferevent_data_cb	 rcb, wcb;
	bufferevent_event_cb	 ecb;
	int64_t			 now = metrics_now();
	evutil_socket_t		 s;

	(void)fd;
	(void)ev;
	(void)arg;
	for (mc = LIST_FIRST(&mconns); mc != NULL; mc = next) {
		next = LIST_NEXT(mc, entry);
		bufferevent_getcb(mc->bev, &rcb, &wcb, &ecb, NULL);
		if (rcb == NULL && wcb == NULL && ecb == NULL) {
			LIST_REMOVE(mc, entry);
			/* from metrics_on_conn */
			bufferevent_decref(mc->bev);
			free(mc);
			nconns--;
			continue;
		}
		if (!mc->shut && (mc->refused || now - mc->born >=
		    (int64_t)METRICS_DEADLINE * 1000000000) &&
		    (s = bufferevent_getfd(mc->bev)) != -1) {
			shutdown(s, SHUT_RDWR);
			mc->shut = 1;
		}
	}
	if (nconns < METRICS_CONNS)
		evconnlistener_enable(listener);
	if (!LIST_EMPTY(&mconns))
		evtimer_add(sweep, &tv);
}

/* Each new HTTP connection gets its bufferevent here. */
static struct bufferevent *
metrics_on_conn(struct event_base *base, void *arg)
{
	struct timeval		 tv = { 0, 0 };
	struct metrics_conn	*mc;

	(void)arg;
	if ((mc = calloc(1, sizeof(*mc))) == NULL ||
	    (mc->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("out of memory");
	bufferevent_incref(mc->bev);	/* dropped in metrics_on_sweep */
	mc->born = metrics_now();
	LIST_INSERT_HEAD(&mconns, mc, entry);
	if (++nconns >= METRICS_CONNS) {
		/* No more until some end: the rest wait in the backlog,
		 * and descriptors stay for the socketmap's clients. */
		evconnlistener_disable(listener);
		if (nconns > METRICS_CONNS) {
			mc->refused = 1;	/* accepted in the same batch */
			refused++;
		}
	}
	/* The first sweep at once: the descriptor is set by then. */
	if (!evtimer_pending(sweep, NULL))
		evtimer_add(sweep, &tv);
	return mc->bev;
}

/* "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (127.0.0.1); numeric. */
void
metrics_http_start(const char *spec)
{
	struct evconnlistener	*l;

	l = listener = listen_bind_tcp(spec, 16, NULL, "-M ");
	if ((sweep = evtimer_new(env.base, metrics_on_sweep, NULL)) == NULL ||
	    (http = evhttp_new(env.base)) == NULL ||
	    evhttp_bind_listener(http, l) == NULL)
		fatalx("-M %s: cannot serve HTTP", spec);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(http, 1024);
	evhttp_set_timeout(http, METRICS_IDLE);
	evhttp_set_bevcb(http, metrics_on_conn, NULL);
	if (evhttp_set_cb(http, "/metrics", metrics_on_get, NULL) != 0)
		fatalx("out of memory");
	evhttp_set_gencb(http, metrics_on_other, NULL);
	log_info("metrics on http://%s%s/metrics", strchr(spec, ':') != NULL ?
	    "" : "127.0.0.1:", spec);
}

void
metrics_http_free(void)
{
	struct metrics_conn	*mc;

	if (http != NULL)
		evhttp_free(http);	/* its connections, its listener */
	http = NULL;
	while ((mc = LIST_FIRST(&mconns)) != NULL) {
		LIST_REMOVE(mc, entry);
		bufferevent_decref(mc->bev);	/* from metrics_on_conn */
		free(mc);
	}
	nconns = 0;
	if (sweep != NULL)
		event_free(sweep);
	sweep = NULL;
	free(text);
	text = NULL;
}
