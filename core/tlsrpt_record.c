/*
 * tlsrpt_record.c - the _smtp._tls TXT record (RFC 8460 §3).
 *
 *	tlsrpt-record  = tlsrpt-version 1*(field-delim tlsrpt-field)
 *	                 [field-delim]
 *	tlsrpt-version = %s"v=TLSRPTv1"
 *	tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
 */
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "txt.h"
#include "util.h"

#define TLSRPT_VERSION	"v=TLSRPTv1"
#define TLSRPT_WHAT	"_smtp._tls record"

struct mtasts_tlsrpt {
	struct strlist	rua;		/* usable URIs, record order */
	struct strlist	warnings;	/* lint warnings */
};

static int
tlsrpt_is_hex(int c)
{
	return UTIL_IS_DIGIT(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/*
 * RFC 3986 URI characters, with "," and "!" excluded: RFC 8460 §3 says
 * they MUST be %-encoded (D22).  ";" cannot occur: it ends the field.
 */
static int
tlsrpt_uri_char(int c)
{
	return UTIL_IS_ALNUM(c) || (c != '\0' &&
	    strchr("-._~:/?#[]@$&'()*+=", c) != NULL);
}

/* Check one URI's syntax; returns its scheme length in *slen. */
static int
tlsrpt_uri_check(const char *u, size_t len, size_t *slen, char *err,
    size_t errlen)
{
	size_t i;
	char q[96];

	util_quote(q, sizeof(q), u, len);
	for (i = 0; i < len && (UTIL_IS_ALNUM((unsigned char)u[i]) ||
	    u[i] == '+' || u[i] == '-' || u[i] == '.'); i++)
		;
	if (i == 0 || !UTIL_IS_ALPHA((unsigned char)u[0]) || i == len ||
	    u[i] != ':' || i + 1 == len) {
		util_err(err, errlen, "%s: rua: '%s' is not a URI "
		    "(scheme:rest)", TLSRPT_WHAT, q);
		return MTASTS_EPARSE;
	}
	*slen = i;
	for (i++; i < len; i++) {
		int c = (unsigned char)u[i];

		if (c == '%') {
			if (i + 2 >= len || !tlsrpt_is_hex(u[i + 1]) ||
			    !tlsrpt_is_hex(u[i + 2])) {
				util_err(err, errlen, "%s: rua: '%s': bad "
				    "%%-escape", TLSRPT_WHAT, q);
				return MTASTS_EPARSE;
			}
			i += 2;
		} else if (!tlsrpt_uri_char(c)) {
			util_err(err, errlen, "%s: rua: '%s': character '%c' "
			    "must be %%-encoded", TLSRPT_WHAT, q,
			    c == '\t' ? ' ' : c);
			return MTASTS_EPARSE;
		}
	}
	return MTASTS_OK;
}

/* mailto: needs local@domain; https: needs //host (RFC 6068, 9110). */
static int
tlsrpt_uri_usable(const char *u, size_t len, size_t slen, char *err,
    size_t errlen)
{
	const char *r = u + slen + 1, *at;
	size_t rlen = len - slen - 1;
	char q[96];

	util_quote(q, sizeof(q), u, len);
	if (slen == 6 && util_casememeq(u, "mailto", 6)) {
		at = memchr(r, '@', rlen);
		if (at == NULL || at == r || at + 1 == r + rlen ||
		    at[1] == '?') {
			util_err(err, errlen, "%s: rua: '%s': mailto: needs "
			    "an address local@domain", TLSRPT_WHAT, q);
			return MTASTS_EPARSE;
		}
		return MTASTS_OK;
	}
	if (slen == 5 && util_casememeq(u, "https", 5)) {
		if (rlen < 3 || r[0] != '/' || r[1] != '/' || r[2] == '/' ||
		    r[2] == '?' || r[2] == '#') {
			util_err(err, errlen, "%s: rua: '%s': https: needs "
			    "//host", TLSRPT_WHAT, q);
			return MTASTS_EPARSE;
		}
		return MTASTS_OK;
	}
	return MTASTS_ENOMATCH;
}

static int
tlsrpt_add_uri(struct mtasts_tlsrpt *t, const char *u, size_t len,
    char *err, size_t errlen)
{
	size_t slen;
	char q[96];
	int r;

	if ((r = tlsrpt_uri_check(u, len, &slen, err, errlen)) != MTASTS_OK)
		return r;
	r = tlsrpt_uri_usable(u, len, slen, err, errlen);
	if (r == MTASTS_ENOMATCH) {
		/* D22: other schemes are skipped, not fatal. */
		util_quote(q, sizeof(q), u, len);
		return strlist_addf(&t->warnings, "rua '%s' skipped: only "
		    "mailto: and https: are supported (RFC 8460 §3)", q);
	}
	if (r != MTASTS_OK)
		return r;
	return strlist_add(&t->rua, u, len);
}

/* Split "uri *(*WSP "," *WSP uri)" and keep the usable URIs (D19). */
static int
tlsrpt_rua(struct mtasts_tlsrpt *t, const char *v, size_t vlen, char *err,
    size_t errlen)
{
	size_t i = 0, start, end;
	int r;

	for (;;) {
		start = i;
		while (i < vlen && v[i] != ',' && !UTIL_IS_WSP(v[i]))
			i++;
		end = i;
		while (i < vlen && UTIL_IS_WSP(v[i]))
			i++;
		if (end == start || (i < vlen && v[i] != ',')) {
			util_err(err, errlen, "%s: rua: empty URI or "
			    "unencoded space at column %zu of the value",
			    TLSRPT_WHAT, end + 1);
			return MTASTS_EPARSE;
		}
		if ((r = tlsrpt_add_uri(t, v + start, end - start, err,
		    errlen)) != MTASTS_OK)
			return r;
		if (i == vlen)
			return MTASTS_OK;
		for (i++; i < vlen && UTIL_IS_WSP(v[i]); i++)
			;	/* past "," *WSP */
	}
}

struct tlsrpt_state {
	struct mtasts_tlsrpt	*t;
	int			 have_rua;
};

static int
tlsrpt_on_field(const char *name, size_t nlen, const char *val, size_t vlen,
    size_t off, void *arg, char *err, size_t errlen)
{
	struct tlsrpt_state *st = arg;

	if (!util_memeq(name, nlen, "rua"))
		return txt_ext_value_check(name, nlen, val, vlen, off,
		    TLSRPT_WHAT, err, errlen);
	st->have_rua = 1;
	return tlsrpt_rua(st->t, val, vlen, err, errlen);
}

MTASTS_API int
mtasts_tlsrpt_parse(const char *p, size_t len, struct mtasts_tlsrpt **out,
    char *err, size_t errlen)
{
	struct tlsrpt_state st;
	struct mtasts_tlsrpt *t;
	int r;

	if (out == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	if ((t = util_calloc(1, sizeof(*t))) == NULL)
		return MTASTS_ENOMEM;
	st.t = t;
	st.have_rua = 0;
	r = txt_walk(p, len, TLSRPT_VERSION, TLSRPT_WHAT, tlsrpt_on_field,
	    &st, err, errlen);
	if (r == MTASTS_OK && !st.have_rua) {
		util_err(err, errlen, "%s: no \"rua=\" field", TLSRPT_WHAT);
		r = MTASTS_EPARSE;
	} else if (r == MTASTS_OK && t->rua.n == 0) {
		util_err(err, errlen, "%s: no usable rua URI (only mailto: "
		    "and https: are supported)", TLSRPT_WHAT);
		r = MTASTS_EPARSE;
	}
	if (r != MTASTS_OK) {
		if (r == MTASTS_ENOMEM)
			util_err(err, errlen, "%s: out of memory",
			    TLSRPT_WHAT);
		mtasts_tlsrpt_free(t);
		return r;
	}
	*out = t;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_tlsrpt_select(const struct mtasts_rr *rrs, size_t n,
    struct mtasts_tlsrpt **out, char *err, size_t errlen)
{
	size_t idx = 0;
	int r;

	if (out == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	r = txt_select(rrs, n, TLSRPT_VERSION, TLSRPT_WHAT, &idx, err,
	    errlen);
	if (r != MTASTS_OK)
		return r;
	return mtasts_tlsrpt_parse(rrs[idx].data, rrs[idx].len, out, err,
	    errlen);
}

MTASTS_API void
mtasts_tlsrpt_free(struct mtasts_tlsrpt *t)
{
	if (t == NULL)
		return;
	strlist_clear(&t->rua);
	strlist_clear(&t->warnings);
	util_free(t);
}

MTASTS_API size_t
mtasts_tlsrpt_rua_count(const struct mtasts_tlsrpt *t)
{
	return t ? t->rua.n : 0;
}

MTASTS_API const char *
mtasts_tlsrpt_rua(const struct mtasts_tlsrpt *t, size_t i)
{
	return (t && i < t->rua.n) ? t->rua.v[i] : NULL;
}

MTASTS_API size_t
mtasts_tlsrpt_warning_count(const struct mtasts_tlsrpt *t)
{
	return t ? t->warnings.n : 0;
}

MTASTS_API const char *
mtasts_tlsrpt_warning(const struct mtasts_tlsrpt *t, size_t i)
{
	return (t && i < t->warnings.n) ? t->warnings.v[i] : NULL;
}
