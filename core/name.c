/*
 * name.c - domain name syntax and normalisation.
 *
 * MX patterns and policy domains are RFC 5321 §4.1.2 "Domain"s: LDH
 * labels that begin and end with a letter or digit, 1-63 octets each
 * (RFC 1035 §2.3.4), at most 253 octets in text form.  IDNs travel as
 * A-labels (RFC 8461 §3.2; RFC 8460 §4.4).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "mtasts.h"
#include "name.h"
#include "util.h"

static int
name_label_check(const char *p, size_t len, size_t off, const char *what,
    char *err, size_t errlen)
{
	char q[80];
	size_t i;

	if (len == 0) {
		util_err(err, errlen, "%s: empty label at column %zu", what,
		    off + 1);
		return MTASTS_EPARSE;
	}
	if (len > 63) {
		util_err(err, errlen, "%s: label at column %zu is %zu "
		    "characters, more than 63", what, off + 1, len);
		return MTASTS_EPARSE;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (UTIL_IS_ALNUM(c) || c == '-')
			continue;
		util_quote(q, sizeof(q), p + i, 1);
		if (c >= 0x80)
			util_err(err, errlen, "%s: non-ASCII byte %s at column "
			    "%zu (IDNs must be A-labels)", what, q,
			    off + i + 1);
		else
			util_err(err, errlen, "%s: invalid character '%s' at "
			    "column %zu", what, q, off + i + 1);
		return MTASTS_EPARSE;
	}
	if (p[0] == '-' || p[len - 1] == '-') {
		util_err(err, errlen, "%s: label at column %zu begins or ends "
		    "with '-'", what, off + 1);
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

/*
 * Is p[0..len) an LDH host name without trailing dot?  `what' names the
 * input in the message.
 */
int
name_check_ldh(const char *p, size_t len, const char *what, char *err,
    size_t errlen)
{
	size_t start = 0, i;
	int r;

	if (len == 0) {
		util_err(err, errlen, "%s: empty name", what);
		return MTASTS_EPARSE;
	}
	if (len > MTASTS_DOMAIN_MAX) {
		util_err(err, errlen, "%s: name is %zu characters, more than "
		    "%d", what, len, MTASTS_DOMAIN_MAX);
		return MTASTS_EPARSE;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (i == len && i == start && start > 0) {
			util_err(err, errlen, "%s: trailing dot", what);
			return MTASTS_EPARSE;
		}
		r = name_label_check(p + start, i - start, start, what, err,
		    errlen);
		if (r != MTASTS_OK)
			return r;
		start = i + 1;
	}
	return MTASTS_OK;
}

/*
 * Would p[0..len) be taken for an IP address?  Then it is never a DNS
 * reference identifier (RFC 6125 §6.2.1 compares DNS-IDs with domain
 * names only; curl and Go match an IP host against iPAddress SANs
 * only).  IPv6 has a ':' (or brackets); IPv4 is the WHATWG URL rule
 * "ends in a number": the last label, a trailing dot aside, is all
 * digits or 0x-hex, which also covers inet_aton()'s short and octal
 * forms ("127.1", "0177.0.0.1") that a resolver library may accept.
 */
int
name_is_ip(const char *p, size_t len)
{
	size_t i, start;

	if (len > 0 && p[len - 1] == '.')
		len--;
	if (memchr(p, ':', len) != NULL || memchr(p, '[', len) != NULL)
		return 1;
	for (start = len; start > 0 && p[start - 1] != '.'; start--)
		;
	if (start == len)
		return 0;
	if (len - start >= 2 && p[start] == '0' &&
	    (p[start + 1] == 'x' || p[start + 1] == 'X')) {
		for (i = start + 2; i < len; i++)
			if (!isxdigit((unsigned char)p[i]))
				return 0;
		return 1;
	}
	for (i = start; i < len; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* Every "xn--" label must decode as Punycode (RFC 5891 §5.4). */
static int
name_check_alabels(const char *s, char *err, size_t errlen)
{
	char *u = NULL;
	const char *l;
	int rc;

	for (l = s; l != NULL; l = (l = strchr(l, '.')) ? l + 1 : NULL)
		if (strncmp(l, "xn--", 4) == 0)
			break;
	if (l == NULL)
		return MTASTS_OK;
	rc = idn2_to_unicode_8z8z(s, &u, 0);
	free(u);			/* libidn2 allocates with malloc */
	if (rc != IDN2_OK) {
		util_err(err, errlen, "name: invalid A-label: %s",
		    idn2_strerror(rc));
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

/* U-labels to A-labels with UTS #46 mapping (which also lowercases). */
static int
name_to_alabels(const char *p, size_t len, char *out, size_t outsize,
    char *err, size_t errlen)
{
	char *in, *a = NULL;
	size_t i, n;
	int rc;

	for (i = 0; i < len; i += n)
		if ((n = util_utf8_seq((const unsigned char *)p + i,
		    len - i)) == 0) {
			util_err(err, errlen, "name: invalid UTF-8 at column "
			    "%zu", i + 1);
			return MTASTS_EPARSE;
		}
	if ((in = util_strndup(p, len)) == NULL)
		return MTASTS_ENOMEM;
	rc = idn2_lookup_u8((const uint8_t *)in, (uint8_t **)&a,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	util_free(in);
	if (rc == IDN2_MALLOC) {	/* ours: never "not a domain" */
		util_err(err, errlen, "name: %s", idn2_strerror(rc));
		return MTASTS_ENOMEM;
	}
	if (rc != IDN2_OK) {
		util_err(err, errlen, "name: not a valid IDN: %s",
		    idn2_strerror(rc));
		free(a);
		return MTASTS_EPARSE;
	}
	n = strlen(a);
	if (n >= outsize) {
		free(a);
		util_err(err, errlen, "name: longer than the output buffer");
		return n > MTASTS_DOMAIN_MAX ? MTASTS_EPARSE : MTASTS_EINVAL;
	}
	memcpy(out, a, n + 1);
	free(a);
	return MTASTS_OK;
}

MTASTS_API int
mtasts_domain_normalize(const char *p, size_t len, char *out, size_t outsize,
    char *err, size_t errlen)
{
	size_t i;
	int r, ascii = 1;

	if (p == NULL || out == NULL || outsize == 0) {
		util_err(err, errlen, "name: no name or no output buffer");
		return MTASTS_EINVAL;
	}
	out[0] = '\0';
	if (len > 0 && p[len - 1] == '.')	/* absolute name */
		len--;
	if (len == 0) {
		util_err(err, errlen, "name: empty name");
		return MTASTS_EPARSE;
	}
	for (i = 0; i < len; i++) {
		if (p[i] == '\0') {
			util_err(err, errlen, "name: NUL byte at column %zu",
			    i + 1);
			return MTASTS_EPARSE;
		}
		if ((unsigned char)p[i] >= 0x80)
			ascii = 0;
	}
	if (ascii) {
		if (len >= outsize) {
			util_err(err, errlen, "name: %zu characters do not "
			    "fit the output buffer", len);
			return len > MTASTS_DOMAIN_MAX ? MTASTS_EPARSE :
			    MTASTS_EINVAL;
		}
		for (i = 0; i < len; i++)
			out[i] = (char)UTIL_LOWER((unsigned char)p[i]);
		out[len] = '\0';
	} else if ((r = name_to_alabels(p, len, out, outsize, err,
	    errlen)) != MTASTS_OK)
		return r;
	if ((r = name_check_ldh(out, strlen(out), "name", err, errlen))
	    != MTASTS_OK || (r = name_check_alabels(out, err, errlen))
	    != MTASTS_OK) {
		out[0] = '\0';
		return r;
	}
	return MTASTS_OK;
}
