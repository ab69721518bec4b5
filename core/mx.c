/*
 * mx.c - MX patterns of a policy and matching them against MX hosts.
 */
#include <string.h>

#include "mtasts.h"
#include "name.h"
#include "util.h"

/*
 * RFC 8461 §3.2 (D9): mx = ["*."] Domain.  "*" only as the whole
 * left-most label, no trailing dot, A-labels only, no port or literal.
 */
MTASTS_API int
mtasts_mx_pattern_check(const char *p, size_t len, char *err, size_t errlen)
{
	const char *star;

	if (p == NULL || len == 0) {
		util_err(err, errlen, "mx: empty pattern");
		return MTASTS_EPARSE;
	}
	if (len >= 2 && p[0] == '*' && p[1] == '.') {
		p += 2;
		len -= 2;
		if (len == 0) {
			util_err(err, errlen, "mx: '*.' needs a domain after "
			    "it");
			return MTASTS_EPARSE;
		}
	}
	if ((star = memchr(p, '*', len)) != NULL) {
		util_err(err, errlen, "mx: '*' is allowed only as the whole "
		    "left-most label");
		return MTASTS_EPARSE;
	}
	return name_check_ldh(p, len, "mx", err, errlen);
}

/*
 * RFC 8461 §4.1 (D10): ASCII case-insensitive; "*." matches exactly one
 * left-most label of the host; the host's trailing dot is ignored; an
 * invalid pattern or host never matches.
 */
MTASTS_API int
mtasts_mx_match(const char *pattern, size_t plen, const char *host,
    size_t hlen, char *err, size_t errlen)
{
	const char *dot;
	int r;

	if ((r = mtasts_mx_pattern_check(pattern, plen, err, errlen))
	    != MTASTS_OK)
		return r;
	if (host != NULL && hlen > 0 && host[hlen - 1] == '.')
		hlen--;
	if ((r = name_check_ldh(host, hlen, "host", err, errlen))
	    != MTASTS_OK)
		return r;
	/* An MX host that a resolver would take for an IPv4 address is
	 * not a domain name (§3.2 wants one), so no pattern matches it:
	 * "*.2.3.4" or "1.2.3.4" must not vouch for 1.2.3.4. */
	if (name_is_ip(host, hlen)) {
		util_err(err, errlen, "host: %.*s is an IP address, not a "
		    "domain name", (int)hlen, host);
		return MTASTS_EPARSE;
	}
	if (plen >= 2 && pattern[0] == '*') {
		/* The host's first label is 1-63 LDH octets (checked). */
		if ((dot = memchr(host, '.', hlen)) == NULL)
			return MTASTS_ENOMATCH;
		dot++;
		hlen -= (size_t)(dot - host);
		host = dot;
		pattern += 2;
		plen -= 2;
	}
	if (plen == hlen && util_casememeq(pattern, host, hlen))
		return MTASTS_OK;
	return MTASTS_ENOMATCH;
}
