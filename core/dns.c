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
#include "tlsa.h"
#include "util.h"

#define DNS_MAX_SOCKS	16	/* c-ares uses one or two per server */
#define DNS_MAX_ITEMS	64	/* RRs or addresses kept per answer */

struct dns_sock {
	ares_socket_t	 fd;
	struct event	*ev;		/* NULL when the slot is free */
};

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;
	struct dns_sock		 socks[DNS_MAX_SOCKS];
	struct dns_req		*deferred;	/* answered inside a start */
};

enum dns_kind { DNS_K_TXT, DNS_K_MX, DNS_K_ADDR, DNS_K_TLSA };

struct dns_req {
	struct dns	*d;
	enum dns_kind	 kind;
	void		*cb;		/* dns_txt_cb or dns_list_cb */
	void		*arg;
	int		 starting;	/* inside the start call */
	struct event	*defer;		/* when answered while starting */
	struct dns_req	*next;		/* on d->deferred */
	int		 status;	/* result, for a deferred callback */
	char		 why[96];
	struct mtasts_rr rrs[DNS_MAX_ITEMS];
	char		*items[DNS_MAX_ITEMS];	/* owned strings */
	size_t		 n;
};

static void dns_reschedule(struct dns *);
static void dns_deliver(struct dns_req *);

static const struct timeval zero;

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
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = dns_on_sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)(timeout * 1000 / 2);	/* two tries per server */
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
	size_t i;

	if (d == NULL)
		return;
	if (d->channel != NULL)
		ares_destroy(d->channel);	/* callbacks: ARES_EDESTRUCTION */
	while (d->deferred != NULL)
		dns_deliver(d->deferred);
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
	struct dns_req **pp;
	size_t i;

	if (q->defer != NULL) {
		for (pp = &q->d->deferred; *pp != NULL; pp = &(*pp)->next)
			if (*pp == q) {
				*pp = q->next;
				break;
			}
		event_free(q->defer);
	}

	for (i = 0; i < q->n; i++)
		util_free(q->items[i]);
	util_free(q);
}

static void
dns_deliver(struct dns_req *q)
{
	if (q->kind == DNS_K_TXT)
		((dns_txt_cb)q->cb)(q->status, q->rrs, q->n, q->why, q->arg);
	else
		((dns_list_cb)q->cb)(q->status, q->items, q->n, q->why,
		    q->arg);
	dns_req_free(q);
}

static void
dns_on_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dns_deliver(arg);
}

/* Deliver now, or on the next loop turn if still inside the start. */
static void
dns_finish(struct dns_req *q)
{
	if (!q->starting) {
		dns_deliver(q);
		return;
	}
	if ((q->defer = evtimer_new(q->d->base, dns_on_deferred, q)) == NULL)
		abort();	/* see dns_start() */
	q->next = q->d->deferred;
	q->d->deferred = q;
	evtimer_add(q->defer, &zero);
}

static int
dns_add_item(struct dns_req *q, const char *p, size_t len)
{
	if (q->n == DNS_MAX_ITEMS)
		return 0;		/* enough to decide on; rest ignored */
	if ((q->items[q->n] = util_strndup(p, len)) == NULL)
		return -1;
	q->rrs[q->n].data = q->items[q->n];
	q->rrs[q->n].len = len;
	q->n++;
	return 0;
}

/* D17: concatenate the strings of one RR, never across RRs. */
static int
dns_txt_collect(struct dns_req *q, struct ares_txt_ext *t)
{
	struct ares_txt_ext *s, *e;
	size_t len;
	char *buf;

	while (t != NULL) {
		len = 0;
		for (e = t; e != NULL && (e == t || !e->record_start);
		    e = e->next)
			len += e->length;
		if ((buf = util_malloc(len + 1)) == NULL)
			return -1;
		len = 0;
		for (s = t; s != e; s = s->next) {
			memcpy(buf + len, s->txt, s->length);
			len += s->length;
		}
		if (dns_add_item(q, buf, len) != 0) {
			util_free(buf);
			return -1;
		}
		util_free(buf);
		t = e;
	}
	return 0;
}

static void
dns_on_txt(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_req *q = arg;
	struct ares_txt_ext *t = NULL;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_txt_reply_ext(abuf, alen, &t);
	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK && dns_txt_collect(q, t) != 0) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "out of memory");
	}
	if (t != NULL)
		ares_free_data(t);
	dns_finish(q);
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct ares_mx_reply *x = *(const struct ares_mx_reply *const *)a;
	const struct ares_mx_reply *y = *(const struct ares_mx_reply *const *)b;

	return (int)x->priority - (int)y->priority;
}

static int
dns_mx_collect(struct dns_req *q, struct ares_mx_reply *mx)
{
	struct ares_mx_reply *v[DNS_MAX_ITEMS], *m;
	size_t n = 0, i, len;

	for (m = mx; m != NULL && n < DNS_MAX_ITEMS; m = m->next)
		v[n++] = m;
	/* RFC 5321 §5.1: lowest preference first; order among equal
	 * preferences is left as qsort leaves it. */
	qsort(v, n, sizeof(v[0]), dns_mx_cmp);
	for (i = 0; i < n; i++) {
		len = strlen(v[i]->host);
		if (len > 0 && v[i]->host[len - 1] == '.')
			len--;
		if (len == 0)
			continue;	/* RFC 7505 null MX "." */
		if (dns_add_item(q, v[i]->host, len) != 0)
			return -1;
	}
	return 0;
}

static void
dns_on_mx(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_req *q = arg;
	struct ares_mx_reply *mx = NULL;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK && dns_mx_collect(q, mx) != 0) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "out of memory");
	}
	if (q->status == DNS_OK && q->n == 0) {
		q->status = DNS_NODATA;
		util_err(q->why, sizeof(q->why), "null MX (RFC 7505)");
	}
	if (mx != NULL)
		ares_free_data(mx);
	dns_finish(q);
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

/* TLSA: presence only, each record as "usage selector mtype" text. */
static void
dns_on_tlsa(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_req *q = arg;
	struct tlsa_rr rr[TLSA_MAX];
	char buf[16];
	size_t i, n = 0;

	(void)timeouts;
	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK && (alen < 0 ||
	    tlsa_parse(abuf, (size_t)alen, rr, TLSA_MAX, &n) != 0)) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "malformed DNS answer");
	}
	for (i = 0; q->status == DNS_OK && i < n; i++) {
		snprintf(buf, sizeof(buf), "%u %u %u", rr[i].usage,
		    rr[i].selector, rr[i].mtype);
		if (dns_add_item(q, buf, strlen(buf)) != 0)
			q->status = DNS_TEMP;
	}
	if (q->status == DNS_OK && q->n == 0) {
		q->status = DNS_NODATA;
		util_err(q->why, sizeof(q->why), "no TLSA record");
	}
	dns_finish(q);
}

static struct dns_req *
dns_req_new(struct dns *d, enum dns_kind kind, void *cb, void *arg)
{
	struct dns_req *q;

	if ((q = util_calloc(1, sizeof(*q))) == NULL)
		return NULL;
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

	if ((q = dns_req_new(d, kind, cb, arg)) == NULL) {
		/* Not even a request to defer with: the caller's loop
		 * must not see a synchronous callback, so fail loudly. */
		abort();
	}
	switch (kind) {
	case DNS_K_TXT:
		ares_query(d->channel, name, ns_c_in, ns_t_txt, dns_on_txt, q);
		break;
	case DNS_K_MX:
		ares_query(d->channel, name, ns_c_in, ns_t_mx, dns_on_mx, q);
		break;
	case DNS_K_TLSA:
		ares_query(d->channel, name, ns_c_in, TLSA_TYPE, dns_on_tlsa,
		    q);
		break;
	case DNS_K_ADDR:
		memset(&h, 0, sizeof(h));
		h.ai_family = AF_UNSPEC;
		ares_getaddrinfo(d->channel, name, NULL, &h, dns_on_addr, q);
		break;
	}
	q->starting = 0;
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
