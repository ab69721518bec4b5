/*
 * attr.h - the policy part of a socketmap answer, with Postfix 3.10's
 * TLSRPT attributes when asked (TLSRPT_README, "MTA-STS Support via
 * smtp_tls_policy_maps"): a pure function of the decision, fuzzed and
 * unit-tested without a daemon.
 */
#ifndef ATTR_H
#define ATTR_H

#include <stddef.h>

#include <mtasts.h>

/* At most this many bytes of policy_string attributes in one answer;
 * later policy lines are left out.  Real policies are a few hundred
 * bytes; a padded one may be 64 KiB, and the memo holds up to 16384
 * answers (Postfix itself takes socketmap replies up to 100000). */
#define ATTR_STRINGS_MAX	4096
/* An answer with attributes longer than this is given without them
 * (Postfix's socketmap_max_reply_size is 100000 by default). */
#define ATTR_REPLY_MAX		(64 * 1024)

/* A decision as answer.c takes it from a struct mtasts_result. */
struct attr_policy {
	const char		*domain;	/* policy domain, A-labels */
	int			 has_policy;
	enum mtasts_mode	 mode;		/* has_policy only */
	const char *const	*mx;		/* in policy order */
	size_t			 nmx;
	const char		*text;		/* policy as fetched */
	size_t			 text_len;
	const char		*failure;	/* RFC 8460 type */
	/* Postfix level of an answer that only carries attributes
	 * (testing, failed fetch): socketmap_tlsrpt_level, NULL "may". */
	const char		*level;
};

/* The answer for p: "OK ..." or "NOTFOUND ", NUL-terminated, *len
 * bytes, malloc'd (the caller frees); NULL when out of memory.  tlsrpt:
 * with the attributes (without them when they would make the answer
 * longer than ATTR_REPLY_MAX).  The caller has answered TEMP for an
 * enforce policy without mx patterns. */
char	*attr_reply(const struct attr_policy *p, int tlsrpt, size_t *len);

/* Append the attribute-safe form of s[0..len) to dst (size bytes,
 * NUL-terminated): blanks collapsed to one space and trimmed, every
 * byte that is not printable ASCII, and the braces, written '?'.
 * Returns the length written, 0 if nothing is left. */
size_t	 attr_escape(char *dst, size_t size, const char *s, size_t len);

#endif /* ATTR_H */
