/*
 * dgram.c - one libtlsrpt datagram, parsed and checked as hostile
 * input: any local process that may write to the socket can send one.
 *
 * The parser knows exactly the JSON libtlsrpt writes (tlsrptd.h): the
 * keys it uses, each once, strings and integers only, each object and
 * array where libtlsrpt puts it.  It does not recurse: one function per
 * level of that fixed shape, so no input can nest deeper.  Anything else is refused whole, so
 * that a datagram is counted entirely or not at all.  Every read is
 * checked against the end; decoded strings go to an arena the caller
 * sized from the datagram's length, so nothing grows.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <mtasts.h>

#include "tlsrptd.h"

struct cur {
	const char	*p;
	size_t		 len, off;
	struct dgram	*dg;
};

static int	dgram_fail(struct cur *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
dgram_fail(struct cur *c, const char *fmt, ...)
{
	char	msg[128], *m;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The reason goes to the log and may quote the datagram (a key, a
	 * version): a newline there would forge a log line. */
	for (m = msg; *m != '\0'; m++)
		if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
			*m = '?';
	snprintf(c->dg->why, sizeof(c->dg->why), "offset %zu: %s", c->off,
	    msg);
	return -1;
}

static void
dgram_ws(struct cur *c)
{
	while (c->off < c->len && (c->p[c->off] == ' ' ||
	    c->p[c->off] == '\t' || c->p[c->off] == '\n' ||
	    c->p[c->off] == '\r'))
		c->off++;
}

/* The next significant byte is ch: consume it. */
static int
dgram_eat(struct cur *c, char ch)
{
	dgram_ws(c);
	if (c->off < c->len && c->p[c->off] == ch) {
		c->off++;
		return 0;
	}
	return -1;
}

static int
dgram_expect(struct cur *c, char ch)
{
	if (dgram_eat(c, ch) == 0)
		return 0;
	return dgram_fail(c, "expected '%c'", ch);
}

static int
dgram_hex4(struct cur *c, unsigned int *v)
{
	unsigned int	 i, d;
	char		 ch;

	if (c->len - c->off < 4)
		return dgram_fail(c, "short \\u escape");
	for (*v = 0, i = 0; i < 4; i++) {
		ch = c->p[c->off + i];
		if (ch >= '0' && ch <= '9')
			d = (unsigned int)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned int)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned int)(ch - 'A' + 10);
		else
			return dgram_fail(c, "bad \\u escape");
		*v = *v << 4 | d;
	}
	c->off += 4;
	return 0;
}

/* A \u escape (after "\u") as UTF-8 into out (4 bytes room): a
 * surrogate pair is one code point; NUL and lone surrogates are not
 * text.  Returns the bytes written, -1 on error. */
static int
dgram_unicode(struct cur *c, char *out)
{
	unsigned int	 u, lo;

	if (dgram_hex4(c, &u) == -1)
		return -1;
	if (u >= 0xd800 && u <= 0xdbff) {
		if (c->len - c->off < 2 || c->p[c->off] != '\\' ||
		    c->p[c->off + 1] != 'u')
			return dgram_fail(c, "lone surrogate");
		c->off += 2;
		if (dgram_hex4(c, &lo) == -1)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return dgram_fail(c, "bad surrogate pair");
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	} else if (u >= 0xdc00 && u <= 0xdfff)
		return dgram_fail(c, "lone surrogate");
	if (u == 0)
		return dgram_fail(c, "NUL in a string");
	if (u < 0x80) {
		out[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (char)(0xc0 | u >> 6);
		out[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (char)(0xe0 | u >> 12);
		out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		out[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | u >> 18);
	out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
	out[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

/* One escape after '\' into out; bytes written, -1 on error. */
static int
dgram_escape(struct cur *c, char *out)
{
	static const char	 from[] = "\"\\/bfnrt";
	static const char	 to[] = "\"\\/\b\f\n\r\t";
	const char		*e;

	if (c->off >= c->len)
		return dgram_fail(c, "unterminated string");
	if (c->p[c->off] == 'u') {
		c->off++;
		return dgram_unicode(c, out);
	}
	if ((e = memchr(from, c->p[c->off], sizeof(from) - 1)) == NULL)
		return dgram_fail(c, "bad escape");
	c->off++;
	out[0] = to[e - from];
	return 1;
}

/*
 * A JSON string, decoded into the arena, NUL-terminated, at most max
 * bytes.  libtlsrpt escapes '"', '\\', and bytes below 0x20 and 0x7f;
 * bytes from 0x80 up come raw, whatever their encoding: kept as they
 * are here, and checked where a field must be text.  A decoded string
 * is never longer than its JSON, so the arena cannot overflow.
 */
static int
dgram_string(struct cur *c, struct dgram_str *s, size_t max)
{
	struct dgram	*dg = c->dg;
	char		*out = dg->arena + dg->used;
	size_t		 n = 0;
	int		 k;

	if (dgram_expect(c, '"') == -1)
		return -1;
	for (;;) {
		if (c->off >= c->len)
			return dgram_fail(c, "unterminated string");
		if (n + 4 > max)
			return dgram_fail(c, "string longer than %zu bytes",
			    max);
		if (c->p[c->off] == '"')
			break;
		if (c->p[c->off] == '\\') {
			c->off++;
			if ((k = dgram_escape(c, out + n)) == -1)
				return -1;
			n += (size_t)k;
		} else if ((unsigned char)c->p[c->off] < 0x20)
			return dgram_fail(c, "control byte in a string");
		else
			out[n++] = c->p[c->off++];
	}
	c->off++;
	out[n] = '\0';
	s->p = out;
	s->len = n;
	dg->used += n + 1;
	return 0;
}

/* An integer as libtlsrpt's "%d" writes it, within [min, max]. */
static int
dgram_int(struct cur *c, long min, long max, long *v)
{
	size_t	 start;
	int	 neg = 0;
	long	 n = 0;

	dgram_ws(c);
	if (c->off < c->len && c->p[c->off] == '-') {
		neg = 1;
		c->off++;
	}
	start = c->off;
	while (c->off < c->len && c->p[c->off] >= '0' &&
	    c->p[c->off] <= '9') {
		if (c->off - start >= 9)
			return dgram_fail(c, "number too long");
		n = n * 10 + (c->p[c->off++] - '0');
	}
	if (c->off == start || (c->p[start] == '0' && c->off - start > 1))
		return dgram_fail(c, "expected a number");
	*v = neg ? -n : n;
	if (*v < min || *v > max)
		return dgram_fail(c, "%ld out of range", *v);
	return 0;
}

/*
 * Objects: each key once, from a list the caller knows.  Keys are
 * ASCII, never escaped (libtlsrpt writes them as literals).
 */
static int
dgram_key(struct cur *c, const char *const *keys, unsigned int *seen)
{
	size_t		 start, n;
	unsigned int	 i;

	if (dgram_expect(c, '"') == -1)
		return -1;
	start = c->off;
	while (c->off < c->len && c->p[c->off] != '"' &&
	    c->p[c->off] != '\\' && c->off - start < 32)
		c->off++;
	if (c->off >= c->len || c->p[c->off] != '"')
		return dgram_fail(c, "bad key");
	n = c->off - start;
	c->off++;
	for (i = 0; keys[i] != NULL; i++)
		if (strlen(keys[i]) == n &&
		    memcmp(keys[i], c->p + start, n) == 0)
			break;
	c->off = start;
	if (keys[i] == NULL)
		return dgram_fail(c, "unknown key \"%.*s\"", (int)n,
		    c->p + start);
	if (*seen & (1u << i))
		return dgram_fail(c, "duplicate key \"%s\"", keys[i]);
	*seen |= 1u << i;
	c->off = start + n + 1;
	if (dgram_expect(c, ':') == -1)
		return -1;
	return (int)i;
}

/* After a member: 1 for another, 0 at the object's end. */
static int
dgram_next(struct cur *c, char close)
{
	if (dgram_eat(c, ',') == 0)
		return 1;
	if (dgram_eat(c, close) == 0)
		return 0;
	return dgram_fail(c, "expected ',' or '%c'", close);
}

/* Printable text, UTF-8, one line: what a policy-string may hold (its
 * lines are joined by '\n' for the store). */
static int
dgram_text_ok(const struct dgram_str *s)
{
	const unsigned char	*p = (const unsigned char *)s->p;
	size_t			 i = 0, n, k;

	while (i < s->len) {
		if (p[i] < 0x80) {
			if (p[i] < 0x20 && p[i] != '\t')
				return 0;
			if (p[i] == 0x7f)
				return 0;
			i++;
			continue;
		}
		n = p[i] >= 0xf0 && p[i] <= 0xf4 ? 4 :
		    p[i] >= 0xe0 && p[i] < 0xf0 ? 3 :
		    p[i] >= 0xc2 && p[i] < 0xe0 ? 2 : 0;
		if (n == 0 || s->len - i < n)
			return 0;
		for (k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		/* Overlong 3- and 4-byte forms, surrogates, > U+10FFFF. */
		if ((p[i] == 0xe0 && p[i + 1] < 0xa0) ||
		    (p[i] == 0xed && p[i + 1] >= 0xa0) ||
		    (p[i] == 0xf0 && p[i + 1] < 0x90) ||
		    (p[i] == 0xf4 && p[i + 1] >= 0x90))
			return 0;
		i += n;
	}
	return 1;
}

/* ["...", ...]: at most nmax strings of at most smax bytes. */
static int
dgram_strings(struct cur *c, struct dgram_str *v, size_t nmax, size_t *n,
    size_t smax, int text)
{
	struct dgram_str	 s;

	*n = 0;
	if (dgram_expect(c, '[') == -1)
		return -1;
	if (dgram_eat(c, ']') == 0)
		return 0;
	do {
		if (*n == nmax)
			return dgram_fail(c, "more than %zu strings", nmax);
		if (dgram_string(c, &s, smax) == -1)
			return -1;
		if (text && !dgram_text_ok(&s))
			return dgram_fail(c, "not a line of UTF-8 text");
		if (v != NULL)
			v[*n] = s;
		(*n)++;
	} while (dgram_next(c, ']') == 1);
	return c->dg->why[0] != '\0' ? -1 : 0;
}

/* A domain name field, normalised (A-labels, no trailing dot). */
static int
dgram_domain(struct cur *c, const char **out)
{
	char			 d[MTASTS_DOMAIN_MAX + 1];
	struct dgram_str	 s;

	if (dgram_string(c, &s, MTASTS_DOMAIN_MAX + 8) == -1)
		return -1;
	if (mtasts_domain_normalize(s.p, s.len, d, sizeof(d), NULL, 0) !=
	    MTASTS_OK)
		return dgram_fail(c, "not a domain name");
	/* Never longer than the string it came from, unless U-labels
	 * became A-labels: then the arena's room for this string may be
	 * short, so it goes in place only when it fits. */
	if (strlen(d) > s.len)
		return dgram_fail(c, "internationalised name");
	memcpy(s.p, d, strlen(d) + 1);
	*out = s.p;
	return 0;
}

/* "n", the receiving MX host: normalised, or unknown (NULL) when it is
 * empty or not a host name: the session still counts. */
static int
dgram_host(struct cur *c, const char **out)
{
	char			 d[MTASTS_DOMAIN_MAX + 1];
	struct dgram_str	 s;

	if (dgram_string(c, &s, MTASTS_DOMAIN_MAX + 8) == -1)
		return -1;
	*out = NULL;
	if (s.len == 0 || mtasts_domain_normalize(s.p, s.len, d, sizeof(d),
	    NULL, 0) != MTASTS_OK || strlen(d) > s.len)
		return 0;
	memcpy(s.p, d, strlen(d) + 1);
	*out = s.p;
	return 0;
}

/* An address field: IPv4 or IPv6 text, or "" (unknown: NULL). */
static int
dgram_ip(struct cur *c, const char **out)
{
	unsigned char		 a[16];
	struct dgram_str	 s;

	if (dgram_string(c, &s, 64) == -1)
		return -1;
	*out = NULL;
	if (s.len == 0)
		return 0;
	if (inet_pton(AF_INET, s.p, a) != 1 &&
	    inet_pton(AF_INET6, s.p, a) != 1)
		return dgram_fail(c, "not an IP address");
	*out = s.p;
	return 0;
}

/*
 * "h": Postfix passes the receiving MX's whole EHLO reply, its lines
 * joined by CRLF.  RFC 8460 §4.4 receiving-mx-helo is the name in its
 * first line (RFC 5321 §4.1.1.1: "250-" Domain [SP ehlo-greet]), so
 * that name is kept when it is a host name; anything else is unknown.
 */
static int
dgram_helo(struct cur *c, const char **out)
{
	char			 d[MTASTS_DOMAIN_MAX + 1];
	struct dgram_str	 s;
	const char		*p;
	size_t			 n;

	if (dgram_string(c, &s, DGRAM_STRING_MAX) == -1)
		return -1;
	*out = NULL;
	p = s.p;
	if (s.len >= 3 && p[0] >= '0' && p[0] <= '9' && p[1] >= '0' &&
	    p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
	    (p[3] == '-' || p[3] == ' '))
		p += 4;
	n = strcspn(p, " \t\r\n");
	if (n == 0 || mtasts_domain_normalize(p, n, d, sizeof(d), NULL, 0) !=
	    MTASTS_OK || strlen(d) > s.len)
		return 0;
	memcpy(s.p, d, strlen(d) + 1);
	*out = s.p;
	return 0;
}

/* libtlsrpt's tlsrpt_failure_t: RFC 8460 §4.3 result types. */
static const char *
dgram_result(long code)
{
	static const struct {
		long		 code;
		const char	*name;
	} map[] = {
		{ 201, "starttls-not-supported" },
		{ 202, "certificate-host-mismatch" },
		{ 203, "certificate-not-trusted" },
		{ 204, "certificate-expired" },
		{ 205, "validation-failure" },
		{ 301, "sts-policy-fetch-error" },
		{ 302, "sts-policy-invalid" },
		{ 303, "sts-webpki-invalid" },
		{ 304, "tlsa-invalid" },
		{ 305, "dnssec-invalid" },
		{ 306, "dane-required" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].code == code)
			return map[i].name;
	return NULL;
}

static int
dgram_failure(struct cur *c, struct dgram_failure *f)
{
	static const char *const keys[] = { "c", "s", "n", "h", "r", "a",
	    "f", NULL };
	struct dgram_str	 s;
	unsigned int		 seen = 0;
	long			 code;
	int			 k;

	memset(f, 0, sizeof(*f));
	if (dgram_expect(c, '{') == -1)
		return -1;
	do {
		if ((k = dgram_key(c, keys, &seen)) == -1)
			return -1;
		switch (k) {
		case 0:
			if (dgram_int(c, 0, 999, &code) == -1)
				return -1;
			if ((f->result = dgram_result(code)) == NULL)
				return dgram_fail(c, "unknown failure code "
				    "%ld", code);
			break;
		case 1:
			if (dgram_ip(c, &f->sending_ip) == -1)
				return -1;
			break;
		case 2:
			if (dgram_host(c, &f->mx) == -1)
				return -1;
			break;
		case 3:
			if (dgram_helo(c, &f->helo) == -1)
				return -1;
			break;
		case 4:
			if (dgram_ip(c, &f->ip) == -1)
				return -1;
			break;
		default:	/* "a", "f": free text, not kept (§4.4) */
			if (dgram_string(c, &s, DGRAM_STRING_MAX) == -1)
				return -1;
			break;
		}
	} while (dgram_next(c, '}') == 1);
	if (c->dg->why[0] != '\0')
		return -1;
	if (f->result == NULL)
		return dgram_fail(c, "failure without \"c\"");
	return 0;
}

/* Which result types a policy type can have (RFC 8460 §4.3.2). */
static int
dgram_result_fits(int type, const char *result)
{
	if (type == DGRAM_POLICY_STS)
		return strcmp(result, "tlsa-invalid") != 0 &&
		    strcmp(result, "dnssec-invalid") != 0 &&
		    strcmp(result, "dane-required") != 0;
	return strncmp(result, "sts-", 4) != 0;
}

static int
dgram_failures(struct cur *c, struct dgram_policy *pol)
{
	if (dgram_expect(c, '[') == -1)
		return -1;
	if (dgram_eat(c, ']') == 0)
		return 0;
	do {
		if (pol->nfailures == DGRAM_FAILURES_MAX)
			return dgram_fail(c, "more than %d failures",
			    DGRAM_FAILURES_MAX);
		if (dgram_failure(c, &pol->failures[pol->nfailures]) == -1)
			return -1;
		pol->nfailures++;
	} while (dgram_next(c, ']') == 1);
	return c->dg->why[0] != '\0' ? -1 : 0;
}

/* The policy's lines joined by '\n': what the store keeps as its text
 * (RFC 8460 §4.3 policy-string), at most MTASTS_POLICY_MAX bytes as a
 * policy file (RFC 8461 §3.3, D16). */
static int
dgram_join(struct cur *c, struct dgram_policy *pol)
{
	struct dgram	*dg = c->dg;
	char		*out = dg->arena + dg->used;
	size_t		 i, n = 0;

	pol->text = NULL;
	pol->text_len = 0;
	if (pol->nstrings == 0 || pol->type == DGRAM_POLICY_NONE)
		return 0;
	for (i = 0, n = pol->nstrings - 1; i < pol->nstrings; i++)
		n += pol->strings[i].len;
	if (n > MTASTS_POLICY_MAX)
		return dgram_fail(c, "policy strings over %d bytes",
		    MTASTS_POLICY_MAX);
	for (i = 0, n = 0; i < pol->nstrings; i++) {
		if (i > 0)
			out[n++] = '\n';
		memcpy(out + n, pol->strings[i].p, pol->strings[i].len);
		n += pol->strings[i].len;
	}
	out[n] = '\0';
	pol->text = out;
	pol->text_len = n;
	dg->used += n + 1;
	return 0;
}

static int
dgram_policy(struct cur *c, struct dgram_policy *pol)
{
	static const char *const keys[] = { "policy-type", "policy-domain",
	    "policy-string", "mx-host", "failure-details", "t", "f", NULL };
	unsigned int	 seen = 0;
	long		 v, t = 0;
	size_t		 i;
	int		 k;

	memset(pol, 0, offsetof(struct dgram_policy, strings));
	pol->nstrings = pol->nmx = pol->nfailures = 0;
	if (dgram_expect(c, '{') == -1)
		return -1;
	do {
		if ((k = dgram_key(c, keys, &seen)) == -1)
			return -1;
		switch (k) {
		case 0:
			if (dgram_int(c, 0, 99, &v) == -1)
				return -1;
			pol->type = (int)v;
			break;
		case 1:
			if (dgram_domain(c, &pol->domain) == -1)
				return -1;
			break;
		case 2:
			if (dgram_strings(c, pol->strings, DGRAM_STRINGS_MAX,
			    &pol->nstrings, DGRAM_PSTRING_MAX, 1) == -1)
				return -1;
			break;
		case 3:
			if (dgram_strings(c, NULL, DGRAM_MX_MAX, &pol->nmx,
			    MTASTS_DOMAIN_MAX + 8, 1) == -1)
				return -1;
			break;
		case 4:
			if (dgram_failures(c, pol) == -1)
				return -1;
			break;
		case 5:
			if (dgram_int(c, 0, DGRAM_FAILURES_MAX, &t) == -1)
				return -1;
			break;
		case 6:
			if (dgram_int(c, 0, 1, &v) == -1)
				return -1;
			pol->failed = (int)v;
			break;
		}
	} while (dgram_next(c, '}') == 1);
	if (c->dg->why[0] != '\0')
		return -1;
	/* libtlsrpt always writes these three. */
	if ((seen & (1u << 0 | 1u << 5 | 1u << 6)) != (1u << 0 | 1u << 5 |
	    1u << 6))
		return dgram_fail(c, "policy without policy-type, t or f");
	switch (pol->type) {
	case DGRAM_POLICY_TLSA:
		pol->type_name = "tlsa";
		break;
	case DGRAM_POLICY_STS:
		pol->type_name = "sts";
		break;
	case DGRAM_POLICY_NONE:
		pol->type_name = "no-policy-found";
		break;
	default:
		return dgram_fail(c, "unknown policy-type %d", pol->type);
	}
	/* libtlsrpt counts the failures it writes into "t". */
	if ((size_t)t != pol->nfailures)
		return dgram_fail(c, "t is %ld, with %zu failure-details", t,
		    pol->nfailures);
	for (i = 0; i < pol->nfailures; i++)
		if (!dgram_result_fits(pol->type, pol->failures[i].result))
			return dgram_fail(c, "%s under policy-type %s",
			    pol->failures[i].result, pol->type_name);
	return dgram_join(c, pol);
}

static int
dgram_policies(struct cur *c)
{
	struct dgram	*dg = c->dg;

	if (dgram_expect(c, '[') == -1)
		return -1;
	do {
		if (dg->npolicies == DGRAM_POLICIES_MAX)
			return dgram_fail(c, "more than %d policies",
			    DGRAM_POLICIES_MAX);
		if (dgram_policy(c, &dg->policies[dg->npolicies]) == -1)
			return -1;
		dg->npolicies++;
	} while (dgram_next(c, ']') == 1);
	return dg->why[0] != '\0' ? -1 : 0;
}

int
dgram_parse(struct dgram *dg, const char *p, size_t len)
{
	static const char *const keys[] = { "dpv", "d", "pr", "policies",
	    NULL };
	struct cur		 c = { p, len, 0, dg };
	struct dgram_str	 s;
	unsigned int		 seen = 0;
	int			 k;

	dg->version = 0;
	dg->domain = NULL;
	dg->npolicies = 0;
	dg->why[0] = '\0';
	dg->used = 0;
	if (dg->size < DGRAM_ARENA(len))
		return dgram_fail(&c, "datagram too long"), DGRAM_EMALFORMED;
	if (dgram_expect(&c, '{') == -1)
		return DGRAM_EMALFORMED;
	do {
		if ((k = dgram_key(&c, keys, &seen)) == -1)
			return DGRAM_EMALFORMED;
		switch (k) {
		case 0:
			/* "1" since libtlsrpt 0.5.0; absent before. */
			if (dgram_string(&c, &s, 16) == -1)
				return DGRAM_EMALFORMED;
			if (strcmp(s.p, "1") != 0) {
				dgram_fail(&c, "datagram protocol version "
				    "\"%.8s\"", s.p);
				return DGRAM_EVERSION;
			}
			dg->version = 1;
			break;
		case 1:
			if (dgram_domain(&c, &dg->domain) == -1)
				return DGRAM_EMALFORMED;
			break;
		case 2:
			/* The TLSRPT record: mtasts report send looks it
			 * up itself when it delivers (RFC 8460 §3). */
			if (dgram_string(&c, &s, DGRAM_STRING_MAX) == -1)
				return DGRAM_EMALFORMED;
			break;
		case 3:
			if (dgram_policies(&c) == -1)
				return DGRAM_EMALFORMED;
			break;
		}
	} while (dgram_next(&c, '}') == 1);
	if (dg->why[0] != '\0')
		return DGRAM_EMALFORMED;
	dgram_ws(&c);
	if (c.off != c.len)
		return dgram_fail(&c, "bytes after the object"),
		    DGRAM_EMALFORMED;
	if (dg->domain == NULL || dg->npolicies == 0)
		return dgram_fail(&c, "no \"d\" or no policies"),
		    DGRAM_EMALFORMED;
	return DGRAM_OK;
}
