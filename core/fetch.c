/*
 * fetch.c - GET the policy over HTTPS exactly as RFC 8461 §3.3 asks:
 * TLS >= 1.2 (§7.2), SNI and a certificate valid for the policy host by
 * SAN DNS-ID only (D11, D12), no redirects, status 200 only (D15),
 * text/plain only (D14), at most 64 KiB (D16), bounded in time, no
 * proxies and no HTTP cache.  curl's multi-socket API on libevent, after
 * curl's docs/examples/multi-event.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mtasts.h"
#include "config.h"
#include "fetch.h"
#include "util.h"

#define FETCH_URL_MAX	(MTASTS_DOMAIN_MAX + 64)

static const struct timeval zero;

struct fetch_req;

struct fetch {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	const struct mtasts_config *cfg;
	struct fetch_req	*reqs;		/* in flight, a list */
};

struct fetch_req {
	struct fetch		*f;
	struct fetch_req	*next;
	CURL			*easy;
	CURLSH			*dns;		/* this transfer's DNS cache */
	struct event		*defer;		/* failed before starting */
	struct curl_slist	*resolve;
	struct curl_slist	*headers;	/* POST: Content-Type */
	fetch_cb		 cb;
	void			*arg;
	char			 host[MTASTS_DOMAIN_MAX + 1];
	unsigned int		 port;		/* 443 for policies */
	int			 post;		/* a TLS report (fetch_post) */
	char			*body;
	size_t			 len;
	int			 toolong;	/* body passed the limit */
	int			 status;	/* for deferred failures */
	long			 code;		/* POST: 2xx seen, the end */
	char			 why[CURL_ERROR_SIZE + 64];
	char			 curlerr[CURL_ERROR_SIZE];
};

/* Media type text/plain, any parameters, case-insensitive (D14). */
int
fetch_is_text_plain(const char *ct)
{
	size_t len;

	if (ct == NULL)
		return 0;
	while (UTIL_IS_WSP(*ct))
		ct++;
	for (len = 0; ct[len] != '\0' && ct[len] != ';' &&
	    !UTIL_IS_WSP(ct[len]); len++)
		;
	return len == 10 && util_casememeq(ct, "text/plain", 10);
}

static size_t
fetch_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t len = size * n;

	/* D16: checked while streaming, whatever the headers said. */
	if (len > MTASTS_POLICY_MAX - r->len) {
		r->toolong = 1;
		return 0;		/* curl stops: CURLE_WRITE_ERROR */
	}
	memcpy(r->body + r->len, p, len);
	r->len += len;
	return len;
}

/*
 * A report POST (RFC 8460 §5.4): the status line decides.  Once curl
 * has parsed a 2xx one, the report is delivered, whatever the rest of
 * the answer does: the transfer stops right there (a short return makes
 * curl end it), so slow or endless headers and a slow or huge body
 * neither hold the run nor make the report go out again.  curl sets the
 * code before it hands over the status line; interim 1xx lines pass,
 * and a later "HTTP/" line (a header, a trailer) cannot change it.
 */
static size_t
fetch_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct fetch_req *r = arg;
	size_t len = size * n;
	long code = 0;

	if (len < 5 || memcmp(p, "HTTP/", 5) != 0 ||
	    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK || code < 200 || code > 299)
		return len;
	r->code = code;
	return 0;
}

/* D12: OpenSSL checks the name during the handshake, SAN DNS-IDs only;
 * curl's own check (which may fall back to the CN) runs as well. */
/* A connection must not outlive an exec (Exim's pipe transport). */
static int
fetch_on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	(void)arg;
	(void)purpose;
	util_cloexec(fd);
	return CURL_SOCKOPT_OK;
}

static CURLcode
fetch_on_ssl_ctx(CURL *easy, void *ctx, void *arg)
{
	struct fetch_req *r = arg;
	X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);

	(void)easy;
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (X509_VERIFY_PARAM_set1_host(vp, r->host, 0) != 1)
		return CURLE_SSL_CERTPROBLEM;
	/* A report POST does not make curl verify, and then curl loads
	 * no trust anchors: load them, so OpenSSL's verdict (which
	 * fetch_classify_post() logs) is a real one. */
	if (r->post && SSL_CTX_load_verify_locations(ctx,
	    r->f->cfg->ca_file, NULL) != 1)
		ERR_clear_error();	/* then every chain is "untrusted" */
	return CURLE_OK;
}

static void
fetch_req_free(struct fetch_req *r)
{
	struct fetch_req **pp;

	for (pp = &r->f->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->f->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	if (r->dns != NULL)
		curl_share_cleanup(r->dns);	/* after its easy handle */
	if (r->defer != NULL)
		event_free(r->defer);
	curl_slist_free_all(r->resolve);
	curl_slist_free_all(r->headers);
	util_free(r->body);
	util_free(r);
}

static void
fetch_deliver(struct fetch_req *r, int status)
{
	r->cb(status, status == FETCH_OK ? r->body : NULL,
	    status == FETCH_OK ? r->len : 0, r->why, r->arg);
	fetch_req_free(r);
}

/*
 * A report POST (RFC 8460 §5.4): any 2xx status line is accepted, the
 * transfer ended by fetch_on_header() then.  The certificate was not
 * enforced (§3: submitters MAY ignore validation errors), but what
 * OpenSSL found is passed on in why, to be logged.
 */
static int
fetch_classify_post(struct fetch_req *r, CURLcode rc)
{
	long code = r->code, vr = 0;

	if (code == 0 && rc != CURLE_OK) {
		util_err(r->why, sizeof(r->why), "%s", r->toolong ?
		    "response body too large" : r->curlerr[0] ? r->curlerr :
		    curl_easy_strerror(rc));
		return FETCH_ERROR;
	}
	if (code == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {	/* 3xx never followed */
		util_err(r->why, sizeof(r->why), "HTTP status %ld", code);
		return FETCH_ERROR;
	}
	r->why[0] = '\0';
	if (curl_easy_getinfo(r->easy, CURLINFO_SSL_VERIFYRESULT, &vr) ==
	    CURLE_OK && vr != X509_V_OK)
		util_err(r->why, sizeof(r->why), "certificate not verified: "
		    "%s", X509_verify_cert_error_string(vr));
	return FETCH_OK;
}

/* Classify a finished transfer: the TLSRPT result type it maps to. */
static int
fetch_classify(struct fetch_req *r, CURLcode rc)
{
	long code = 0;
	char *ct = NULL;

	if (r->post)
		return fetch_classify_post(r, rc);

	switch (rc) {
	case CURLE_OK:
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		util_err(r->why, sizeof(r->why), "certificate: %s",
		    r->curlerr[0] ? r->curlerr : curl_easy_strerror(rc));
		return FETCH_WEBPKI;
	default:
		if (r->toolong || rc == CURLE_FILESIZE_EXCEEDED)
			util_err(r->why, sizeof(r->why), "body larger than "
			    "%d bytes", MTASTS_POLICY_MAX);
		else
			util_err(r->why, sizeof(r->why), "%s",
			    r->curlerr[0] ? r->curlerr :
			    curl_easy_strerror(rc));
		return FETCH_ERROR;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {		/* D15; 3xx never followed */
		util_err(r->why, sizeof(r->why), "HTTP status %ld", code);
		return FETCH_ERROR;
	}
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	if (!fetch_is_text_plain(ct)) {
		char q[64];

		util_quote(q, sizeof(q), ct ? ct : "", ct ? strlen(ct) : 0);
		util_err(r->why, sizeof(r->why), "Content-Type '%s' is not "
		    "text/plain", q);
		return FETCH_ERROR;
	}
	return FETCH_OK;
}

static void
fetch_check_done(struct fetch *f)
{
	struct fetch_req *r;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		if (r != NULL)
			fetch_deliver(r, fetch_classify(r, m->data.result));
	}
}

static void
fetch_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	int running, flags = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	fetch_check_done(f);
}

static void
fetch_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_done(f);
}

/* CURLMOPT_SOCKETFUNCTION: watch what curl wants on each socket. */
static int
fetch_on_socket(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct fetch *f = arg;
	struct event *ev = sockp;
	short kind = EV_PERSIST;

	(void)easy;
	if (ev != NULL) {
		event_free(ev);
		curl_multi_assign(f->multi, s, NULL);
	}
	if (what == CURL_POLL_REMOVE)
		return 0;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if ((ev = event_new(f->base, s, kind, fetch_on_event, f)) == NULL)
		return -1;
	event_add(ev, NULL);
	curl_multi_assign(f->multi, s, ev);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION */
static int
fetch_on_timeout(CURLM *multi, long ms, void *arg)
{
	struct fetch *f = arg;
	struct timeval tv;

	(void)multi;
	if (ms < 0)
		return event_del(f->timer);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return event_add(f->timer, &tv);
}

int
fetch_new(struct event_base *base, const struct mtasts_config *cfg,
    struct fetch **out, char *err, size_t errlen)
{
	struct fetch *f;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (f = util_calloc(1, sizeof(*f))) == NULL) {
		util_err(err, errlen, "fetch: cannot initialise libcurl");
		return MTASTS_ENOMEM;
	}
	f->base = base;
	f->cfg = cfg;
	if ((f->multi = curl_multi_init()) == NULL ||
	    (f->timer = evtimer_new(base, fetch_on_timer, f)) == NULL) {
		fetch_free(f);
		util_err(err, errlen, "fetch: out of memory");
		return MTASTS_ENOMEM;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetch_on_socket);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, fetch_on_timeout);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	*out = f;
	return MTASTS_OK;
}

void
fetch_free(struct fetch *f)
{
	if (f == NULL)
		return;
	while (f->reqs != NULL) {
		util_err(f->reqs->why, sizeof(f->reqs->why), "cancelled");
		fetch_deliver(f->reqs, FETCH_ERROR);
	}
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	if (f->timer != NULL)
		event_free(f->timer);
	util_free(f);
}

static void
fetch_on_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_req *r = arg;

	(void)fd;
	(void)what;
	fetch_deliver(r, r->status);
}

/* "mta-sts.example.com:443:192.0.2.1,[2001:db8::1]" for CURLOPT_RESOLVE */
static int
fetch_resolve_list(struct fetch_req *r, char *const *addrs, size_t naddrs)
{
	char line[MTASTS_DOMAIN_MAX + 16 + 8 * 48];
	size_t i, o;
	int n;

	n = snprintf(line, sizeof(line), "%s:%u:", r->host, r->port);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	o = (size_t)n;
	for (i = 0; i < naddrs && i < 8; i++) {
		n = snprintf(line + o, sizeof(line) - o,
		    strchr(addrs[i], ':') ? "%s[%s]" : "%s%s", i ? "," : "",
		    addrs[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - o)
			return -1;
		o += (size_t)n;
	}
	r->resolve = curl_slist_append(NULL, line);
	return r->resolve == NULL ? -1 : 0;
}

/* What a policy fetch and a report POST share: our addresses only, no
 * redirects, no proxy, TLS 1.2 or later, bounded time and size. */
static CURL *
fetch_easy(struct fetch_req *r, const char *url, char *const *addrs,
    size_t naddrs)
{
	const struct mtasts_config *cfg = r->f->cfg;
	CURL *e;

	if (fetch_resolve_list(r, addrs, naddrs) != 0 ||
	    (r->body = util_malloc(MTASTS_POLICY_MAX)) == NULL ||
	    (r->easy = e = curl_easy_init()) == NULL ||
	    (r->dns = curl_share_init()) == NULL ||
	    curl_share_setopt(r->dns, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	/* CURLOPT_RESOLVE entries never expire: in the multi handle's DNS
	 * cache they would pile up, one per policy host, for the life of
	 * the process, and curl walks them all before each transfer (issue
	 * 16: a refresh of 40 000 domains spent half its time there).  A
	 * cache of its own per transfer goes with it. */
	curl_easy_setopt(e, CURLOPT_SHARE, r->dns);
	curl_easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);	/* §3.3 */
	curl_easy_setopt(e, CURLOPT_PROXY, "");		/* no env proxies */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, fetch_on_sockopt);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, fetch_on_ssl_ctx);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, r);
	curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)cfg->connect_timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)cfg->fetch_timeout);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)MTASTS_POLICY_MAX);			/* D16 */
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mtasts/" MTASTS_VERSION);
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	return e;
}

static int
fetch_setup(struct fetch_req *r, char *const *addrs, size_t naddrs)
{
	char url[FETCH_URL_MAX];
	CURL *e;
	int n;

	n = snprintf(url, sizeof(url), "https://%s/.well-known/mta-sts.txt",
	    r->host);
	if (n < 0 || (size_t)n >= sizeof(url) ||
	    (e = fetch_easy(r, url, addrs, naddrs)) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	return curl_multi_add_handle(r->f->multi, e) == CURLM_OK ? 0 : -1;
}

/* RFC 8460 §3: the submitter MAY ignore certificate validation errors,
 * so curl is not told to verify; OpenSSL still checks chain and name
 * (fetch_on_ssl_ctx) and fetch_classify_post() reports what it found. */
static int
fetch_setup_post(struct fetch_req *r, const char *url, char *const *addrs,
    size_t naddrs, const void *data, size_t len)
{
	struct curl_slist *h;
	CURL *e;

	/* RFC 8460 §5.4, §6: the gzip report's media type. */
	if ((e = fetch_easy(r, url, addrs, naddrs)) == NULL ||
	    (r->headers = curl_slist_append(NULL, "Content-Type: "
	    "application/tlsrpt+gzip")) == NULL ||
	    (h = curl_slist_append(r->headers, "Expect:")) == NULL)
		return -1;
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, data);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	return curl_multi_add_handle(r->f->multi, e) == CURLM_OK ? 0 : -1;
}

/* NULL when out of memory: then there is no request, and no callback. */
static struct fetch_req *
fetch_req_new(struct fetch *f, fetch_cb cb, void *arg)
{
	struct fetch_req *r;

	if ((r = util_calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->f = f;
	r->cb = cb;
	r->arg = arg;
	r->next = f->reqs;
	f->reqs = r;
	r->port = 443;
	return r;
}

/*
 * Never call back from inside the start call: the failure is delivered
 * on the next loop turn (fetch_free() delivers it if the loop never
 * runs again).  If even the timer cannot be had, the request is dropped
 * unheard and the start call returns MTASTS_ENOMEM: the library never
 * aborts its host (an Exim delivery process, the filter).
 */
static int
fetch_fail_later(struct fetch_req *r)
{
	r->status = FETCH_ERROR;
	if ((r->defer = evtimer_new(r->f->base, fetch_on_deferred, r)) ==
	    NULL || evtimer_add(r->defer, &zero) != 0) {
		fetch_req_free(r);
		return MTASTS_ENOMEM;
	}
	return MTASTS_OK;
}

int
fetch_post(struct fetch *f, const char *url, const char *host,
    unsigned int port, char *const *addrs, size_t naddrs, const void *data,
    size_t len, fetch_cb cb, void *arg)
{
	struct fetch_req *r;
	int n;

	if ((r = fetch_req_new(f, cb, arg)) == NULL)
		return MTASTS_ENOMEM;
	r->post = 1;
	r->port = port;
	n = snprintf(r->host, sizeof(r->host), "%s", host);
	if (n < 0 || (size_t)n >= sizeof(r->host) || naddrs == 0) {
		util_err(r->why, sizeof(r->why), "%s", naddrs == 0 ?
		    "host has no address" : "host name too long");
		return fetch_fail_later(r);
	} else if (fetch_setup_post(r, url, addrs, naddrs, data, len) != 0) {
		util_err(r->why, sizeof(r->why), "cannot start the POST");
		return fetch_fail_later(r);
	}
	return MTASTS_OK;
}

int
fetch_policy(struct fetch *f, const char *domain, char *const *addrs,
    size_t naddrs, fetch_cb cb, void *arg)
{
	struct fetch_req *r;
	int n;

	if ((r = fetch_req_new(f, cb, arg)) == NULL)
		return MTASTS_ENOMEM;
	n = snprintf(r->host, sizeof(r->host), "mta-sts.%s", domain);
	if (n < 0 || (size_t)n >= sizeof(r->host) || naddrs == 0) {
		util_err(r->why, sizeof(r->why), "%s", naddrs == 0 ?
		    "policy host has no address" : "domain too long");
		return fetch_fail_later(r);
	} else if (fetch_setup(r, addrs, naddrs) != 0) {
		util_err(r->why, sizeof(r->why), "cannot start the fetch");
		return fetch_fail_later(r);
	}
	return MTASTS_OK;
}
