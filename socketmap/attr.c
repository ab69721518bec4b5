/*
 * attr.c - a policy decision as Postfix's smtp_tls_policy_maps reads
 * it.  Without TLSRPT attributes, postfix-mta-sts-resolver's answers
 * (its responder.py, 1.1.2):
 *
 *   enforce	"OK secure match=P1:P2 servername=hostname", each mx
 *		pattern once, "*.example.com" written ".example.com"
 *   otherwise	"NOTFOUND " (Postfix's own default level)
 *
 * With them (socketmap_tlsrpt = yes, or the map name QUERYwithTLSRPT as
 * postfix-tlspol has it), the attributes of Postfix 3.10's
 * TLSRPT_README, as its smtp_tls_policy.c reads them: policy_type,
 * policy_domain, one mx_host_pattern per "mx:" line (as written,
 * "*.example.com"), one "{ policy_string = LINE }" per policy line, and
 * policy_failure.  Postfix splits the answer on blanks and commas
 * outside braces; inside "{ }" it normalises blanks.  Values therefore
 * never hold a brace, a control byte or a non-ASCII byte (attr_escape).
 *
 *   enforce	the "secure" answer above plus the attributes: from
 *		3.10.5 Postfix connects only to MX hosts the patterns
 *		match (smtp_tls_enforce_sts_mx_patterns = yes, RFC 8461
 *		§4.1) and reports each session against the policy
 *   testing	"OK may" plus the attributes: delivered as without
 *		MTA-STS (§5: testing never stops delivery), each TLS
 *		session reported against the policy.  "may" here and
 *		below is socketmap_tlsrpt_level: Postfix's own level
 *		would be replaced, so an admin with "encrypt" or
 *		"dane" says so and keeps it
 *   no policy because the fetch failed (RFC 8460 §4.3.2.2)
 *		"OK may policy_type=sts policy_domain=D policy_failure=T":
 *		delivered as without a policy (§5.1), and Postfix forces
 *		certificate verification to fail with T, so a session it
 *		reports is reported as T
 *   none, no policy, DNS trouble
 *		"NOTFOUND " (Postfix reports no-policy-found itself)
 */
#include <stdlib.h>
#include <string.h>

#include "attr.h"

struct abuf {
	char	*p;
	size_t	 len;
	size_t	 size;
	int	 oom;
};

static void
abuf_grow(struct abuf *b, size_t more)
{
	size_t	 size;
	char	*p;

	if (b->oom || b->len + more + 1 <= b->size)
		return;
	size = b->size > 0 ? b->size : 256;
	while (size < b->len + more + 1)
		size *= 2;
	if ((p = realloc(b->p, size)) == NULL) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->size = size;
}

static void
abuf_add(struct abuf *b, const char *s, size_t len)
{
	abuf_grow(b, len);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static void
abuf_str(struct abuf *b, const char *s)
{
	abuf_add(b, s, strlen(s));
}

/* A value Postfix takes as one bare token: what the core lets into a
 * pattern or a policy domain (LDH, '.', a leading "*."), nothing that
 * could split or brace it. */
static int
attr_token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '*' || *s == '_'))
			return 0;
	return 1;
}

size_t
attr_escape(char *dst, size_t size, const char *s, size_t len)
{
	size_t		i, n = 0;
	int		blank = 0;
	unsigned char	c;

	if (size == 0)
		return 0;
	for (i = 0; i < len && n + 1 < size; i++) {
		c = (unsigned char)s[i];
		if (c == ' ' || c == '\t') {
			blank = n > 0;
			continue;
		}
		if (blank) {
			if (n + 2 >= size)
				break;
			dst[n++] = ' ';
			blank = 0;
		}
		dst[n++] = c > ' ' && c < 127 && c != '{' && c != '}' ?
		    (char)c : '?';
	}
	dst[n] = '\0';
	return n;
}

/* Has pattern i appeared before i in the policy? */
static int
attr_seen(const struct attr_policy *p, size_t i)
{
	size_t	j;

	for (j = 0; j < i; j++)
		if (strcmp(p->mx[j], p->mx[i]) == 0)
			return 1;
	return 0;
}

static void
attr_secure(struct abuf *b, const struct attr_policy *p)
{
	const char	*mx;
	size_t		 i;
	int		 first = 1;

	abuf_str(b, "OK secure match=");
	for (i = 0; i < p->nmx; i++) {
		if (attr_seen(p, i) || !attr_token_ok(p->mx[i]))
			continue;
		mx = p->mx[i];
		if (mx[0] == '*')		/* "*.d": Postfix's ".d" */
			mx++;
		if (!first)
			abuf_add(b, ":", 1);
		abuf_str(b, mx);
		first = 0;
	}
	abuf_str(b, " servername=hostname");
}

/* One "{ policy_string = LINE }" per non-blank line of the policy as
 * fetched (RFC 8460 §4.3.1.1), within ATTR_STRINGS_MAX. */
static void
attr_strings(struct abuf *b, const struct attr_policy *p)
{
	static const char	 head[] = " { policy_string = ", tail[] = " }";
	const char		*s, *e, *end = p->text + p->text_len;
	size_t			 used = 0, n, l;
	char			*v;

	if (p->text == NULL)
		return;
	for (s = p->text; s < end && !b->oom; s = e + 1) {
		if ((e = memchr(s, '\n', (size_t)(end - s))) == NULL)
			e = end;
		l = (size_t)(e - s);
		if (l > 0 && s[l - 1] == '\r')	/* CRLF line ends */
			l--;
		if ((v = malloc(l + 1)) == NULL) {
			b->oom = 1;
			return;
		}
		n = attr_escape(v, l + 1, s, l);
		if (n > 0 && used + n + sizeof(head) - 1 + sizeof(tail) - 1 >
		    ATTR_STRINGS_MAX) {
			free(v);	/* the policy's first lines only */
			return;
		}
		if (n > 0) {
			abuf_str(b, head);
			abuf_add(b, v, n);
			abuf_str(b, tail);
			used += n + sizeof(head) - 1 + sizeof(tail) - 1;
		}
		free(v);
	}
}

static void
attr_sts(struct abuf *b, const struct attr_policy *p)
{
	size_t	i;

	abuf_str(b, " policy_type=sts policy_domain=");
	abuf_str(b, p->domain);
	if (!p->has_policy) {
		abuf_str(b, " policy_failure=");
		abuf_str(b, p->failure);
		return;
	}
	for (i = 0; i < p->nmx; i++) {
		if (attr_seen(p, i) || !attr_token_ok(p->mx[i]))
			continue;
		abuf_str(b, " mx_host_pattern=");
		abuf_str(b, p->mx[i]);
	}
	attr_strings(b, p);
}

static int
attr_failure_ok(const char *f)
{
	return f != NULL && (strcmp(f, "sts-policy-fetch-error") == 0 ||
	    strcmp(f, "sts-policy-invalid") == 0 ||
	    strcmp(f, "sts-webpki-invalid") == 0);
}

/* The level for an answer that only carries attributes: Postfix
 * takes it instead of smtp_tls_security_level, so it is the admin's
 * (socketmap_tlsrpt_level), one of the words config.c lets through. */
static const char *
attr_level(const char *level)
{
	if (level != NULL && (strcmp(level, "encrypt") == 0 ||
	    strcmp(level, "dane") == 0))
		return level;
	return "may";
}

char *
attr_reply(const struct attr_policy *p, int tlsrpt, size_t *len)
{
	struct abuf	b = { NULL, 0, 0, 0 };
	int		sts;

	/* Without a sane domain no attribute can be given. */
	tlsrpt = tlsrpt && attr_token_ok(p->domain);
	if (p->has_policy && p->mode == MTASTS_MODE_ENFORCE) {
		attr_secure(&b, p);
		sts = tlsrpt;
	} else if (tlsrpt && ((p->has_policy &&
	    p->mode == MTASTS_MODE_TESTING) || (!p->has_policy &&
	    attr_failure_ok(p->failure)))) {
		abuf_str(&b, "OK ");
		abuf_str(&b, attr_level(p->level));
		sts = 1;
	} else {
		abuf_str(&b, "NOTFOUND ");
		sts = 0;
	}
	if (sts)
		attr_sts(&b, p);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	/* Postfix takes socketmap replies up to socketmap_max_reply_size
	 * (100000 bytes) and defers the mail on a longer one: a policy
	 * with thousands of mx lines must not turn a testing domain's
	 * delivery or an enforce answer into a deferral for the sake of
	 * its attributes.  Without them the answer is what it is without
	 * TLSRPT (at most the "match=" list of a 64 KiB policy). */
	if (tlsrpt && b.len > ATTR_REPLY_MAX) {
		free(b.p);
		return attr_reply(p, 0, len);
	}
	*len = b.len;
	return b.p;
}
