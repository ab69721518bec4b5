/*
 * tlsresult.c - TLS results for TLSRPT (RFC 8460 §4.3), counted in the
 * shared cache per UTC day, policy domain, result type, MX host and MX
 * address.  The adapters (Exim's event_action, the OpenSMTPD filter)
 * record one result per TLS session attempt; reports are built from
 * the counters (mtasts report).  Everything recorded comes from the
 * MTA's view of a remote peer and is checked like hostile input.
 */
#include <arpa/inet.h>

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "shared.h"
#include "util.h"

/* RFC 8460 §4.3 result types, and "success". */
static const char *const tlsresult_types[] = {
	"success",
	"starttls-not-supported", "certificate-host-mismatch",
	"certificate-expired", "certificate-not-trusted",
	"validation-failure",
	"tlsa-invalid", "dnssec-invalid", "dane-required",
	"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
	NULL
};

MTASTS_API int
mtasts_tls_result_type_valid(const char *type)
{
	size_t i;

	for (i = 0; type != NULL && tlsresult_types[i] != NULL; i++)
		if (strcmp(type, tlsresult_types[i]) == 0)
			return 1;
	return 0;
}

/* An address as the MTA gave it, in canonical text form. */
static int
tlsresult_ip(const char *ip, char *out, size_t size)
{
	unsigned char a[16];

	if (ip == NULL || *ip == '\0') {
		snprintf(out, size, "-");
		return MTASTS_OK;
	}
	if (strnlen(ip, 64) < 64 && inet_pton(AF_INET, ip, a) == 1 &&
	    inet_ntop(AF_INET, a, out, (socklen_t)size) != NULL)
		return MTASTS_OK;
	if (strnlen(ip, 64) < 64 && inet_pton(AF_INET6, ip, a) == 1 &&
	    inet_ntop(AF_INET6, a, out, (socklen_t)size) != NULL)
		return MTASTS_OK;
	return MTASTS_EPARSE;
}

/* The policy in force for d as the cache has it: type and id, and its
 * text noted once under "P\tdomain\tid" so that a report can quote it
 * after the policy changed (RFC 8460 §4.3 policy-string). */
static void
tlsresult_policy(struct mtasts_ctx *ctx, const char *d, const char **type,
    char *id, size_t idsize)
{
	char key[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 8];
	struct cache_entry e;
	int n;

	*type = "no-policy-found";
	snprintf(id, idsize, "-");
	if (cache_get(ctx->cache, d, &e) != MTASTS_OK)
		return;
	if (e.text != NULL && (int64_t)time(NULL) < e.expires_at) {
		*type = "sts";
		snprintf(id, idsize, "%s", e.id);
		n = snprintf(key, sizeof(key), "P\t%s\t%s", d, e.id);
		if (n > 0 && (size_t)n < sizeof(key))
			cache_note_put(ctx->cache, key, (size_t)n, e.text,
			    e.text_len);
	}
	cache_entry_clear(&e);
}

/*
 * DANE sessions (RFC 8460 §4.4, B2.15: for tlsa, policy-string is
 * the TLSA records).  dane.c notes each host's authenticated RRset as
 * it finds it: its text (the records sorted, one a line) once under
 * "P\tdomain\tID" like an MTA-STS policy, ID being "tlsa-" and 16 hex
 * digits of its SHA-256 (never an MTA-STS id: those are alphanumeric,
 * RFC 8461 §3.1), and "T\tdomain\thost" says which ID the host has
 * now.  A result counted for the host goes under that ID; a key
 * rollover makes a new ID, and the report a policy entry for each
 * RRset.
 */
static int
tlsresult_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The id of a TLSA RRset's text (its records sorted, one a line):
 * "tlsa-" and 16 hex digits of its SHA-256, whoever counts under it
 * (dane.c's note below, or an MTA naming the records to
 * mtasts_tls_result_add), so one RRset is one policy in the report. */
static int
tlsresult_tlsa_id_of(const char *text, size_t len, char *id, size_t idsize)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (idsize < 22 || EVP_Digest(text, len, md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < 8)
		return MTASTS_ENOMEM;
	snprintf(id, idsize, "tlsa-");
	for (i = 0; i < 8; i++)
		snprintf(id + 5 + 2 * i, 3, "%02x", md[i]);
	return MTASTS_OK;
}

/* text's lines sorted (any RRset order), joined by '\n', in *out
 * (util_free) of *outlen bytes. */
static int
tlsresult_tlsa_sorted(const char *text, size_t len, char **out,
    size_t *outlen)
{
	char *copy, **v = NULL, *p, *e;
	size_t n = 1, i, k = 0;
	int r = MTASTS_ENOMEM;

	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	if ((copy = util_malloc(len + 1)) == NULL ||
	    (v = util_calloc(n, sizeof(*v))) == NULL ||
	    (*out = util_malloc(len + 1)) == NULL)
		goto done;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (p = copy, n = 0; ; p = e + 1) {
		if ((e = strchr(p, '\n')) != NULL)
			*e = '\0';
		v[n++] = p;
		if (e == NULL)
			break;
	}
	qsort(v, n, sizeof(*v), tlsresult_cmp);
	for (i = 0; i < n; i++) {
		if (v[i][0] == '\0')	/* blank lines are no records */
			continue;
		if (k > 0)
			(*out)[k++] = '\n';
		memcpy(*out + k, v[i], strlen(v[i]));
		k += strlen(v[i]);
	}
	*outlen = k;
	r = MTASTS_OK;
done:
	util_free(v);
	util_free(copy);
	return r;
}

void
tlsresult_tlsa_note(struct mtasts_ctx *ctx, const char *domain,
    const char *host, char *const *v, size_t n)
{
	char key[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 8];
	char tkey[2 * MTASTS_DOMAIN_MAX + 8], id[MTASTS_ID_MAX + 1];
	char *text = NULL, *have = NULL;
	const char **s = NULL;
	size_t i, len = 0, hlen;
	int k, t;

	if (ctx->cache == NULL || n == 0 || (s = util_calloc(n,
	    sizeof(*s))) == NULL)
		goto done;
	for (i = 0; i < n; i++) {
		s[i] = v[i];
		len += strlen(v[i]) + 1;
	}
	if (len > MTASTS_POLICY_MAX || (text = util_malloc(len)) == NULL)
		goto done;
	qsort(s, n, sizeof(*s), tlsresult_cmp);	/* any RRset order */
	for (i = 0, len = 0; i < n; i++) {
		memcpy(text + len, s[i], strlen(s[i]));
		len += strlen(s[i]);
		text[len++] = '\n';
	}
	len--;				/* no newline after the last */
	if (tlsresult_tlsa_id_of(text, len, id, sizeof(id)) != MTASTS_OK)
		goto done;
	/* Each query with DANE comes here: the usual case, nothing
	 * changed, costs one read and no write. */
	k = snprintf(tkey, sizeof(tkey), "T\t%s\t%s", domain, host);
	if (k <= 0 || (size_t)k >= sizeof(tkey) || (cache_note_get(ctx->cache,
	    tkey, (size_t)k, &have, &hlen) == MTASTS_OK &&
	    strcmp(have, id) == 0))
		goto done;
	/* The text first: a host's id never names a missing text. */
	t = snprintf(key, sizeof(key), "P\t%s\t%s", domain, id);
	if (t > 0 && (size_t)t < sizeof(key) && cache_note_put(ctx->cache,
	    key, (size_t)t, text, len) == MTASTS_OK)
		(void)cache_note_set(ctx->cache, tkey, (size_t)k, id,
		    strlen(id));
done:
	util_free(have);
	util_free(text);
	util_free(s);
}

/* The ID of the TLSA RRset noted for mx of d, or "-" if none. */
static void
tlsresult_tlsa_id(struct mtasts_ctx *ctx, const char *d, const char *mx,
    char *id, size_t idsize)
{
	char key[2 * MTASTS_DOMAIN_MAX + 8], *v = NULL;
	size_t vlen;
	int k;

	snprintf(id, idsize, "-");
	k = snprintf(key, sizeof(key), "T\t%s\t%s", d, mx);
	if (strcmp(mx, "-") == 0 || k <= 0 || (size_t)k >= sizeof(key) ||
	    cache_note_get(ctx->cache, key, (size_t)k, &v, &vlen) !=
	    MTASTS_OK)
		return;
	if (vlen < idsize && strncmp(v, "tlsa-", 5) == 0 &&
	    strcspn(v, "\t\n") == vlen)
		snprintf(id, idsize, "%s", v);
	util_free(v);
}

/*
 * Fleet mode: this host's count to the store.  When it does not get
 * there the local counters are the spool: a note says so, and the
 * first push that works afterwards, in whatever process of this host,
 * pushes them all (idempotent: each is this host's count, shared_tls.c).
 */
#define TLSRESULT_UNPUSHED	"S\tunpushed"

static void
tlsresult_push(struct mtasts_ctx *ctx, const char *key, size_t len,
    uint64_t total)
{
	const size_t klen = sizeof(TLSRESULT_UNPUSHED) - 1;
	char *v = NULL;
	size_t vlen;

	if (shared_tls_put(ctx->shared, key, len, total) != MTASTS_OK) {
		(void)cache_note_set(ctx->cache, TLSRESULT_UNPUSHED, klen, "1",
		    1);
		return;
	}
	if (cache_note_get(ctx->cache, TLSRESULT_UNPUSHED, klen, &v, &vlen) ==
	    MTASTS_OK && vlen == 1 && v[0] == '1' &&
	    shared_tls_push(ctx->shared, ctx->cache) == MTASTS_OK) {
		(void)cache_note_set(ctx->cache, TLSRESULT_UNPUSHED, klen, "0",
		    1);
		log_msg(LOG_NOTICE, "TLS results: counts spooled while the "
		    "shared cache was away are merged");
	}
	util_free(v);
}

/* Add one to the counter of (today, d, ptype, id, type, mx, ip[, sip,
 * helo]): the last two only when one is known, so that counters from
 * before they existed stay the same keys. */
static int
tlsresult_count(struct mtasts_ctx *ctx, const char *d, const char *ptype,
    const char *id, const char *type, const char *mx, const char *ip,
    const char *sip, const char *helo, uint64_t add)
{
	char key[3 * MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 224], day[16];
	time_t now = time(NULL);
	struct tm tm;
	uint64_t total;
	int n, r;

	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (strcmp(sip, "-") == 0 && strcmp(helo, "-") == 0)
		n = snprintf(key, sizeof(key), "%s\t%s\t%s\t%s\t%s\t%s\t%s",
		    day, d, ptype, id, type, mx, ip);
	else
		n = snprintf(key, sizeof(key), "%s\t%s\t%s\t%s\t%s\t%s\t%s"
		    "\t%s\t%s", day, d, ptype, id, type, mx, ip, sip, helo);
	if (n < 0 || (size_t)n >= sizeof(key))
		return MTASTS_EINVAL;
	if ((r = cache_counter_add_get(ctx->cache, key, (size_t)n, add,
	    &total)) == MTASTS_OK && ctx->shared != NULL)
		tlsresult_push(ctx, key, (size_t)n, total);
	return r;
}

/* A host name as the MTA gave it ("-" if none), normalised. */
static int
tlsresult_host(const char *h, char *out, size_t size, char *err,
    size_t errlen)
{
	if (h == NULL || *h == '\0') {
		snprintf(out, size, "-");
		return MTASTS_OK;
	}
	return mtasts_domain_normalize(h, strlen(h), out, size, err, errlen);
}

/* RFC 8460 §4.3.2.1: result types only a DANE session can have. */
static int
tlsresult_dane_only(const char *type)
{
	return strcmp(type, "tlsa-invalid") == 0 ||
	    strcmp(type, "dnssec-invalid") == 0 ||
	    strcmp(type, "dane-required") == 0;
}

/* One session's result, under the cache's policy or, for a DANE
 * session (tlsa set), under policy type "tlsa" (RFC 8460 §4.3.1): the
 * TLSA records, not the MTA-STS policy, were applied (RFC 8461 §2). */
static int
tlsresult_record(struct mtasts_ctx *ctx, int tlsa, const char *domain,
    const char *type, const char *mx_host, const char *mx_ip,
    const char *sending_ip, const char *helo, char *err, size_t errlen)
{
	char d[MTASTS_DOMAIN_MAX + 1], mx[MTASTS_DOMAIN_MAX + 1], ip[64];
	char sip[64], hl[MTASTS_DOMAIN_MAX + 1], id[MTASTS_ID_MAX + 1];
	const char *ptype;

	if (ctx == NULL || ctx->cache == NULL)
		return util_err(err, errlen, "no cache to record in"),
		    MTASTS_EINVAL;
	if (domain == NULL || mtasts_domain_normalize(domain, strlen(domain),
	    d, sizeof(d), err, errlen) != MTASTS_OK)
		return MTASTS_EPARSE;
	if (!mtasts_tls_result_type_valid(type))
		return util_err(err, errlen, "%s: unknown TLS result type",
		    d), MTASTS_EPARSE;
	if (tlsresult_host(mx_host, mx, sizeof(mx), err, errlen) !=
	    MTASTS_OK)
		return MTASTS_EPARSE;
	if (tlsresult_ip(mx_ip, ip, sizeof(ip)) != MTASTS_OK)
		return util_err(err, errlen, "%s: MX address is not an IP "
		    "address", d), MTASTS_EPARSE;
	if (tlsresult_ip(sending_ip, sip, sizeof(sip)) != MTASTS_OK)
		return util_err(err, errlen, "%s: sending address is not an "
		    "IP address", d), MTASTS_EPARSE;
	/* The peer's word, optional in reports: a name that is not a
	 * host name (an address literal, garbage) is dropped, not the
	 * result. */
	if (tlsresult_host(helo, hl, sizeof(hl), NULL, 0) != MTASTS_OK)
		snprintf(hl, sizeof(hl), "-");
	if (tlsa && strncmp(type, "sts-", 4) == 0)
		return util_err(err, errlen, "%s: %s is not a DANE result",
		    d, type), MTASTS_EPARSE;
	if (tlsa || tlsresult_dane_only(type)) {
		ptype = "tlsa";
		tlsresult_tlsa_id(ctx, d, mx, id, sizeof(id));
	} else
		tlsresult_policy(ctx, d, &ptype, id, sizeof(id));
	metrics_tls_result(ctx, type, 1);
	return tlsresult_count(ctx, d, ptype, id, type, mx, ip, sip, hl, 1);
}

MTASTS_API int
mtasts_tls_result_ex(struct mtasts_ctx *ctx, const char *domain,
    const char *type, const char *mx_host, const char *mx_ip,
    const char *sending_ip, const char *helo, char *err, size_t errlen)
{
	return tlsresult_record(ctx, 0, domain, type, mx_host, mx_ip,
	    sending_ip, helo, err, errlen);
}

MTASTS_API int
mtasts_tls_result_tlsa(struct mtasts_ctx *ctx, const char *domain,
    const char *type, const char *mx_host, const char *mx_ip,
    const char *sending_ip, const char *helo, char *err, size_t errlen)
{
	return tlsresult_record(ctx, 1, domain, type, mx_host, mx_ip,
	    sending_ip, helo, err, errlen);
}

MTASTS_API int
mtasts_tls_result(struct mtasts_ctx *ctx, const char *domain,
    const char *type, const char *mx_host, const char *mx_ip, char *err,
    size_t errlen)
{
	return mtasts_tls_result_ex(ctx, domain, type, mx_host, mx_ip, NULL,
	    NULL, err, errlen);
}

/*
 * Sessions under a policy the MTA names (mtasts_tls_result_add): the
 * policy's text comes with them, one line per RFC 8460 §4.3
 * policy-string, instead of from the cache.
 */

/* Next line of p[0..len) at *off, without its "\n" or "\r\n"; 0 at the
 * end.  A final line terminator ends the text, as in a policy file. */
static int
tlsresult_line(const char *p, size_t len, size_t *off, const char **line,
    size_t *llen)
{
	const char *nl;
	size_t n;

	if (*off >= len)
		return 0;
	*line = p + *off;
	nl = memchr(*line, '\n', len - *off);
	n = nl != NULL ? (size_t)(nl - *line) : len - *off;
	*off += n + (nl != NULL);
	*llen = n > 0 && (*line)[n - 1] == '\r' ? n - 1 : n;
	return 1;
}

/* Do the cache's policy text a and the MTA's b say the same, line by
 * line?  The MTA quotes the lines; the cache keeps the file's bytes. */
static int
tlsresult_same_text(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *la, *lb;
	size_t oa = 0, ob = 0, na, nb;
	int ma, mb;

	for (;;) {
		ma = tlsresult_line(a, alen, &oa, &la, &na);
		mb = tlsresult_line(b, blen, &ob, &lb, &nb);
		if (!ma || !mb)
			return ma == mb;
		if (na != nb || memcmp(la, lb, na) != 0)
			return 0;
	}
}

/* A policy's text as a report quotes it (cli/tlsrpt_json.c splits it on
 * '\n'): printable, UTF-8, no NUL or CR, at most MTASTS_POLICY_MAX. */
static int
tlsresult_text_ok(const char *p, size_t len)
{
	size_t i, n;

	if (len > MTASTS_POLICY_MAX)
		return 0;
	for (i = 0; i < len; i += n) {
		n = 1;
		if ((unsigned char)p[i] >= 0x80) {
			if ((n = util_utf8_seq((const unsigned char *)p + i,
			    len - i)) == 0)
				return 0;
		} else if (p[i] != '\n' && p[i] != '\t' &&
		    ((unsigned char)p[i] < 0x20 || p[i] == 0x7f))
			return 0;
	}
	return 1;
}

/* The id results under text are counted under: for sts, the cache's
 * when it holds this text for d (an MTA that fetched the same policy),
 * else 32 hex digits of its SHA-256 (RFC 8461 §3.1 ids are 1*32
 * ALPHA/DIGIT, and only the report builder sees them); for tlsa, the
 * records sorted and named as dane.c names them.  The text is noted
 * once. */
static int
tlsresult_text_id(struct mtasts_ctx *ctx, const char *d, int sts,
    const char *text, size_t len, char *id, size_t idsize)
{
	char key[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 8];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	struct cache_entry e;
	char *sorted = NULL;
	size_t slen;
	int n, r, found = 0;

	if (!sts) {
		if ((r = tlsresult_tlsa_sorted(text, len, &sorted, &slen)) !=
		    MTASTS_OK || (r = tlsresult_tlsa_id_of(sorted, slen, id,
		    idsize)) != MTASTS_OK) {
			util_free(sorted);
			return r;
		}
		n = snprintf(key, sizeof(key), "P\t%s\t%s", d, id);
		if (n > 0 && (size_t)n < sizeof(key))
			(void)cache_note_put(ctx->cache, key, (size_t)n,
			    sorted, slen);
		util_free(sorted);
		return MTASTS_OK;
	}
	/* A cache that cannot say (ENOMEM, EIO) fails the call: counted
	 * under another id, the sessions would split the policy. */
	if (sts && (r = cache_get(ctx->cache, d, &e)) == MTASTS_OK) {
		if (e.text != NULL && tlsresult_same_text(e.text, e.text_len,
		    text, len)) {
			snprintf(id, idsize, "%s", e.id);
			found = 1;
		}
		cache_entry_clear(&e);
	} else if (sts && r != MTASTS_ENORECORD)
		return r;
	if (!found) {
		if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(),
		    NULL) != 1 || mdlen < 16 || idsize < 33)
			return MTASTS_ENOMEM;
		for (i = 0; i < 16; i++)
			snprintf(id + 2 * i, 3, "%02x", md[i]);
	}
	n = snprintf(key, sizeof(key), "P\t%s\t%s", d, id);
	if (n > 0 && (size_t)n < sizeof(key))
		(void)cache_note_put(ctx->cache, key, (size_t)n, text, len);
	return MTASTS_OK;
}

/* Result types a policy type cannot have (RFC 8460 §4.3.2). */
static int
tlsresult_type_fits(const char *ptype, const char *type)
{
	if (strcmp(ptype, "sts") == 0)
		return !tlsresult_dane_only(type);
	return strncmp(type, "sts-", 4) != 0;
}

MTASTS_API int
mtasts_tls_result_add(struct mtasts_ctx *ctx,
    const struct mtasts_tls_tally *t, char *err, size_t errlen)
{
	char d[MTASTS_DOMAIN_MAX + 1], mx[MTASTS_DOMAIN_MAX + 1], ip[64];
	char sip[64], hl[MTASTS_DOMAIN_MAX + 1], id[MTASTS_ID_MAX + 1];
	const char *ptype, *cptype;
	int r;

	if (ctx == NULL || ctx->cache == NULL || t == NULL)
		return util_err(err, errlen, "no cache to record in"),
		    MTASTS_EINVAL;
	if (t->count == 0)
		return util_err(err, errlen, "no session to count"),
		    MTASTS_EINVAL;
	if (t->domain == NULL || mtasts_domain_normalize(t->domain,
	    strlen(t->domain), d, sizeof(d), err, errlen) != MTASTS_OK)
		return MTASTS_EPARSE;
	if (t->policy_type == NULL || (strcmp(t->policy_type, "sts") != 0 &&
	    strcmp(t->policy_type, "tlsa") != 0 &&
	    strcmp(t->policy_type, "no-policy-found") != 0))
		return util_err(err, errlen, "%s: unknown policy type", d),
		    MTASTS_EPARSE;
	ptype = t->policy_type;
	if (!mtasts_tls_result_type_valid(t->result))
		return util_err(err, errlen, "%s: unknown TLS result type",
		    d), MTASTS_EPARSE;
	if (!tlsresult_type_fits(ptype, t->result))
		return util_err(err, errlen, "%s: %s is not a result of "
		    "policy type %s", d, t->result, ptype), MTASTS_EPARSE;
	if (tlsresult_host(t->mx, mx, sizeof(mx), err, errlen) != MTASTS_OK)
		return MTASTS_EPARSE;
	if (tlsresult_ip(t->ip, ip, sizeof(ip)) != MTASTS_OK)
		return util_err(err, errlen, "%s: MX address is not an IP "
		    "address", d), MTASTS_EPARSE;
	if (tlsresult_ip(t->sending_ip, sip, sizeof(sip)) != MTASTS_OK)
		return util_err(err, errlen, "%s: sending address is not an "
		    "IP address", d), MTASTS_EPARSE;
	/* The peer's word, as in tlsresult_record(). */
	if (tlsresult_host(t->helo, hl, sizeof(hl), NULL, 0) != MTASTS_OK)
		snprintf(hl, sizeof(hl), "-");
	snprintf(id, sizeof(id), "-");
	if (strcmp(ptype, "sts") == 0 && (t->policy_text == NULL ||
	    t->policy_len == 0)) {
		/* No text: the cache's policy, if it holds one. */
		tlsresult_policy(ctx, d, &cptype, id, sizeof(id));
		if (strcmp(cptype, "sts") != 0)
			snprintf(id, sizeof(id), "-");
	} else if (strcmp(ptype, "no-policy-found") != 0 &&
	    t->policy_text != NULL &&
	    t->policy_len > 0) {
		if (!tlsresult_text_ok(t->policy_text, t->policy_len))
			return util_err(err, errlen, "%s: policy text is not "
			    "printable UTF-8 of at most %d bytes", d,
			    MTASTS_POLICY_MAX), MTASTS_EPARSE;
		if ((r = tlsresult_text_id(ctx, d, strcmp(ptype, "sts") == 0,
		    t->policy_text, t->policy_len, id, sizeof(id))) !=
		    MTASTS_OK)
			return util_err(err, errlen, "%s: %s", d,
			    mtasts_strerror(r)), r;
	}
	/* Counted once: a caller may retry what the store refused. */
	if ((r = tlsresult_count(ctx, d, ptype, id, t->result, mx, ip, sip,
	    hl, t->count)) != MTASTS_OK)
		return util_err(err, errlen, "%s: results not counted: %s", d,
		    mtasts_strerror(r)), r;
	metrics_tls_result(ctx, t->result, t->count);
	return MTASTS_OK;
}

/*
 * A policy fetch the core itself failed (RFC 8460 §4.3.2.2; checklist
 * A.55: report HTTPS fetch failures when a valid TXT record exists),
 * counted under "sts" and the TXT record's id, with no MX: the session
 * that needed the policy is not known here.  decide.c calls it once per
 * failed fetch, which retry_interval already spaces (§3.3).
 */
void
tlsresult_fetch_failed(struct mtasts_ctx *ctx, const char *domain,
    const char *id, const char *type)
{
	if (ctx->cache == NULL || !mtasts_tls_result_type_valid(type) ||
	    strncmp(type, "sts-", 4) != 0 || id == NULL || *id == '\0')
		return;
	(void)tlsresult_count(ctx, domain, "sts", id, type, "-", "-", "-",
	    "-", 1);
}

struct tlsresult_walk {
	mtasts_tls_result_fn	 fn;		/* or */
	mtasts_tls_count_fn	 cfn;
	void			*arg;
};

/* Split "day\tdomain\tptype\tid\ttype\tmx\tip[\tsip\thelo]" (our own
 * keys; checked anyway).  Notes ("P\t...") are not counters. */
static int
tlsresult_on_counter(const char *key, size_t len, uint64_t n, void *arg)
{
	struct tlsresult_walk *w = arg;
	char buf[3 * MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 224], *f[9], *p;
	struct mtasts_tls_count c;
	int i;

	if (len >= sizeof(buf) || len == 0 || key[0] == 'P')
		return 0;
	memcpy(buf, key, len);
	buf[len] = '\0';
	for (p = buf, i = 0; i < 9; i++) {
		f[i] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	if (i != 6 && i != 8)
		return 0;
	if (w->fn != NULL)
		return w->fn(f[0], f[1], f[2], f[3], f[4], f[5], f[6], n,
		    w->arg);
	c.day = f[0];
	c.domain = f[1];
	c.policy_type = f[2];
	c.policy_id = f[3];
	c.result = f[4];
	c.mx = f[5];
	c.ip = f[6];
	c.sending_ip = i == 8 ? f[7] : "-";
	c.helo = i == 8 ? f[8] : "-";
	c.count = n;
	return w->cfn(&c, w->arg);
}

/* The host's counters, or in fleet mode the fleet's: this host's
 * pushed first (what the store missed while down), then the sums.  A
 * store that cannot be read fails the walk: a report built from one
 * host's counts would be sent as the fleet's. */
static int
tlsresult_walk(struct mtasts_ctx *ctx, struct tlsresult_walk *w)
{
	int r;

	if (ctx->shared == NULL)
		return cache_counter_foreach(ctx->cache, tlsresult_on_counter,
		    w);
	if ((r = shared_tls_push(ctx->shared, ctx->cache)) != MTASTS_OK) {
		log_msg(LOG_ERR, "TLS results: the shared cache cannot be "
		    "written: %s", mtasts_strerror(r));
		return r;
	}
	if ((r = shared_tls_foreach(ctx->shared, tlsresult_on_counter, w)) !=
	    MTASTS_OK)
		log_msg(LOG_ERR, "TLS results: the shared cache cannot be "
		    "read: %s", mtasts_strerror(r));
	return r;
}

MTASTS_API int
mtasts_tls_result_foreach(struct mtasts_ctx *ctx, mtasts_tls_result_fn fn,
    void *arg)
{
	struct tlsresult_walk w = { fn, NULL, arg };

	if (ctx == NULL || ctx->cache == NULL || fn == NULL)
		return MTASTS_EINVAL;
	return tlsresult_walk(ctx, &w);
}

MTASTS_API int
mtasts_tls_count_foreach(struct mtasts_ctx *ctx, mtasts_tls_count_fn fn,
    void *arg)
{
	struct tlsresult_walk w = { NULL, fn, arg };

	if (ctx == NULL || ctx->cache == NULL || fn == NULL)
		return MTASTS_EINVAL;
	return tlsresult_walk(ctx, &w);
}

MTASTS_API int
mtasts_tls_policy_text(struct mtasts_ctx *ctx, const char *domain,
    const char *id, char **text, size_t *len)
{
	char key[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 8];
	int n, r;

	*text = NULL;
	*len = 0;
	if (ctx == NULL || ctx->cache == NULL || domain == NULL || id == NULL)
		return MTASTS_EINVAL;
	n = snprintf(key, sizeof(key), "P\t%s\t%s", domain, id);
	if (n < 0 || (size_t)n >= sizeof(key))
		return MTASTS_EINVAL;
	if ((r = cache_note_get(ctx->cache, key, (size_t)n, text, len)) ==
	    MTASTS_ENORECORD && ctx->shared != NULL)
		r = shared_tls_policy_text(ctx->shared, domain, id, text, len);
	return r;
}

MTASTS_API int
mtasts_tls_result_purge(struct mtasts_ctx *ctx, const char *before,
    uint64_t *removed)
{
	size_t i;

	if (removed != NULL)
		*removed = 0;
	if (ctx == NULL || ctx->cache == NULL || before == NULL)
		return MTASTS_EINVAL;
	/* "YYYY-MM-DD", digits where digits belong. */
	for (i = 0; i < 10; i++)
		if (before[i] == '\0' || (i == 4 || i == 7 ? before[i] != '-' :
		    before[i] < '0' || before[i] > '9'))
			return MTASTS_EPARSE;
	if (before[10] != '\0')
		return MTASTS_EPARSE;
	if (ctx->shared != NULL)
		(void)shared_tls_purge(ctx->shared, before);
	return cache_counter_purge(ctx->cache, before, removed);
}

/* A fleet report is held for an hour at a time: a host that died while
 * delivering is replaced within the hour; its successor's claim fails
 * until then, so two hosts never deliver at once. */
#define TLSRESULT_REPORT_LEASE	3600

MTASTS_API int
mtasts_report_claim(struct mtasts_ctx *ctx, const char *domain,
    const char *date, char *who, size_t wholen)
{
	if (who != NULL && wholen > 0)
		who[0] = '\0';
	if (ctx == NULL || domain == NULL || date == NULL || who == NULL)
		return MTASTS_EINVAL;
	if (ctx->shared == NULL)
		return MTASTS_OK;
	return shared_report_claim(ctx->shared, domain, date,
	    TLSRESULT_REPORT_LEASE, who, wholen);
}

MTASTS_API int
mtasts_report_done(struct mtasts_ctx *ctx, const char *domain,
    const char *date, const char *state)
{
	if (ctx == NULL || domain == NULL || date == NULL || state == NULL)
		return MTASTS_EINVAL;
	if (ctx->shared == NULL)
		return MTASTS_OK;
	return shared_report_done(ctx->shared, domain, date, state);
}
