/*
 * dns.c - c-ares on libevent: one event per socket c-ares opens (its
 * ARES_OPT_SOCK_STATE_CB), one timer for its retransmissions, one per
 * request for dns_timeout.  Answers are classified so the decision can
 * tell "no record" from "DNS is failing" (checklist A1.13: a temporary
 * failure keeps the cache).  TXT, MX and TLSA answers are read from the
 * wire by dnsmsg.c and tlsa.c, so c-ares 1.18 (Debian 12) and 1.34
 * (Debian 13, where its parsers are deprecated) give the same results.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "mtasts.h"
#include "dns.h"
#include "dnsmsg.h"
#include "tlsa.h"
#include "util.h"

#define DNS_MAX_SOCKS	16	/* c-ares uses one or two per server */
#define DNS_MX_MAX	64	/* MX hosts kept: the lowest preferences */
#define DNS_ADDR_MAX	64	/* addresses kept per host */
#define DNS_ENOMEM	(-2)	/* from the collectors; -1 is malformed */
#define DNS_FAIL_MAX	32	/* starts without memory, per loop turn */

struct dns_sock {
	ares_socket_t	 fd;
	struct event	*ev;		/* NULL when the slot is free */
};

enum dns_kind { DNS_K_TXT, DNS_K_MX, DNS_K_ADDR, DNS_K_TLSA,
	DNS_K_MX_SEC, DNS_K_TLSA_SEC, DNS_K_ADDR_SEC };

#define DNS_SEC(k)	((k) == DNS_K_MX_SEC || (k) == DNS_K_TLSA_SEC || \
			    (k) == DNS_K_ADDR_SEC)

/* A start that could not allocate its request, answered next turn. */
struct dns_fail {
	enum dns_kind	 kind;
	void		*cb;
	void		*arg;
};

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;
	struct dns_sock		 socks[DNS_MAX_SOCKS];
	struct dns_req		*waiting;	/* answered inside a start */
	unsigned int		 timeout;	/* seconds, per lookup */
	struct event		*fail_ev;	/* made before it is needed */
	struct dns_fail		 fail[DNS_FAIL_MAX];
	size_t			 nfail;
	int			 closing;	/* inside dns_free() */
};

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
	int		 ad;		/* answer's AD bit (_SEC kinds) */
	char		 why[96];
	struct mtasts_rr *rrs;		/* items[i] with their lengths */
	char		**items;	/* owned strings */
	size_t		 n, size;
};

static void dns_reschedule(struct dns *);
static void dns_deliver(struct dns_req *);
static void dns_req_free(struct dns_req *);
static void dns_on_fail(evutil_socket_t, short, void *);
static void dns_fail_deliver(struct dns *, size_t);

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
	if ((d->timer = evtimer_new(base, dns_on_timer, d)) == NULL ||
	    (d->fail_ev = event_new(base, -1, 0, dns_on_fail, d)) == NULL) {
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
	d->closing = 1;
	if (d->channel != NULL)
		ares_destroy(d->channel);	/* callbacks: ARES_EDESTRUCTION */
	while ((q = d->waiting) != NULL) {
		d->waiting = q->next;
		dns_deliver(q);
		dns_req_free(q);
	}
	while (d->nfail > 0)
		dns_fail_deliver(d, d->nfail);
	if (d->fail_ev != NULL)
		event_free(d->fail_ev);
	for (i = 0; i < DNS_MAX_SOCKS; i++)
		if (d->socks[i].ev != NULL)
			event_free(d->socks[i].ev);
	if (d->timer != NULL)
		event_free(d->timer);
	util_free(d);
	ares_library_cleanup();
}

int
dns_why_local(const char *why)
{
	return why != NULL && strcmp(why, DNS_WHY_ENOMEM) == 0;
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
	case ARES_ENOMEM:
		util_err(why, whylen, DNS_WHY_ENOMEM);
		return DNS_TEMP;
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
	/* A failure part way through gives nothing, not a partial RRset. */
	size_t n = q->status == DNS_OK ? q->n : 0;

	q->delivered = 1;
	if (q->kind == DNS_K_TXT)
		((dns_txt_cb)q->cb)(q->status, q->rrs, n, q->why, q->arg);
	else if (DNS_SEC(q->kind))
		((dns_sec_cb)q->cb)(q->status, q->status == DNS_TEMP ? 0 :
		    q->ad, q->items, n, q->why, q->arg);
	else
		((dns_list_cb)q->cb)(q->status, q->items, n, q->why, q->arg);
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
	q->answered = 1;
	if (q->delivered) {
		dns_req_free(q);
		return;
	}
	if (q->starting) {
		q->next = q->d->waiting;
		q->d->waiting = q;
		/* event_active, unlike a zero timer, never allocates. */
		event_active(q->timer, EV_TIMEOUT, 1);
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

/*
 * TLSA for DANE: each record in presentation form, "usage selector
 * mtype HEX" (RFC 6698 §2.2), which dane.c checks and RFC 8460 §4.4
 * reports quote as the tlsa policy-string.  At least one octet of data
 * (§2.1); the whole RDATA is at most 65535 octets, so at most 131 kB.
 */
static int
dns_tlsa_sec_add(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	static const char hex[] = "0123456789ABCDEF";
	struct dns_req *q = arg;
	char *buf;
	size_t i, n;
	int r;

	(void)len;
	if (type != DNSMSG_T_TLSA || rdlen < 4)
		return 0;
	if ((q->size == 0 && dns_items_alloc(q, TLSA_MAX) != 0) ||
	    (buf = util_malloc(16 + 2 * rdlen)) == NULL)
		return DNS_ENOMEM;
	n = (size_t)snprintf(buf, 16, "%u %u %u ", msg[rdoff], msg[rdoff + 1],
	    msg[rdoff + 2]);
	for (i = 3; i < rdlen; i++) {
		buf[n++] = hex[msg[rdoff + i] >> 4];
		buf[n++] = hex[msg[rdoff + i] & 0x0f];
	}
	r = dns_add_item(q, buf, n) != 0 ? DNS_ENOMEM : 0;
	util_free(buf);
	return r;
}

/* Addresses for DANE: only whether there are any, and the AD bit. */
static int
dns_a_add(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct dns_req *q = arg;
	char buf[INET_ADDRSTRLEN];

	(void)len;
	if (type != DNSMSG_T_A || rdlen != 4 ||
	    inet_ntop(AF_INET, msg + rdoff, buf, sizeof(buf)) == NULL)
		return 0;
	if (q->size == 0 && dns_items_alloc(q, DNS_ADDR_MAX) != 0)
		return DNS_ENOMEM;
	return dns_add_item(q, buf, strlen(buf)) != 0 ? DNS_ENOMEM : 0;
}

/*
 * A validator's verdict is in the header (RFC 4035 §3.2.3, RFC 6840
 * §5.7): AD set when the answer was authenticated; SERVFAIL when the
 * data are bogus.  c-ares hands a raw send an NXDOMAIN answer as a
 * success and ends a SERVFAIL with an error after its tries (1.18 and
 * 1.34 alike, tested); the rcode is checked here all the same, so that
 * no version can make a bogus zone look like one without TLSA records:
 * anything but NOERROR and NXDOMAIN is a temporary failure.
 */
static void
dns_sec_flags(struct dns_req *q, const unsigned char *msg, size_t len)
{
	unsigned int rcode;

	if (msg == NULL || len < 12) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "malformed DNS answer");
		return;
	}
	rcode = msg[3] & 0x0f;
	q->ad = (msg[3] & 0x20) != 0;
	if (rcode != 0 && rcode != 3) {
		q->status = DNS_TEMP;
		util_err(q->why, sizeof(q->why), "temporary DNS failure: "
		    "rcode %u%s", rcode, rcode == 2 ? " (SERVFAIL)" : "");
	}
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
		[DNS_K_MX_SEC] = "null MX (RFC 7505)",
		[DNS_K_TLSA_SEC] = "no TLSA record",
		[DNS_K_ADDR_SEC] = "no IPv4 address",
	};
	int r = 0;

	q->status = dns_classify(status, q->why, sizeof(q->why));
	if (q->status == DNS_OK && DNS_SEC(q->kind))
		dns_sec_flags(q, msg, len);
	if (q->status == DNS_OK) {
		if (q->kind == DNS_K_TXT)
			r = dns_txt_collect(q, msg, len);
		else if (q->kind == DNS_K_MX || q->kind == DNS_K_MX_SEC)
			r = dns_mx_collect(q, msg, len);
		else if (q->kind == DNS_K_TLSA_SEC)
			r = dnsmsg_answers(msg, len, dns_tlsa_sec_add, q);
		else if (q->kind == DNS_K_ADDR_SEC)
			r = dnsmsg_answers(msg, len, dns_a_add, q);
		else
			r = dns_tlsa_collect(q, msg, len);
		if (r != 0) {
			q->status = DNS_TEMP;
			util_err(q->why, sizeof(q->why), "%s",
			    r == DNS_ENOMEM ? DNS_WHY_ENOMEM :
			    "malformed DNS answer");
		}
	}
	if (q->status == DNS_OK && q->n == 0) {
		q->status = DNS_NODATA;
		util_err(q->why, sizeof(q->why), "%s", none[q->kind]);
	}
	dns_finish(q);
}

#if ARES_VERSION >= 0x011c00
/*
 * c-ares 1.28 and later (Debian 13 has 1.34) deprecate ares_query for
 * ares_query_dnsrec, whose answer comes parsed.  It is written back to
 * wire form for dnsmsg.c, as 1.28's own ares_query does for its
 * callers, so both versions read the same bytes.
 */
static void
dns_on_rec(void *arg, ares_status_t status, size_t timeouts,
    const ares_dns_record_t *rec)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	(void)timeouts;
	if (status == ARES_SUCCESS)
		status = rec == NULL ? ARES_EBADRESP :
		    ares_dns_write(rec, &buf, &len);
	dns_on_answer(arg, (int)status, buf, len);
	ares_free_string(buf);
}

/* The callback runs exactly once, from inside the call on an error. */
static void
dns_query(struct dns *d, const char *name, unsigned int type,
    struct dns_req *q)
{
	(void)ares_query_dnsrec(d->channel, name, ARES_CLASS_IN,
	    (ares_dns_rec_type_t)type, dns_on_rec, q, NULL);
}

/* The same query with AD set (RFC 6840 §5.7), sent as it is. */
static void
dns_query_ad(struct dns *d, const char *name, unsigned int type,
    struct dns_req *q)
{
	ares_dns_record_t *rec = NULL;
	ares_status_t r;

	r = ares_dns_record_create(&rec, 0, ARES_FLAG_RD | ARES_FLAG_AD,
	    ARES_OPCODE_QUERY, ARES_RCODE_NOERROR);
	if (r == ARES_SUCCESS)
		r = ares_dns_record_query_add(rec, name,
		    (ares_dns_rec_type_t)type, ARES_CLASS_IN);
	if (r == ARES_SUCCESS)
		(void)ares_send_dnsrec(d->channel, rec, dns_on_rec, q, NULL);
	else
		dns_on_answer(q, (int)r, NULL, 0);
	ares_dns_record_destroy(rec);
}
#else
/* c-ares 1.18 (Debian 12): the answer as it came. */
static void
dns_on_raw(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	(void)timeouts;
	dns_on_answer(arg, status, abuf, alen > 0 ? (size_t)alen : 0);
}

static void
dns_query(struct dns *d, const char *name, unsigned int type,
    struct dns_req *q)
{
	ares_query(d->channel, name, DNSMSG_C_IN, (int)type, dns_on_raw, q);
}

/* The same query with AD set (RFC 6840 §5.7): ares_query cannot set
 * it, so the query is made here and sent as it is.  ares_send takes
 * its id from the buffer: a random one, as ares_query would choose. */
static void
dns_query_ad(struct dns *d, const char *name, unsigned int type,
    struct dns_req *q)
{
	unsigned char *buf = NULL, id[2];
	int len = 0, r;

	if (RAND_bytes(id, sizeof(id)) != 1) {
		dns_on_answer(q, ARES_ENOMEM, NULL, 0);
		return;
	}
	r = ares_create_query(name, DNSMSG_C_IN, (int)type,
	    (unsigned short)(id[0] << 8 | id[1]), 1, &buf, &len, 0);
	if (r != ARES_SUCCESS || len < 12) {
		if (buf != NULL)
			ares_free_string(buf);
		dns_on_answer(q, r != ARES_SUCCESS ? r : ARES_EBADQUERY,
		    NULL, 0);
		return;
	}
	buf[3] |= 0x20;		/* AD */
	ares_send(d->channel, buf, len, dns_on_raw, q);
	ares_free_string(buf);
}
#endif

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
		util_err(q->why, sizeof(q->why), DNS_WHY_ENOMEM);
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

/* Deliver the first n failed starts.  Later ones (a callback may start
 * a lookup that fails again) wait for the next turn. */
static void
dns_fail_deliver(struct dns *d, size_t n)
{
	struct dns_fail f[DNS_FAIL_MAX];
	size_t i;

	memcpy(f, d->fail, n * sizeof(f[0]));
	memmove(d->fail, d->fail + n, (d->nfail - n) * sizeof(f[0]));
	d->nfail -= n;
	if (d->nfail > 0)
		event_active(d->fail_ev, EV_READ, 1);
	for (i = 0; i < n; i++)
		if (f[i].kind == DNS_K_TXT)
			((dns_txt_cb)f[i].cb)(DNS_TEMP, NULL, 0,
			    DNS_WHY_ENOMEM, f[i].arg);
		else if (DNS_SEC(f[i].kind))
			((dns_sec_cb)f[i].cb)(DNS_TEMP, 0, NULL, 0,
			    DNS_WHY_ENOMEM, f[i].arg);
		else
			((dns_list_cb)f[i].cb)(DNS_TEMP, NULL, 0,
			    DNS_WHY_ENOMEM, f[i].arg);
}

static void
dns_on_fail(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	dns_fail_deliver(d, d->nfail);
}

/*
 * No memory for a request: its callback still runs once, on the next
 * loop turn, from a slot and an event made in dns_new() (no abort()
 * in a library that runs inside Exim).  Only when DNS_FAIL_MAX starts
 * failed in one turn is the caller told instead.
 */
static int
dns_start_failed(struct dns *d, enum dns_kind kind, void *cb, void *arg)
{
	if (d->nfail == DNS_FAIL_MAX)
		return MTASTS_ENOMEM;
	d->fail[d->nfail].kind = kind;
	d->fail[d->nfail].cb = cb;
	d->fail[d->nfail].arg = arg;
	d->nfail++;
	event_active(d->fail_ev, EV_READ, 1);
	return MTASTS_OK;
}

static int
dns_start(struct dns *d, enum dns_kind kind, const char *name, void *cb,
    void *arg)
{
	struct ares_addrinfo_hints h;
	struct dns_req *q;
	struct timeval tv;

	if (d->closing)
		return MTASTS_EINVAL;	/* from a callback of dns_free() */
	if ((q = dns_req_new(d, kind, cb, arg)) == NULL)
		return dns_start_failed(d, kind, cb, arg);
	switch (kind) {
	case DNS_K_TXT:
		dns_query(d, name, DNSMSG_T_TXT, q);
		break;
	case DNS_K_MX:
		dns_query(d, name, DNSMSG_T_MX, q);
		break;
	case DNS_K_TLSA:
		dns_query(d, name, DNSMSG_T_TLSA, q);
		break;
	case DNS_K_MX_SEC:
		dns_query_ad(d, name, DNSMSG_T_MX, q);
		break;
	case DNS_K_TLSA_SEC:
		dns_query_ad(d, name, DNSMSG_T_TLSA, q);
		break;
	case DNS_K_ADDR_SEC:
		dns_query_ad(d, name, DNSMSG_T_A, q);
		break;
	case DNS_K_ADDR:
		memset(&h, 0, sizeof(h));
		h.ai_family = AF_UNSPEC;
		ares_getaddrinfo(d->channel, name, NULL, &h, dns_on_addr, q);
		break;
	}
	q->starting = 0;
	if (!q->answered) {
		/* Should this fail (no memory for libevent's timer heap),
		 * c-ares' own tries still end the lookup. */
		tv.tv_sec = d->timeout;
		tv.tv_usec = 0;
		evtimer_add(q->timer, &tv);
	}
	dns_reschedule(d);
	return MTASTS_OK;
}

int
dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg)
{
	return dns_start(d, DNS_K_TXT, name, (void *)cb, arg);
}

int
dns_mx(struct dns *d, const char *name, dns_list_cb cb, void *arg)
{
	return dns_start(d, DNS_K_MX, name, (void *)cb, arg);
}

int
dns_addr(struct dns *d, const char *host, dns_list_cb cb, void *arg)
{
	return dns_start(d, DNS_K_ADDR, host, (void *)cb, arg);
}

int
dns_tlsa(struct dns *d, const char *name, dns_list_cb cb, void *arg)
{
	return dns_start(d, DNS_K_TLSA, name, (void *)cb, arg);
}

int
dns_mx_sec(struct dns *d, const char *name, dns_sec_cb cb, void *arg)
{
	return dns_start(d, DNS_K_MX_SEC, name, (void *)cb, arg);
}

int
dns_tlsa_sec(struct dns *d, const char *name, dns_sec_cb cb, void *arg)
{
	return dns_start(d, DNS_K_TLSA_SEC, name, (void *)cb, arg);
}

int
dns_addr_sec(struct dns *d, const char *host, dns_sec_cb cb, void *arg)
{
	return dns_start(d, DNS_K_ADDR_SEC, host, (void *)cb, arg);
}
