/*
 * policy.c - the MTA-STS policy file (RFC 8461 §3.2), read strictly.
 *
 *	sts-policy-record      = sts-policy-field *WSP
 *	                         *(sts-policy-term sts-policy-field *WSP)
 *	                         [sts-policy-term]
 *	sts-policy-field-delim = ":" *WSP
 *	sts-policy-term        = LF / CRLF
 *
 * Every line must be ABNF-valid (D6); known fields are case-sensitive;
 * the first of a duplicated field wins (D5); unknown fields are ignored.
 */
#include <stdint.h>
#include <string.h>

#include "mtasts.h"
#include "name.h"
#include "util.h"

struct mtasts_policy {
	enum mtasts_mode	mode;
	uint32_t		max_age;	/* seconds, <= 31557600 */
	struct strlist		mx;		/* lowercase patterns */
	struct strlist		warnings;	/* lint warnings */
};

#define POLICY_NAME_MAX	32	/* sts-policy-ext-name */

enum policy_field { F_VERSION, F_MODE, F_MAX_AGE, F_MX, F_OTHER };

static const char *const policy_field_names[] = {
	"version", "mode", "max_age", "mx"
};

struct policy_state {
	struct mtasts_policy	*pol;
	size_t			 line;		/* current line, from 1 */
	unsigned int		 seen;		/* bit per enum policy_field */
	char			*err;
	size_t			 errlen;
};

static int
policy_fail(struct policy_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
policy_fail(struct policy_state *st, const char *fmt, ...)
{
	char msg[MTASTS_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	util_verr(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	util_err(st->err, st->errlen, "policy: line %zu: %s", st->line, msg);
	return MTASTS_EPARSE;
}

/* The value's bytes: VCHAR and SP, or UTF-8 where allowed (§3.2). */
static int
policy_value_check(struct policy_state *st, const char *v, size_t vlen,
    int utf8_ok)
{
	size_t i, n;
	unsigned char c;

	for (i = 0; i < vlen; i += n) {
		c = (unsigned char)v[i];
		n = 1;
		if (c >= 0x20 && c < 0x7f)
			continue;
		if (c == '\t')
			return policy_fail(st, "tab inside a value");
		if (c < 0x80 || !utf8_ok)
			return policy_fail(st, "%s byte 0x%02x in a value",
			    c < 0x80 ? "control" : "non-ASCII", c);
		if ((n = util_utf8_seq((const unsigned char *)v + i,
		    vlen - i)) == 0)
			return policy_fail(st, "invalid UTF-8 in a value");
	}
	return MTASTS_OK;
}

/* D8: 1*10DIGIT, <= 31557600; leading zeros allowed. */
static int
policy_max_age(struct policy_state *st, const char *v, size_t vlen)
{
	uint64_t n = 0;
	size_t i;

	if (vlen > 10)
		return policy_fail(st, "max_age has more than 10 digits");
	for (i = 0; i < vlen; i++) {
		if (!UTIL_IS_DIGIT(v[i]))
			return policy_fail(st, "max_age must be digits only");
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > MTASTS_MAX_AGE_MAX)
		return policy_fail(st, "max_age %llu is more than %u",
		    (unsigned long long)n, MTASTS_MAX_AGE_MAX);
	st->pol->max_age = (uint32_t)n;
	if (n < 86400 && strlist_addf(&st->pol->warnings, "line %zu: "
	    "max_age %llu is less than a day; RFC 8461 §3.2 expects weeks",
	    st->line, (unsigned long long)n) != MTASTS_OK)
		return MTASTS_ENOMEM;
	return MTASTS_OK;
}

static int
policy_mx(struct policy_state *st, const char *v, size_t vlen)
{
	char msg[MTASTS_ERRLEN], *s;
	size_t i;
	int r;

	if (mtasts_mx_pattern_check(v, vlen, msg, sizeof(msg)) != MTASTS_OK)
		return policy_fail(st, "%s", msg);
	if ((r = strlist_add(&st->pol->mx, v, vlen)) != MTASTS_OK)
		return r;
	s = st->pol->mx.v[st->pol->mx.n - 1];
	for (i = 0; i < vlen; i++)
		s[i] = (char)UTIL_LOWER((unsigned char)s[i]);
	/* §10.4: "*.com" lets any host under a public suffix qualify. */
	if (s[0] == '*' && strchr(s + 2, '.') == NULL &&
	    strlist_addf(&st->pol->warnings, "line %zu: mx '%s' matches "
	    "hosts in a whole top-level domain (RFC 8461 §10.4)", st->line,
	    s) != MTASTS_OK)
		return MTASTS_ENOMEM;
	return MTASTS_OK;
}

static int
policy_known(struct policy_state *st, enum policy_field f, const char *v,
    size_t vlen)
{
	switch (f) {
	case F_VERSION:
		if (!util_memeq(v, vlen, "STSv1"))
			return policy_fail(st, "version must be \"STSv1\"");
		return MTASTS_OK;
	case F_MODE:
		/* §3.2: %s"testing" / %s"enforce" / %s"none". */
		if (util_memeq(v, vlen, "enforce"))
			st->pol->mode = MTASTS_MODE_ENFORCE;
		else if (util_memeq(v, vlen, "testing"))
			st->pol->mode = MTASTS_MODE_TESTING;
		else if (util_memeq(v, vlen, "none"))
			st->pol->mode = MTASTS_MODE_NONE;
		else
			return policy_fail(st, "mode must be \"enforce\", "
			    "\"testing\" or \"none\" (case-sensitive)");
		return MTASTS_OK;
	case F_MAX_AGE:
		return policy_max_age(st, v, vlen);
	case F_MX:
		return policy_mx(st, v, vlen);
	case F_OTHER:
		break;
	}
	return MTASTS_OK;
}

static enum policy_field
policy_field_lookup(const char *name, size_t nlen, int *casefold)
{
	size_t i;

	*casefold = 0;
	for (i = 0; i < 4; i++) {
		if (util_memeq(name, nlen, policy_field_names[i]))
			return (enum policy_field)i;
		if (strlen(policy_field_names[i]) == nlen &&
		    util_casememeq(name, policy_field_names[i], nlen))
			*casefold = 1;
	}
	return F_OTHER;
}

/* What follows the name and ":" in a field; *vlen has no trailing WSP. */
static int
policy_field(struct policy_state *st, const char *name, size_t nlen,
    const char *v, size_t vlen)
{
	enum policy_field f;
	int casefold, dup, r;

	if (vlen == 0)
		return policy_fail(st, "field '%.*s' has an empty value",
		    (int)nlen, name);
	f = policy_field_lookup(name, nlen, &casefold);
	/* D5: a later duplicate is any field value, UTF-8 included. */
	dup = f != F_MX && f != F_OTHER && (st->seen & (1u << f));
	if ((r = policy_value_check(st, v, vlen, f == F_OTHER || dup))
	    != MTASTS_OK)
		return r;
	if (f == F_OTHER) {
		if (casefold && strlist_addf(&st->pol->warnings, "line %zu: "
		    "field '%.*s' ignored: names are case-sensitive", st->line,
		    (int)nlen, name) != MTASTS_OK)
			return MTASTS_ENOMEM;
		return MTASTS_OK;
	}
	if (dup) {
		/* D5: the first wins; later ones only need to be fields. */
		if (strlist_addf(&st->pol->warnings, "line %zu: duplicate "
		    "'%s' ignored (the first one wins)", st->line,
		    policy_field_names[f]) != MTASTS_OK)
			return MTASTS_ENOMEM;
		return MTASTS_OK;
	}
	st->seen |= 1u << f;
	return policy_known(st, f, v, vlen);
}

/* One line without its terminator. */
static int
policy_line(struct policy_state *st, const char *p, size_t len)
{
	size_t n, v;

	if (len == 0)
		return policy_fail(st, "empty line");
	if (UTIL_IS_WSP(p[0]))
		return policy_fail(st, "whitespace at the start of the line");
	if (!UTIL_IS_ALNUM((unsigned char)p[0]))
		return policy_fail(st, "a field name must begin with a letter "
		    "or digit");
	for (n = 1; n < len && (UTIL_IS_ALNUM((unsigned char)p[n]) ||
	    p[n] == '_' || p[n] == '-' || p[n] == '.'); n++)
		;
	if (n > POLICY_NAME_MAX)
		return policy_fail(st, "field name longer than %d characters",
		    POLICY_NAME_MAX);
	if (n == len)
		return policy_fail(st, "no ':' after the field name");
	if (p[n] != ':')
		return policy_fail(st, UTIL_IS_WSP(p[n]) ? "whitespace before "
		    "':'" : "invalid character in the field name");
	for (v = n + 1; v < len && UTIL_IS_WSP(p[v]); v++)
		;
	while (len > v && UTIL_IS_WSP(p[len - 1]))
		len--;
	return policy_field(st, p, n, p + v, len - v);
}

static int
policy_lines(struct policy_state *st, const char *p, size_t len)
{
	size_t pos = 0, eol, end;
	int r;

	for (st->line = 1; ; st->line++) {
		const char *lf = memchr(p + pos, '\n', len - pos);

		eol = lf ? (size_t)(lf - p) : len;
		end = eol;
		/* D1: CRLF or LF ends a line; any other CR is invalid. */
		if (lf != NULL && end > pos && p[end - 1] == '\r')
			end--;
		if (memchr(p + pos, '\r', end - pos) != NULL)
			return policy_fail(st, "bare CR (lines end in LF or "
			    "CRLF)");
		if ((r = policy_line(st, p + pos, end - pos)) != MTASTS_OK)
			return r;
		if (lf == NULL || eol + 1 == len)
			return MTASTS_OK;
		pos = eol + 1;
	}
}

static int
policy_check_required(struct policy_state *st)
{
	static const char *const what[] = { "version", "mode", "max_age" };
	size_t i;

	for (i = 0; i < 3; i++)
		if (!(st->seen & (1u << i))) {
			util_err(st->err, st->errlen, "policy: no '%s' field",
			    what[i]);
			return MTASTS_EPARSE;
		}
	/* §3.2 (D7): mx is required unless mode is "none". */
	if (st->pol->mode != MTASTS_MODE_NONE && st->pol->mx.n == 0) {
		util_err(st->err, st->errlen, "policy: no 'mx' field (mode "
		    "%s needs at least one)", mtasts_mode_name(st->pol->mode));
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

MTASTS_API int
mtasts_policy_parse(const char *p, size_t len, struct mtasts_policy **out,
    char *err, size_t errlen)
{
	struct policy_state st;
	int r;

	if (out == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	if (p == NULL || len == 0) {
		util_err(err, errlen, "policy: empty");
		return MTASTS_EPARSE;
	}
	if (len > MTASTS_POLICY_MAX) {
		util_err(err, errlen, "policy: %zu bytes, more than the limit "
		    "of %d (RFC 8461 §3.3)", len, MTASTS_POLICY_MAX);
		return MTASTS_EPARSE;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		util_err(err, errlen, "policy: line 1: byte order mark "
		    "(BOM) before the first field");
		return MTASTS_EPARSE;
	}
	memset(&st, 0, sizeof(st));
	st.err = err;
	st.errlen = errlen;
	if ((st.pol = util_calloc(1, sizeof(*st.pol))) == NULL)
		return MTASTS_ENOMEM;
	st.pol->mode = MTASTS_MODE_NONE;
	r = policy_lines(&st, p, len);
	if (r == MTASTS_OK)
		r = policy_check_required(&st);
	if (r != MTASTS_OK) {
		if (r == MTASTS_ENOMEM)
			util_err(err, errlen, "policy: out of memory");
		mtasts_policy_free(st.pol);
		return r;
	}
	*out = st.pol;
	return MTASTS_OK;
}

MTASTS_API void
mtasts_policy_free(struct mtasts_policy *pol)
{
	if (pol == NULL)
		return;
	strlist_clear(&pol->mx);
	strlist_clear(&pol->warnings);
	util_free(pol);
}

MTASTS_API enum mtasts_mode
mtasts_policy_mode(const struct mtasts_policy *pol)
{
	return pol ? pol->mode : MTASTS_MODE_NONE;
}

MTASTS_API uint32_t
mtasts_policy_max_age(const struct mtasts_policy *pol)
{
	return pol ? pol->max_age : 0;
}

MTASTS_API size_t
mtasts_policy_mx_count(const struct mtasts_policy *pol)
{
	return pol ? pol->mx.n : 0;
}

MTASTS_API const char *
mtasts_policy_mx(const struct mtasts_policy *pol, size_t i)
{
	return (pol && i < pol->mx.n) ? pol->mx.v[i] : NULL;
}

MTASTS_API size_t
mtasts_policy_warning_count(const struct mtasts_policy *pol)
{
	return pol ? pol->warnings.n : 0;
}

MTASTS_API const char *
mtasts_policy_warning(const struct mtasts_policy *pol, size_t i)
{
	return (pol && i < pol->warnings.n) ? pol->warnings.v[i] : NULL;
}

MTASTS_API int
mtasts_policy_match(const struct mtasts_policy *pol, const char *host,
    size_t len)
{
	size_t i;

	if (pol == NULL)
		return MTASTS_ENOMATCH;
	for (i = 0; i < pol->mx.n; i++)
		if (mtasts_mx_match(pol->mx.v[i], strlen(pol->mx.v[i]), host,
		    len, NULL, 0) == MTASTS_OK)
			return MTASTS_OK;
	return MTASTS_ENOMATCH;
}

MTASTS_API const char *
mtasts_mode_name(enum mtasts_mode mode)
{
	switch (mode) {
	case MTASTS_MODE_ENFORCE:
		return "enforce";
	case MTASTS_MODE_TESTING:
		return "testing";
	case MTASTS_MODE_NONE:
		return "none";
	}
	return "unknown";
}
