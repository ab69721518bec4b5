/*
 * dns.c - c-ares on libevent: one event per socket c-ares opens (its
 * ARES_OPT_SOCK_STATE_CB), one timer for its retransmissions.  Answers
 * are classified so the decision can tell "no record" from "DNS is
 * failing" (checklist A1.13: a temporary failure keeps the cache).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "mtasts.h"
#include "dns.h"
#include "dnsmsg.h"
#include "tlsa.h"
#include "util.h"

#define DNS_MAX_SOCKS	16	/* c-ares uses one or two per server */
#define DNS_MX_MAX	64	/* MX hosts kept: the lowest preferences */
#define DNS_ADDR_MAX	64	/* addresses kept per host */
#define DNS_ENOMEM	(-2)	/* from the collectors; -1 is malformed */

struct dns_sock {
	ares_socket_t	 fd;
	struct event	*ev;		/* NULL when the slot is free */
};

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;
	struct dns_sock		 socks[DNS_MAX_SOCKS];
	struct dns_req		*waiting;	/* answered inside a start */
	unsigned int		 timeout;	/* seconds, per lookup */
};

enum dns_kind { DNS_K_TXT, DNS_K_MX, DNS_K_ADDR, DNS_K_TLSA };

struct dns_req {
	struct dns	*d;
	enum dns_kind	 kind;
	void		*cb;		/* dns_txt_cb or dns_list_cb */
	void		*arg;
	int		 starting;	/* inside the start call */
	int		 answered;	/* c-ares called back: result below */
	int		 delivered;	/* cb ran (maybe on our timeout) */
	struct event	*timer;		/* the bound, or the next loop turn */
	struct dns_req	*next;		/* on d->waiting */
	int		 status;	/* result, for a deferred callback */
	char		 why[96];
	struct mtasts_rr *rrs;		/* items[i] with their lengths */
	char		**items;	/* owned strings */
	size_t		 n, size;
};

static void dns_reschedule(struct dns *);
static void dns_deliver(struct dns_req *);
static void dns_req_free(struct dns_req *);

static void
dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_reschedule(d);
}

static void
dns_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	ares_process_fd(d->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	dns_reschedule(d);
}

static void
dns_reschedule(struct dns *d)
{
	struct timeval tv, *tvp;

	if (d->timer == NULL)
		return;
	if ((tvp = ares_timeout(d->channel, NULL, &tv)) != NULL)
		event_add(d->timer, tvp);
	else
		event_del(d->timer);
}

static struct dns_sock *
dns_sock_find(struct dns *d, ares_socket_t fd)
{
	size_t i;

	for (i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev != NULL && d->socks[i].fd == fd)
			return &d->socks[i];
	return NULL;
}

/* c-ares tells which sockets to watch; mirror that in libevent. */
static void
dns_on_sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = arg;
	struct dns_sock *s = dns_sock_find(d, fd);
	short what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	size_t i;

	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (what == 0)
		return;
	for (i = 0; i < DNS_MAX_SOCKS && d->socks[i].ev != NULL; i++)
		;
	if (i == DNS_MAX_SOCKS)
		return;		/* c-ares times the query out */
	d->socks[i].fd = fd;
	d->socks[i].ev = event_new(d->base, fd, what | EV_PERSIST,
	    dns_on_sock, d);
	if (d->socks[i].ev != NULL)
		event_add(d->socks[i].ev, NULL);
}

/* A query's socket must not outlive an exec (Exim's pipe transport). */
static int
dns_on_socket(ares_socket_t fd, int type, void *arg)
{
	(void)type;
	(void)arg;
	util_cloexec(fd);
	return ARES_SUCCESS;
}

int
dns_new(struct event_base *base, const char *servers, unsigned int timeout,
    struct dns **out, char *err, size_t errlen)
{
	struct ares_options o;
	struct dns *d;
	int r;

	*out = NULL;
	if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS ||
	    (d = util_calloc(1, sizeof(*d))) == NULL) {
		util_err(err, errlen, "dns: cannot initialise c-ares");
		return MTASTS_ENOMEM;
	}
	d->base = base;
	d->timeout = timeout;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = dns_on_sock_state;
	o.sock_state_cb_data = d;
	/* Two tries: c-ares 1.18 waits t, then 2t for one server, so
	 * both fit in the bound; dns_on_req_timer() enforces it anyway,
	 * whatever c-ares version and server count. */
	o.timeout = (int)(timeout * 1000 / 3);
	o.tries = 2;
	o.flags = ARES_FLAG_EDNS;
	o.ednspsz = 1232;
	r = ares_init_options(&d->channel, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_EDNSPSZ);
	if (r != ARES_SUCCESS) {
		util_err(err, errlen, "dns: %s", ares_strerror(r));
		util_free(d);
		return MTASTS_EINVAL;
	}
	ares_set_socket_callback(d->channel, dns_on_socket, NULL);
	if (servers != NULL && servers[0] != '\0' &&
	    (r = ares_set_servers_ports_csv(d->channel, servers)) !=
	    ARES_SUCCESS) {
		util_err(err, errlen, "dns: resolver %s: %s", servers,
		    ares_strerror(r));
		dns_free(d);
		return MTASTS_EINVAL;
	}
	if ((d->timer = evtimer_new(base, dns_on_timer, d)) == NULL) {
		dns_free(d);
		return MTASTS_ENOMEM;
	}
	*out = d;
	return MTASTS_OK;
}

void
dns_free(struct dns *d)
{
	struct dns_req *q;
	size_t i;

	if (d == NULL)
		return;
	if (d->channel != NULL)
		ares_destroy(d->channel);	/* callbacks: ARES_EDESTRUCTION */
	while ((q = d->waiting) != NULL) {
		d->waiting = q->next;
		dns_deliver(q);
		dns_req_free(q);
	}
	for (i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev != NULL)
			event_free(d->socks[i].ev);
	if (d->timer != NULL)
		event_free(d->timer);
	util_free(d);
	ares_library_cleanup();
}

static int
dns_classify(int status, char *why, size_t whylen)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_EDESTRUCTION:
		util_err(why, whylen, "cancelled");
		return DNS_TEMP;
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
		util_err(why, whylen, "%s", status == ARES_ENODATA ?
		    "no record (NODATA)" : "no such name (NXDOMAIN)");
		return DNS_NODATA;
	default:
		/* SERVFAIL, REFUSED, timeouts, bad answers: not a "no". */
		util_err(why, whylen, "temporary DNS failure: %s",
		    ares_strerror(status));
		return DNS_TEMP;
	}
}

static void
dns_req_free(struct dns_req *q)
{
	size_t i;

	if (q->timer != NULL)
		event_free(q->timer);
	for (i = 0; i < q->n; i++)
		util_free(q->items[i]);
	util_free(q->items);
	util_free(q->rrs);
	util_free(q);
}

static void
dns_deliver(struct dns_req *q)
{
	q->delivered = 1;
	if (q->kind == DNS_K_TXT)
		((dns_txt_cb)q->cb)(q->status, q->rrs, q->n, q->why, q->arg);
	else
		((dns_list_cb)q->cb)(q->status, q->items, q->n, q->why,
		    q->arg);
}

/*
 * The request's timer: the next loop turn after an answer that came
 * inside the start call, or dns_timeout after the start.  Then the
 * caller hears DNS_TEMP, and q waits for c-ares to give it up (its own
 * retries, or ares_destroy()) to be freed in dns_finish().
 */
static void
dns_on_req_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns_req *q = arg, **pp;

	(void)fd;
	(void)what;
	if (q->answered) {
		for (pp = &q->d->waiting; *pp != q; pp = &(*pp)->next)
			;
		*pp = q->next;
		dns_deliver(q);
		dns_req_free(q);
		return;
	}
	q->status = DNS_TEMP;
	util_err(q->why, sizeof(q->why), "no answer within %us",
	    q->d->timeout);
	dns_deliver(q);
}

/* c-ares is done with q: deliver now, or on the next loop turn if
 * still inside the start call; free it if our timer answered it. */
static void
dns_finish(struct dns_req *q)
{
	static const struct timeval zero;

	q->answered = 1;
	if (q->delivered) {
		dns_req_free(q);
		return;
	}
	if (q->starting) {
		q->next = q->d->waiting;
		q->d->waiting = q;
		evtimer_add(q->timer, &zero);
		return;
	}
	evtimer_del(q->timer);
	dns_deliver(q);
	dns_req_free(q);
}

/* Room for size items; the RRset decides, the caller's kind bounds it. */
static int
dns_items_alloc(struct dns_req *q, size_t size)
{
	if (size == 0)
		return 0;
	if ((q->items = util_calloc(size, sizeof(*q->items))) == NULL ||
	    (q->rrs = util_calloc(size, sizeof(*q->rrs))) == NULL)
		return -1;
	q->size = size;
	return 0;
}

static int
dns_add_item(struct dns_req *q, const char *p, size_t len)
{
	if (q->n == q->size)
		return 0;		/* enough to decide on; rest ignored */
	if ((q->items[q->n] = util_strndup(p, len)) == NULL)
		return -1;
	q->rrs[q->n].data = q->items[q->n];
	q->rrs[q->n].len = len;
	q->n++;
	return 0;
}

static int
dns_txt_count(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	(void)msg;
	(void)len;
	(void)rdoff;
	(void)rdlen;
	if (type == DNSMSG_T_TXT)
		(*(size_t *)arg)++;
	return 0;
}

/* D17: concatenate the strings of one RR, never across RRs.  The RDATA
 * is at least as long as its strings together. */
static int
dns_txt_add(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct dns_req *q = arg;
	size_t n;
	char *buf;
	int r;

	if (type != DNSMSG_T_TXT)
		return 0;	/* a CNAME on the way */
	if ((buf = util_malloc(rdlen + 1)) == NULL)
		return DNS_ENOMEM;
	if (dnsmsg_txt(msg, len, rdoff, rdlen, buf, &n) != 0)
		r = -1;
	else
		r = dns_add_item(q, buf, n) != 0 ? DNS_ENOMEM : 0;
	util_free(buf);
	return r;
}

/* RFC 8461 §3.1 wants exactly one "v=STSv1" RR in the whole RRset, so
 * every TXT RR is delivered; together they are no larger than the
 * message (64 KiB at most, over TCP). */
static int
dns_txt_collect(struct dns_req *q, const unsigned char *msg, size_t len)
{
	size_t n = 0;

	if (dnsmsg_answers(msg, len, dns_txt_count, &n) != 0)
		return -1;
	if (dns_items_alloc(q, n) != 0)
		return DNS_ENOMEM;
	return dnsmsg_answers(msg, len, dns_txt_add, q);
}

struct dns_mx {
	unsigned int	 pref;
	char		*host;		/* owned */
};

struct dns_mx_best {
	struct dns_mx	 v[DNS_MX_MAX];	/* by preference, then message order */
	size_t		 n;
};

/* Keep the DNS_MX_MAX lowest preferences of all MX RRs, whatever their
 * order in the message (RFC 5321 §5.1: lowest preference first). */
static int
dns_mx_add(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct dns_mx_best *b = arg;
	char host[DNSMSG_HOST_SIZE];
	unsigned int pref;
	size_t i;

	if (type != DNSMSG_T_MX)
		return 0;
	if (dnsmsg_mx(msg, len, rdoff, rdlen, &pref, host) != 0)
		return -1;
	if (host[0] == '\0')
		return 0;		/* RFC 7505 null MX "." */
	for (i = b->n; i > 0 && b->v[i - 1].pref > pref; i--)
		;
	if (i == DNS_MX_MAX)
		return 0;		/* DNS_MX_MAX better ones already */
	if (b->n == DNS_MX_MAX)
		util_free(b->v[--b->n].host);
	memmove(&b->v[i + 1], &b->v[i], (b->n - i) * sizeof(b->v[0]));
	b->n++;
	b->v[i].pref = pref;
	if ((b->v[i].host = util_strndup(host, strlen(host))) == NULL)
		return DNS_ENOMEM;
	return 0;
}

static int
dns_mx_collect(struct dns_req *q, const unsigned char *msg, size_t len)
{
	struct dns_mx_best *b;
	size_t i;
	int r;

	if ((b = util_calloc(1, sizeof(*b))) == NULL)
		return DNS_ENOMEM;
	r = dnsmsg_answers(msg, len, dns_mx_add, b);
	if (r == 0 && dns_items_alloc(q, b->n) != 0)
		r = DNS_ENOMEM;
	for (i = 0; i < b->n; i++) {
		if (r == 0 && b->v[i].host != NULL)
			r = dns_add_item(q, b->v[i].host,
			    strlen(b->v[i].host)) != 0 ? DNS_ENOMEM : 0;
		util_free(b->v[i].host);
	}
	util_free(b);
	return r;
}

/* TLSA: presence only, each record as "usage selector mtype" text. */
static int
dns_tlsa_collect(struct dns_req *q, const unsigned char *msg, size_t len)
{
	struct tlsa_rr rr[TLSA_MAX];
	char buf[16];
	size_t i, n = 0;

	if (tlsa_parse(msg, len, rr, TLSA_MAX, &n) != 0)
		return -1;
	if (dns_items_alloc(q, n) != 0)
		return DNS_ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%u %u %u", rr[i].usage,
		    rr[i].selector, rr[i].mtype);
		if (dns_add_item(q, buf, strlen(buf)) != 0)
			return DNS_ENOMEM;
	}
	return 0;
}

/* TXT, MX and TLSA answers: the whole message, read by dnsmsg.c. */
static void
dns_on_answer(struct dns_req *q, int status, const unsigned char *msg,
    size_t len)
{
	static const char *const none[] = {
		[DNS_K_TXT] = "no record (NODATA)",
		[DNS_K_MX] = "null MX (RFC 7505)",
		[DNS_K_ADDR] = "no address",
		[DNS_K_TLSA] = "no TLSA record",
	};
	int r = 0;

	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK) {
		if (q->kind == DNS_K_TXT)
			r = dns_txt_collect(q, msg, len);
		else if (q->kind == DNS_K_MX)
			r = dns_mx_collect(q, msg, len);
		else
			r = dns_tlsa_collect(q, msg, len);
		if (r != 0) {
			q->status = DNS_TEMP;
			util_err(q->why, sizeof(q->why), "%s",
			    r == DNS_ENOMEM ? "out of memory" :
			    "malformed DNS answer");
		}
	}
	if (q->status == DNS_OK && q->n == 0) {
		q->status = DNS_NODATA;
		util_err(q->why, sizeof(q->why), "%s", none[q->kind]);
	}
	dns_finish(q);
}

static void
dns_on_raw(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	(void)timeouts;
	dns_on_answer(arg, status, abuf, alen > 0 ? (size_t)alen : 0);
}

static void
dns_on_addr(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct dns_req *q = arg;
	struct ares_addrinfo_node *n;
	char buf[INET6_ADDRSTRLEN];
	const void *a;

	(void)timeouts;
	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK && dns_items_alloc(q, DNS_ADDR_MAX) != 0) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "out of memory");
	}
	for (n = ai ? ai->nodes : NULL; q->status == DNS_OK && n != NULL;
	    n = n->ai_next) {
		if (n->ai_family == AF_INET)
			a = &((struct sockaddr_in *)(void *)n->ai_addr)->
			    sin_addr;
		else if (n->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)(void *)n->ai_addr)->
			    sin6_addr;
		else
			continue;
		if (inet_ntop(n->ai_family, a, buf, sizeof(buf)) == NULL ||
		    dns_add_item(q, buf, strlen(buf)) != 0)
			q->status = DNS_TEMP;
	}
	if (q->status == DNS_OK && q->n == 0) {
		q->status = DNS_NODATA;
		util_err(q->why, sizeof(q->why), "no address");
	}
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	dns_finish(q);
}

static struct dns_req *
dns_req_new(struct dns *d, enum dns_kind kind, void *cb, void *arg)
{
	struct dns_req *q;

	if ((q = util_calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if ((q->timer = evtimer_new(d->base, dns_on_req_timer, q)) == NULL) {
		util_free(q);
		return NULL;
	}
	q->d = d;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	q->starting = 1;
	return q;
}

static void
dns_start(struct dns *d, enum dns_kind kind, const char *name, void *cb,
    void *arg)
{
	struct ares_addrinfo_hints h;
	struct dns_req *q;
	struct timeval tv;

	if ((q = dns_req_new(d, kind, cb, arg)) == NULL) {
		/* Not even a request to defer with: the caller's loop
		 * must not see a synchronous callback, so fail loudly. */
		abort();
	}
	switch (kind) {
	case DNS_K_TXT:
		ares_query(d->channel, name, ns_c_in, ns_t_txt, dns_on_raw, q);
		break;
	case DNS_K_MX:
		ares_query(d->channel, name, ns_c_in, ns_t_mx, dns_on_raw, q);
		break;
	case DNS_K_TLSA:
		ares_query(d->channel, name, ns_c_in, TLSA_TYPE, dns_on_raw,
		    q);
		break;
	case DNS_K_ADDR:
		memset(&h, 0, sizeof(h));
		h.ai_family = AF_UNSPEC;
		ares_getaddrinfo(d->channel, name, NULL, &h, dns_on_addr, q);
		break;
	}
	q->starting = 0;
	if (!q->answered) {
		tv.tv_sec = d->timeout;
		tv.tv_usec = 0;
		evtimer_add(q->timer, &tv);
	}
	dns_reschedule(d);
}

void
dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg)
{
	dns_start(d, DNS_K_TXT, name, (void *)cb, arg);
}

void
dns_mx(struct dns *d, const char *name, dns_list_cb cb, void *arg)
{
	dns_start(d, DNS_K_MX, name, (void *)cb, arg);
}

void
dns_addr(struct dns *d, const char *host, dns_list_cb cb, void *arg)
{
	dns_start(d, DNS_K_ADDR, host, (void *)cb, arg);
}

void
dns_tlsa(struct dns *d, const char *name, dns_list_cb cb, void *arg)
{
	dns_start(d, DNS_K_TLSA, name, (void *)cb, arg);
}
