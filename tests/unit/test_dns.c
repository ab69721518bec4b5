/*
 * test_dns.c - core/dns.c against a DNS server on loopback: c-ares
 * really sends, our server answers from the same libevent loop, over
 * UDP and (for answers over 512 octets, sent truncated over UDP) TCP.
 * The port is the kernel's choice, so nothing here needs the fixture's
 * fixed ports or the lock that guards them.
 *
 *	txt80.t   80 TXT RRs, the one "v=STSv1" record is the 80th
 *	txt2.t    90 TXT RRs, "v=STSv1" records at 10 and 90
 *	mx100.t   100 MX RRs, preferences 1000 down to 901 (best last)
 *	mxeq.t    70 MX RRs, all of preference 10
 *	mxnull.t  the RFC 7505 null MX
 *	hole.t    never answered
 *	tlsa-ad.t     TLSA 3 1 1 and 0 0 1, AD set if the query set it
 *	tlsa-noad.t   TLSA 3 1 1, never AD (a resolver that does not
 *	              validate, or an unsigned zone)
 *	tlsa-bogus.t  SERVFAIL, as a validator answers bogus data
 *	nx-ad.t       NXDOMAIN, AD set if the query set it
 *	dane-*.t      for mtasts_query with dane_resolver: srv_dane()
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include <mtasts.h>

#include "dns.h"
#include "dnsmsg.h"
#include "util.h"

#define SRV_UDP_MAX	512	/* RFC 1035 §4.2.1; we ignore EDNS */

static unsigned int	 srv_ad_seen;	/* queries with AD set */
#define SRV_MSG_MAX	16384

struct srv {
	struct event_base	*base;
	int			 udp, tcp;
	struct event		*ev_udp, *ev_tcp;
	unsigned short		 port;
	unsigned int		 queries;	/* seen, over both */
	struct conn		*conns;		/* open TCP connections */
};

struct conn {
	struct srv		*s;
	struct conn		*next;
	int			 fd;
	struct event		*ev;
	unsigned char		 buf[600];
	size_t			 len;
};

struct wbuf {
	unsigned char	 p[SRV_MSG_MAX];
	size_t		 len;
};

static void
put(struct wbuf *w, const void *p, size_t len)
{
	assert_true(w->len + len <= sizeof(w->p));
	memcpy(w->p + w->len, p, len);
	w->len += len;
}

static void
put16(struct wbuf *w, unsigned int v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(w, b, 2);
}

/* An answer RR owned by the question's name (pointer to offset 12). */
static void
put_rr(struct wbuf *w, unsigned int type, const void *rd, size_t rdlen)
{
	static const unsigned char head[] = { 0xc0, 12 };

	put(w, head, 2);
	put16(w, type);
	put16(w, 1);
	put16(w, 0);
	put16(w, 1);		/* TTL 1 */
	put16(w, (unsigned int)rdlen);
	put(w, rd, rdlen);
}

static void
put_txt(struct wbuf *w, const char *s)
{
	unsigned char rd[256];
	size_t n = strlen(s);

	rd[0] = (unsigned char)n;
	memcpy(rd + 1, s, n);
	put_rr(w, 16, rd, n + 1);
}

/* MX exchange "mxN" under the question's name, compressed. */
static void
put_mx(struct wbuf *w, unsigned int pref, unsigned int i)
{
	unsigned char rd[16];
	int n;

	rd[0] = (unsigned char)(pref >> 8);
	rd[1] = (unsigned char)pref;
	n = snprintf((char *)rd + 3, sizeof(rd) - 3, "mx%u", i);
	rd[2] = (unsigned char)n;
	rd[3 + n] = 0xc0;
	rd[4 + n] = 12;
	put_rr(w, 15, rd, (size_t)n + 5);
}

/*
 * The DANE scenarios (core/dane.c), AD only when the query asked:
 *	dane-ok.t	MX mx0 (AD), its TLSA 3 1 1 (AD): usable
 *	dane-pkix.t	MX mx0 (AD), its TLSA 1 1 1 (AD): none (§3.1)
 *	dane-noad.t	MX mx0 without AD, TLSA 3 1 1 (AD): none
 *	dane-fail.t	MX mx0 (AD), TLSA SERVFAIL: temporary
 *	dane-nomx.t	no MX (NXDOMAIN, AD), TLSA 3 1 1 at the domain
 *	dane-insa.t	MX mx0 (AD), its A without AD, TLSA 3 1 1 (AD):
 *			none (RFC 7672 §2.2)
 *	dane-afail.t	MX mx0 (AD), its A SERVFAIL: temporary
 *	dane-short.t	MX mx0 (AD), its TLSA 3 1 1 with a 2-byte
 *			"digest" (AD): none (RFC 7671 §5.1, ignored)
 * Every other host's A is 192.0.2.1 (AD); a usable TLSA record's
 * SHA2-256 digest is 32 bytes.
 */
static int
srv_dane(const char *name, unsigned int qtype, const unsigned char *q,
    struct wbuf *w, unsigned int *an)
{
	static const unsigned char ee[35] = { 3, 1, 1, 0xab, 0xcd };
	static const unsigned char pkix[35] = { 1, 1, 1, 0xab, 0xcd };
	static const unsigned char shortee[] = { 3, 1, 1, 0xab, 0xcd };
	unsigned char ad = q[3] & 0x20;

	static const unsigned char a[] = { 192, 0, 2, 1 };

	if (strncmp(name, "dane-", 5) != 0 && strncmp(name, "_25._tcp.", 9) &&
	    strncmp(name, "mx0.dane-", 9) != 0)
		return 0;
	if (qtype == 1 && strcmp(name, "mx0.dane-afail.t") == 0)
		w->p[3] = (unsigned char)((w->p[3] & 0xf0) | 2);
	else if (qtype == 1) {
		put_rr(w, 1, a, sizeof(a));
		*an = 1;
		if (strcmp(name, "mx0.dane-insa.t") != 0)
			w->p[3] |= ad;
	} else if (qtype == 15 && strcmp(name, "dane-nomx.t") != 0) {
		put_mx(w, 10, 0);
		*an = 1;
		if (strcmp(name, "dane-noad.t") != 0)
			w->p[3] |= ad;
	} else if (qtype == 52 && strcmp(name, "_25._tcp.mx0.dane-fail.t")
	    == 0)
		w->p[3] = (unsigned char)((w->p[3] & 0xf0) | 2);
	else if (qtype == 52 && strcmp(name, "_25._tcp.mx0.dane-short.t")
	    == 0) {
		put_rr(w, 52, shortee, sizeof(shortee));
		*an = 1;
		w->p[3] |= ad;
	} else if (qtype == 52 && strcmp(name, "_25._tcp.mx0.dane-pkix.t")
	    == 0) {
		put_rr(w, 52, pkix, sizeof(pkix));
		*an = 1;
		w->p[3] |= ad;
	} else if (qtype == 52) {
		put_rr(w, 52, ee, sizeof(ee));
		*an = 1;
		w->p[3] |= ad;
	} else
		w->p[3] |= 3 | ad;		/* NXDOMAIN */
	return 1;
}

/* Build the answer to query q (qlen octets); 0 if it must not get one. */
static int
srv_answer(const unsigned char *q, size_t qlen, struct wbuf *w)
{
	char name[256];
	size_t o = 12, n = 0;
	unsigned int qtype, an = 0, i;
	size_t anpos;

	if (qlen < 12)
		return 0;
	while (o < qlen && q[o] != 0 && n + q[o] + 1 < sizeof(name)) {
		if (n > 0)
			name[n++] = '.';
		memcpy(name + n, q + o + 1, q[o]);
		n += q[o];
		o += 1 + q[o];
	}
	name[n] = '\0';
	if (o + 5 > qlen)
		return 0;
	qtype = (unsigned int)q[o + 1] << 8 | q[o + 2];
	o += 5;
	if (strcmp(name, "hole.t") == 0)
		return 0;
	if (q[3] & 0x20)
		srv_ad_seen++;
	w->len = 0;
	put(w, q, 2);				/* id */
	put16(w, 0x8400 | (q[2] & 1) << 8);	/* QR AA, RD copied */
	put16(w, 1);
	anpos = w->len;
	put16(w, 0);
	put16(w, 0);
	put16(w, 0);
	put(w, q + 12, o - 12);
	if (strcmp(name, "txt80.t") == 0 && qtype == 16) {
		char s[32];

		for (i = 1; i < 80; i++) {
			snprintf(s, sizeof(s), "other=%u", i);
			put_txt(w, s);
		}
		put_txt(w, "v=STSv1; id=pos80");
		an = 80;
	} else if (strcmp(name, "txt2.t") == 0 && qtype == 16) {
		char s[32];

		for (i = 1; i <= 90; i++) {
			if (i == 10 || i == 90)
				snprintf(s, sizeof(s), "v=STSv1; id=pos%u", i);
			else
				snprintf(s, sizeof(s), "other=%u", i);
			put_txt(w, s);
		}
		an = 90;
	} else if (strcmp(name, "mx100.t") == 0 && qtype == 15) {
		for (i = 0; i < 100; i++)
			put_mx(w, 1000 - i, i);
		an = 100;
	} else if (strcmp(name, "mxeq.t") == 0 && qtype == 15) {
		for (i = 0; i < 70; i++)
			put_mx(w, 10, i);
		an = 70;
	} else if (strcmp(name, "mxnull.t") == 0 && qtype == 15) {
		static const unsigned char null_mx[] = { 0, 0, 0 };

		put_rr(w, 15, null_mx, sizeof(null_mx));
		an = 1;
	} else if (srv_dane(name, qtype, q, w, &an)) {
		;
	} else if (strcmp(name, "tlsa-ad.t") == 0 && qtype == 52) {
		static const unsigned char ee[] = { 3, 1, 1, 0xab, 0xcd };
		static const unsigned char pkix[] = { 0, 0, 1, 0xab };

		put_rr(w, 52, ee, sizeof(ee));
		put_rr(w, 52, pkix, sizeof(pkix));
		w->p[3] |= q[3] & 0x20;		/* RFC 6840 §5.7 */
		an = 2;
	} else if (strcmp(name, "tlsa-noad.t") == 0 && qtype == 52) {
		static const unsigned char ee[] = { 3, 1, 1, 0xab, 0xcd };

		put_rr(w, 52, ee, sizeof(ee));
		an = 1;
	} else if (strcmp(name, "tlsa-bogus.t") == 0) {
		w->p[3] = (unsigned char)((w->p[3] & 0xf0) | 2); /* SERVFAIL */
	} else if (strcmp(name, "nx-ad.t") == 0) {
		w->p[3] |= 3 | (q[3] & 0x20);	/* NXDOMAIN, AD */
	} else
		w->p[3] |= 3;			/* NXDOMAIN */
	w->p[anpos] = (unsigned char)(an >> 8);
	w->p[anpos + 1] = (unsigned char)an;
	return 1;
}

static void
srv_on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned char q[SRV_UDP_MAX];
	static struct wbuf w;
	ssize_t n;

	(void)what;
	if ((n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&ss,
	    &sl)) <= 0)
		return;
	s->queries++;
	if (!srv_answer(q, (size_t)n, &w))
		return;
	if (w.len > SRV_UDP_MAX) {		/* TC: question only */
		w.p[2] |= 0x02;
		w.p[6] = w.p[7] = 0;
		w.len = (size_t)n;
		memcpy(w.p + 12, q + 12, (size_t)n - 12);
	}
	(void)sendto(fd, w.p, w.len, 0, (struct sockaddr *)&ss, sl);
}

static void
conn_close(struct conn *c)
{
	struct conn **pp;

	for (pp = &c->s->conns; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	event_free(c->ev);
	close(c->fd);
	free(c);
}

static void
srv_on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	static struct wbuf w;
	unsigned char len[2];
	size_t need;
	ssize_t n;

	(void)what;
	n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	if (c->len < 2 || c->len < (need = 2 + (c->buf[0] << 8 | c->buf[1])))
		return;
	c->s->queries++;
	if (srv_answer(c->buf + 2, need - 2, &w)) {
		len[0] = (unsigned char)(w.len >> 8);
		len[1] = (unsigned char)w.len;
		assert_int_equal(write(fd, len, 2), 2);
		assert_int_equal(write(fd, w.p, w.len), (ssize_t)w.len);
	}
	c->len = 0;
}

static void
srv_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct srv *s = arg;
	struct conn *c;
	int cfd;

	(void)what;
	if ((cfd = accept(fd, NULL, NULL)) < 0)
		return;
	assert_non_null(c = calloc(1, sizeof(*c)));
	c->s = s;
	c->next = s->conns;
	s->conns = c;
	c->fd = cfd;
	c->ev = event_new(s->base, cfd, EV_READ | EV_PERSIST, srv_on_conn,
	    c);
	event_add(c->ev, NULL);
}

/* UDP and TCP on one port the kernel picks (retried if TCP's is taken). */
static void
srv_start(struct srv *s, struct event_base *base)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int try, one = 1;

	memset(s, 0, sizeof(*s));
	s->base = base;
	for (try = 0; try < 20; try++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_true((s->udp = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
		assert_int_equal(bind(s->udp, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		assert_int_equal(getsockname(s->udp, (struct sockaddr *)&sin,
		    &sl), 0);
		assert_true((s->tcp = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(s->tcp, 8) == 0)
			break;
		close(s->udp);
		close(s->tcp);
	}
	assert_true(try < 20);
	s->port = ntohs(sin.sin_port);
	s->ev_udp = event_new(base, s->udp, EV_READ | EV_PERSIST, srv_on_udp,
	    s);
	s->ev_tcp = event_new(base, s->tcp, EV_READ | EV_PERSIST,
	    srv_on_accept, s);
	event_add(s->ev_udp, NULL);
	event_add(s->ev_tcp, NULL);
}

static void
srv_stop(struct srv *s)
{
	while (s->conns != NULL)
		conn_close(s->conns);
	event_free(s->ev_udp);
	event_free(s->ev_tcp);
	close(s->udp);
	close(s->tcp);
}

/* dnsmsg.c on hand-made messages: question "e.t" MX at offset 12. */
#define HDR(an)		0x12, 0x34, 0x84, 0, 0, 1, 0, an, 0, 0, 0, 0
#define QMX		1, 'e', 1, 't', 0, 0, 15, 0, 1
#define RRMX(rdlen)	0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 1, 0, rdlen

static const unsigned char mx_ok[] = { HDR(1), QMX, RRMX(8), 0, 7,
    3, 'm', 'x', '1', 0xc0, 12 };
static const unsigned char mx_escape[] = { HDR(1), QMX, RRMX(9), 0, 1,
    5, 'a', '.', 'b', '\\', 1, 0 };
static const unsigned char mx_self[] = { HDR(1), QMX, RRMX(4), 0, 1,
    0xc0, 35 };
static const unsigned char mx_forward[] = { HDR(1), QMX, RRMX(4), 0, 1,
    0xc0, 40 };
static const unsigned char mx_loop[] = { HDR(1), QMX, RRMX(6), 0, 1,
    1, 'a', 0xc0, 35 };
static const unsigned char mx_reserved[] = { HDR(1), QMX, RRMX(4), 0, 1,
    0x40, 0 };
static const unsigned char mx_past_rdata[] = { HDR(1), QMX, RRMX(4), 0,
    1, 3, 'a' };
static const unsigned char mx_rdlen_long[] = { HDR(1), QMX, RRMX(9), 0,
    1, 0 };
static const unsigned char mx_lying_count[] = { HDR(2), QMX, RRMX(3), 0,
    1, 0 };

struct mx_row {
	const char		*what;
	const unsigned char	*msg;
	size_t			 len;
	int			 status;
	const char		*host;
};

#define MXROW(w, m, st, h)	{ w, m, sizeof(m), st, h }

static const struct mx_row mx_rows[] = {
	MXROW("compressed exchange", mx_ok, 0, "mx1.e.t"),
	MXROW("dot and control octet in a label", mx_escape, 0,
	    "a\\.b\\\\\\001"),
	MXROW("pointer to itself", mx_self, -1, ""),
	MXROW("pointer forward", mx_forward, -1, ""),
	MXROW("pointer back into its own name", mx_loop, -1, ""),
	MXROW("reserved label bits", mx_reserved, -1, ""),
	MXROW("name runs past the RDATA", mx_past_rdata, -1, ""),
	MXROW("RDLENGTH past the message", mx_rdlen_long, -1, ""),
	MXROW("ANCOUNT larger than the RRs", mx_lying_count, -1, "\001"),
};

struct mx_seen {
	int	 r;
	char	 host[DNSMSG_HOST_SIZE];
};

static int
on_mx_rr(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct mx_seen *m = arg;
	unsigned int pref;

	assert_int_equal(type, DNSMSG_T_MX);
	m->r = dnsmsg_mx(msg, len, rdoff, rdlen, &pref, m->host);
	return m->r;
}

static void
test_dnsmsg_mx_rows(void **state)
{
	struct mx_seen m;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(mx_rows) / sizeof(mx_rows[0]); i++) {
		print_message("%s\n", mx_rows[i].what);
		memset(&m, 0, sizeof(m));
		r = dnsmsg_answers(mx_rows[i].msg, mx_rows[i].len, on_mx_rr,
		    &m);
		assert_int_equal(r, mx_rows[i].status);
		if (mx_rows[i].host[0] != '\001')
			assert_string_equal(m.host, mx_rows[i].host);
	}
}

/* TXT RDATA: strings concatenated; a string past its RDATA is an error. */
static void
test_dnsmsg_txt(void **state)
{
	static const unsigned char two[] = { 3, 'a', 'b', 'c', 0, 2, 'd',
	    'e' };
	static const unsigned char over[] = { 3, 'a', 'b', 'c', 4, 'd' };
	char out[16];
	size_t n;

	(void)state;
	assert_int_equal(dnsmsg_txt(two, sizeof(two), 0, sizeof(two), out,
	    &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "abcde", 5);
	assert_int_equal(dnsmsg_txt(over, sizeof(over), 0, sizeof(over), out,
	    &n), -1);
	assert_int_equal(dnsmsg_txt(two, sizeof(two), 0, 0, out, &n), -1);
	assert_int_equal(dnsmsg_txt(two, sizeof(two), 4, 8, out, &n), -1);
}

struct env {
	struct event_base	*base;
	struct srv		 srv;
	struct dns		*dns;
};

static void
env_open(struct env *e, unsigned int timeout)
{
	char servers[64], err[160];

	assert_non_null(e->base = event_base_new());
	srv_start(&e->srv, e->base);
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", e->srv.port);
	assert_int_equal(dns_new(e->base, servers, timeout, &e->dns, err,
	    sizeof(err)), MTASTS_OK);
}

static void
env_close(struct env *e)
{
	dns_free(e->dns);
	srv_stop(&e->srv);
	event_base_free(e->base);
}

/* What a callback saw: copied, since the data lives only during it. */
struct got {
	int	 calls;
	int	 status;
	size_t	 n;
	char	 id[MTASTS_ID_MAX + 1];
	int	 select;	/* mtasts_record_select on the RRset */
	char	 first[64], last[64];
	char	 why[128];
};

static void
on_txt(int status, const struct mtasts_rr *rrs, size_t n, const char *why,
    void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->status = status;
	g->n = n;
	snprintf(g->why, sizeof(g->why), "%s", why != NULL ? why : "");
	g->select = mtasts_record_select(rrs, n, g->id, NULL, 0);
}

static void
on_list(int status, char *const *v, size_t n, const char *why, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->status = status;
	g->n = n;
	snprintf(g->why, sizeof(g->why), "%s", why != NULL ? why : "");
	if (n > 0) {
		snprintf(g->first, sizeof(g->first), "%s", v[0]);
		snprintf(g->last, sizeof(g->last), "%s", v[n - 1]);
	}
}

struct got_sec {
	struct got	 g;
	int		 ad;
};

static void
on_sec(int status, int ad, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct got_sec *s = arg;

	s->ad = ad;
	on_list(status, v, n, why, &s->g);
}

static void
run_until(struct env *e, const struct got *g)
{
	time_t t0 = time(NULL);

	while (g->calls == 0 && time(NULL) - t0 < 30)
		event_base_loop(e->base, EVLOOP_ONCE);
	assert_int_equal(g->calls, 1);
}

/* RFC 8461 §3.1: the whole RRset counts, however long it is. */
static void
test_txt_sts_at_80(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_txt(e.dns, "txt80.t", on_txt, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_OK);
	assert_int_equal(g.n, 80);
	assert_int_equal(g.select, MTASTS_OK);
	assert_string_equal(g.id, "pos80");
	env_close(&e);
}

static void
test_txt_two_sts_far_apart(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_txt(e.dns, "txt2.t", on_txt, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_OK);
	assert_int_equal(g.n, 90);
	assert_int_equal(g.select, MTASTS_EMULTIPLE);
	env_close(&e);
}

/* DANE (RFC 7672): the query asks for AD (RFC 6840 §5.7), the answer's
 * AD comes through, and each TLSA record is "usage selector mtype HEX"
 * (RFC 6698 §2.2), the form TLSRPT reports quote (RFC 8460 §4.4). */
static void
test_tlsa_sec_ad(void **state)
{
	struct env e;
	struct got_sec s = { 0 };

	(void)state;
	env_open(&e, 5);
	srv_ad_seen = 0;
	dns_tlsa_sec(e.dns, "tlsa-ad.t", on_sec, &s);
	run_until(&e, &s.g);
	assert_int_equal(s.g.status, DNS_OK);
	assert_int_equal(s.ad, 1);
	assert_int_equal(srv_ad_seen, 1);
	assert_int_equal(s.g.n, 2);
	assert_string_equal(s.g.first, "3 1 1 ABCD");
	assert_string_equal(s.g.last, "0 0 1 AB");
	env_close(&e);
}

static void
test_tlsa_sec_noad(void **state)
{
	struct env e;
	struct got_sec s = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_tlsa_sec(e.dns, "tlsa-noad.t", on_sec, &s);
	run_until(&e, &s.g);
	assert_int_equal(s.g.status, DNS_OK);
	assert_int_equal(s.ad, 0);
	assert_int_equal(s.g.n, 1);
	env_close(&e);
}

/* A validator's SERVFAIL (bogus data) is temporary, never "no TLSA":
 * that would turn a broken DANE domain into one without DANE. */
static void
test_tlsa_sec_bogus(void **state)
{
	struct env e;
	struct got_sec s = { 0 };

	(void)state;
	env_open(&e, 2);
	dns_tlsa_sec(e.dns, "tlsa-bogus.t", on_sec, &s);
	run_until(&e, &s.g);
	assert_int_equal(s.g.status, DNS_TEMP);
	assert_int_equal(s.ad, 0);
	assert_int_equal(s.g.n, 0);
	env_close(&e);
}

/* An authenticated denial: NODATA with AD (the domain is its own MX
 * host, RFC 7672 §2.2.1). */
static void
test_mx_sec_nxdomain_ad(void **state)
{
	struct env e;
	struct got_sec s = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_mx_sec(e.dns, "nx-ad.t", on_sec, &s);
	run_until(&e, &s.g);
	assert_int_equal(s.g.status, DNS_NODATA);
	assert_int_equal(s.ad, 1);
	env_close(&e);
}

struct got_res {
	int	 calls;
	int	 dane;
	int	 apply;
	char	 why[MTASTS_DANE_WHY_MAX];
};

static void
on_res(struct mtasts_result *res, void *arg)
{
	struct got_res *g = arg;

	g->calls++;
	g->dane = mtasts_result_dane(res);
	g->apply = mtasts_result_apply(res);
	snprintf(g->why, sizeof(g->why), "%s", mtasts_result_dane_why(res));
	mtasts_result_free(res);
}

/* core/dane.c: mtasts_query with dane_resolver (RFC 8461 §2, RFC 7672
 * §2.2): the state per scenario, and what a sender applies. */
static void
test_query_dane(void **state)
{
	static const struct {
		const char	*domain;
		int		 dane, apply;
		const char	*why;
	} rows[] = {
		{ "dane-ok.t", MTASTS_DANE_USABLE, MTASTS_APPLY_DANE,
		    "mx0.dane-ok.t: DNSSEC-authenticated TLSA 3 1 1" },
		{ "dane-pkix.t", MTASTS_DANE_NONE, MTASTS_APPLY_NONE,
		    "no DNSSEC-authenticated usable TLSA record for 1 MX "
		    "host" },
		{ "dane-noad.t", MTASTS_DANE_NONE, MTASTS_APPLY_NONE,
		    "MX RRset not DNSSEC-authenticated" },
		{ "dane-fail.t", MTASTS_DANE_TEMPORARY, MTASTS_APPLY_DEFER,
		    "mx0.dane-fail.t: TLSA lookup failed: " },
		{ "dane-nomx.t", MTASTS_DANE_USABLE, MTASTS_APPLY_DANE,
		    "dane-nomx.t: DNSSEC-authenticated TLSA 3 1 1" },
		{ "dane-insa.t", MTASTS_DANE_NONE, MTASTS_APPLY_NONE,
		    "no DNSSEC-authenticated usable TLSA record for 1 MX "
		    "host (mx0.dane-insa.t: address records not "
		    "DNSSEC-authenticated)" },
		{ "dane-afail.t", MTASTS_DANE_TEMPORARY, MTASTS_APPLY_DEFER,
		    "mx0.dane-afail.t: address lookup failed: " },
		{ "dane-short.t", MTASTS_DANE_NONE, MTASTS_APPLY_NONE,
		    "no DNSSEC-authenticated usable TLSA record for 1 MX "
		    "host" },
	};
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	struct got_res g;
	char conf[256], err[MTASTS_ERRLEN];
	struct env e;
	time_t t0;
	size_t i;

	(void)state;
	env_open(&e, 2);
	snprintf(conf, sizeof(conf), "resolver = 127.0.0.1:%u\n"
	    "dane_resolver = 127.0.0.1:%u\ndns_timeout = 2s\n",
	    e.srv.port, e.srv.port);
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t.conf",
	    &cfg, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(e.base, cfg, MTASTS_CTX_NOCACHE,
	    &ctx, err, sizeof(err)), MTASTS_OK);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(mtasts_query(ctx, rows[i].domain, 0, on_res,
		    &g, err, sizeof(err)), MTASTS_OK);
		assert_int_equal(g.calls, 0);	/* never from inside */
		t0 = time(NULL);
		while (g.calls == 0 && time(NULL) - t0 < 30)
			event_base_loop(e.base, EVLOOP_ONCE);
		assert_int_equal(g.calls, 1);
		if (g.dane != rows[i].dane || g.apply != rows[i].apply ||
		    strncmp(g.why, rows[i].why, strlen(rows[i].why)) != 0)
			fail_msg("%s: dane %d apply %d why '%s'",
			    rows[i].domain, g.dane, g.apply, g.why);
	}
	/* A query pending when the context goes: called back once. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(mtasts_query(ctx, "dane-ok.t", 0, on_res, &g, err,
	    sizeof(err)), MTASTS_OK);
	mtasts_ctx_free(ctx);
	assert_int_equal(g.calls, 1);
	mtasts_config_free(cfg);
	env_close(&e);
}

/* RFC 5321 §5.1: the lowest preferences, wherever they are listed. */
static void
test_mx_best_of_100(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_mx(e.dns, "mx100.t", on_list, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_OK);
	assert_int_equal(g.n, 64);		/* DNS_MX_MAX */
	assert_string_equal(g.first, "mx99.mx100.t");	/* preference 901 */
	assert_string_equal(g.last, "mx36.mx100.t");	/* preference 964 */
	env_close(&e);
}

/* Equal preferences: the first 64 in message order. */
static void
test_mx_equal_preferences(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_mx(e.dns, "mxeq.t", on_list, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_OK);
	assert_int_equal(g.n, 64);
	assert_string_equal(g.first, "mx0.mxeq.t");
	assert_string_equal(g.last, "mx63.mxeq.t");
	env_close(&e);
}

static void
test_mx_null(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_mx(e.dns, "mxnull.t", on_list, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_NODATA);
	assert_int_equal(g.n, 0);
	env_close(&e);
}

static void
test_nxdomain(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_txt(e.dns, "nothing.t", on_txt, &g);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_NODATA);
	env_close(&e);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* dns_timeout bounds one lookup: a silent server gets DNS_TEMP after
 * that long, not 1.5 times it (issue 20). */
static void
test_timeout_is_the_bound(void **state)
{
	struct env e;
	struct got g = { 0 };
	double t0, took;

	(void)state;
	env_open(&e, 2);
	t0 = now_s();
	dns_txt(e.dns, "hole.t", on_txt, &g);
	run_until(&e, &g);
	took = now_s() - t0;
	print_message("dns_timeout 2s: DNS_TEMP after %.3f s, %u queries "
	    "seen\n", took, e.srv.queries);
	assert_int_equal(g.status, DNS_TEMP);
	/* c-ares 1.34 may give up first: its second try waits a random
	 * 1 to 2 times the first (t = 2/3 s), so 1.33 s at the least. */
	assert_true(took >= 1.3);
	assert_true(took < 2.4);		/* 1.5x would be 3 s */
	assert_true(e.srv.queries >= 2);	/* it did retry */
	env_close(&e);
}

/* Freed with lookups pending: each callback runs once, DNS_TEMP. */
static void
test_free_pending(void **state)
{
	struct env e;
	struct got g1 = { 0 }, g2 = { 0 };

	(void)state;
	env_open(&e, 5);
	dns_txt(e.dns, "hole.t", on_txt, &g1);
	dns_addr(e.dns, "hole.t", on_list, &g2);
	event_base_loop(e.base, EVLOOP_NONBLOCK);
	dns_free(e.dns);
	e.dns = NULL;
	assert_int_equal(g1.calls, 1);
	assert_int_equal(g1.status, DNS_TEMP);
	assert_int_equal(g2.calls, 1);
	assert_int_equal(g2.status, DNS_TEMP);
	env_close(&e);
}

#ifdef MTASTS_ALLOC_TEST
/* Every allocation of a DANE query fails in turn: one callback each
 * time, and never a weaker answer -- a usable DANE or a deferral, not
 * "none" (which would let MTA-STS alone apply, RFC 8461 §2). */
static void
test_query_dane_each_allocation_fails(void **state)
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	struct got_res g;
	char conf[256], err[MTASTS_ERRLEN];
	struct env e;
	unsigned long n, seen;
	time_t t0;
	int r;

	(void)state;
	env_open(&e, 2);
	snprintf(conf, sizeof(conf), "resolver = 127.0.0.1:%u\n"
	    "dane_resolver = 127.0.0.1:%u\ndns_timeout = 2s\n",
	    e.srv.port, e.srv.port);
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t.conf",
	    &cfg, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(e.base, cfg, MTASTS_CTX_NOCACHE,
	    &ctx, err, sizeof(err)), MTASTS_OK);
	for (n = 1; n < 1000; n++) {
		memset(&g, 0, sizeof(g));
		util_alloc_fail_at(n);
		r = mtasts_query(ctx, "dane-ok.t", 0, on_res, &g, err,
		    sizeof(err));
		if (r == MTASTS_OK) {
			t0 = time(NULL);
			while (g.calls == 0 && time(NULL) - t0 < 30)
				event_base_loop(e.base, EVLOOP_ONCE);
			assert_int_equal(g.calls, 1);
		} else
			assert_int_equal(r, MTASTS_ENOMEM);
		seen = util_alloc_count();
		util_alloc_fail_at(0);
		if (r == MTASTS_OK && g.apply == MTASTS_APPLY_DANE && seen < n)
			break;		/* nothing failed: done */
		if (r == MTASTS_OK && g.apply != MTASTS_APPLY_DEFER &&
		    g.apply != MTASTS_APPLY_DANE)
			fail_msg("allocation %lu: apply %d, dane %d (%s)", n,
			    g.apply, g.dane, g.why);
	}
	print_message("dane-ok.t: %lu allocation points\n", n - 1);
	assert_int_equal(g.apply, MTASTS_APPLY_DANE);
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	env_close(&e);
}

/* No memory for the request itself: the callback still runs once, on
 * the next loop turn, with DNS_TEMP (it was an abort()). */
static void
test_start_without_memory(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_open(&e, 5);
	util_alloc_fail_at(1);
	assert_int_equal(dns_txt(e.dns, "txt80.t", on_txt, &g), MTASTS_OK);
	util_alloc_fail_at(0);
	assert_int_equal(g.calls, 0);
	run_until(&e, &g);
	assert_int_equal(g.status, DNS_TEMP);
	assert_string_equal(g.why, "out of memory");
	env_close(&e);
}

/* Every allocation of a lookup fails in turn: one callback each time,
 * the full answer or DNS_TEMP, nothing leaked (LeakSanitizer). */
static void
test_each_allocation_fails(void **state)
{
	static const char *const names[] = { "txt80.t", "mx100.t" };
	struct env e;
	struct got g;
	unsigned long n;
	size_t i;

	(void)state;
	env_open(&e, 5);
	for (i = 0; i < 2; i++) {
		for (n = 1; n < 1000; n++) {
			memset(&g, 0, sizeof(g));
			util_alloc_fail_at(n);
			if (i == 0)
				dns_txt(e.dns, names[i], on_txt, &g);
			else
				dns_mx(e.dns, names[i], on_list, &g);
			run_until(&e, &g);
			util_alloc_fail_at(0);
			if (g.status == DNS_OK)
				break;
			assert_int_equal(g.status, DNS_TEMP);
			assert_int_equal(g.n, 0);
		}
		print_message("%s: %lu allocation points\n", names[i], n - 1);
		assert_int_equal(g.n, i == 0 ? 80 : 64);
	}
	env_close(&e);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dnsmsg_mx_rows),
		cmocka_unit_test(test_dnsmsg_txt),
		cmocka_unit_test(test_txt_sts_at_80),
		cmocka_unit_test(test_txt_two_sts_far_apart),
		cmocka_unit_test(test_mx_best_of_100),
		cmocka_unit_test(test_mx_equal_preferences),
		cmocka_unit_test(test_mx_null),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_tlsa_sec_ad),
		cmocka_unit_test(test_tlsa_sec_noad),
		cmocka_unit_test(test_tlsa_sec_bogus),
		cmocka_unit_test(test_mx_sec_nxdomain_ad),
		cmocka_unit_test(test_query_dane),
		cmocka_unit_test(test_timeout_is_the_bound),
		cmocka_unit_test(test_free_pending),
#ifdef MTASTS_ALLOC_TEST
		cmocka_unit_test(test_start_without_memory),
		cmocka_unit_test(test_each_allocation_fails),
		cmocka_unit_test(test_query_dane_each_allocation_fails),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
