/*
 * fuzz_mx.c - mx patterns, matching and name normalisation (RFC 8461
 * §3.2, §4.1; D9, D10).
 *
 * Input: "pattern LF host" (host may hold anything, LF too); without an
 * LF both are the whole input.  Each is copied to an exact-size heap
 * buffer.  Properties:
 *  - a pattern that fails mtasts_mx_pattern_check() never matches;
 *  - mtasts_mx_match() agrees with a plain reference matcher;
 *  - a valid non-wildcard pattern matches itself, upper-cased and with
 *    a trailing dot; "*.d" matches "a.d" but neither "d" nor "a.b.d";
 *  - a host that ends in a number (an IPv4 address to a resolver,
 *    "1.2.3.4", "a.0x1f") matches nothing: it is not a domain name;
 *  - mtasts_domain_normalize() gives a lowercase LDH name or "", is
 *    idempotent, never overflows a short buffer, and an ASCII name
 *    matches its own normal form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#define FUZZ_SMALL	8	/* a short output buffer for normalize */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fuzz_dup(const uint8_t *p, size_t len)
{
	char *s;

	/* Exact size: a read past the end is a heap overflow. */
	if ((s = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	if (len > 0)
		memcpy(s, p, len);
	return s;
}

static int
fuzz_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int
fuzz_caseeq(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (fuzz_lower((unsigned char)a[i]) !=
		    fuzz_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

static int
fuzz_match(const char *p, size_t plen, const char *h, size_t hlen)
{
	int r;

	r = mtasts_mx_match(p, plen, h, hlen, NULL, 0);
	if (r != MTASTS_OK && r != MTASTS_ENOMATCH && r != MTASTS_EPARSE)
		abort();
	return r;
}

static int
fuzz_match_str(const char *p, size_t plen, const char *h)
{
	return fuzz_match(p, plen, h, strlen(h));
}

/* Does an LDH name end in a number: a last label of digits only, or
 * "0x" and hex digits only (how URL parsers spot an IPv4 address)? */
static int
fuzz_ends_in_number(const char *h, size_t len)
{
	size_t i, start = len;
	int hex;

	while (start > 0 && h[start - 1] != '.')
		start--;
	if (start == len)
		return 0;
	hex = len - start >= 2 && h[start] == '0' &&
	    (h[start + 1] == 'x' || h[start + 1] == 'X');
	for (i = start + (hex ? 2 : 0); i < len; i++) {
		if (h[i] >= '0' && h[i] <= '9')
			continue;
		if (hex && ((h[i] >= 'a' && h[i] <= 'f') ||
		    (h[i] >= 'A' && h[i] <= 'F')))
			continue;
		return 0;
	}
	return 1;
}

/* A valid host: an LDH name (a pattern without "*") that does not end
 * in a number, one trailing dot allowed. */
static int
fuzz_host_ok(const char *h, size_t *hlen)
{
	if (*hlen > 0 && h[*hlen - 1] == '.')
		(*hlen)--;
	return *hlen > 0 && memchr(h, '*', *hlen) == NULL &&
	    mtasts_mx_pattern_check(h, *hlen, NULL, 0) == MTASTS_OK &&
	    !fuzz_ends_in_number(h, *hlen);
}

/* D10 by hand: the answer mtasts_mx_match() must give. */
static int
fuzz_reference(const char *p, size_t plen, const char *h, size_t hlen)
{
	const char *dot;

	if (mtasts_mx_pattern_check(p, plen, NULL, 0) != MTASTS_OK ||
	    !fuzz_host_ok(h, &hlen))
		return MTASTS_EPARSE;
	if (p[0] == '*') {
		if ((dot = memchr(h, '.', hlen)) == NULL)
			return MTASTS_ENOMATCH;
		hlen -= (size_t)(dot + 1 - h);
		h = dot + 1;
		p += 2;
		plen -= 2;
	}
	return (plen == hlen && fuzz_caseeq(p, h, hlen)) ? MTASTS_OK :
	    MTASTS_ENOMATCH;
}

/* What a valid pattern must and must not match. */
static void
fuzz_pattern(const char *p, size_t len)
{
	char h[2 * MTASTS_DOMAIN_MAX + 8];
	size_t i;

	if (len > MTASTS_DOMAIN_MAX + 2)
		abort();
	if (fuzz_ends_in_number(p, len)) {
		/* Nothing ending so is a host; "a.1" must not match it. */
		if (p[0] != '*' && fuzz_match(p, len, p, len) == MTASTS_OK)
			__builtin_trap();
		return;
	}
	if (p[0] != '*') {
		memcpy(h, p, len);
		if (fuzz_match(p, len, h, len) != MTASTS_OK)
			__builtin_trap();
		for (i = 0; i < len; i++)
			h[i] = (p[i] >= 'a' && p[i] <= 'z') ?
			    (char)(p[i] - 'a' + 'A') : p[i];
		if (fuzz_match(p, len, h, len) != MTASTS_OK ||
		    fuzz_match(h, len, p, len) != MTASTS_OK)
			__builtin_trap();
		h[len] = '.';
		if (fuzz_match(p, len, h, len + 1) != MTASTS_OK)
			__builtin_trap();
		return;
	}
	/* "*.d" */
	memcpy(h, "a.", 2);
	memcpy(h + 2, p + 2, len - 2);
	if (len <= MTASTS_DOMAIN_MAX &&
	    fuzz_match(p, len, h, len) != MTASTS_OK)
		__builtin_trap();
	if (fuzz_match(p, len, p + 2, len - 2) == MTASTS_OK)
		__builtin_trap();
	memcpy(h, "a.b.", 4);
	memcpy(h + 4, p + 2, len - 2);
	if (fuzz_match(p, len, h, len + 2) == MTASTS_OK)
		__builtin_trap();
}

static void
fuzz_normalize(const char *p, size_t len)
{
	char out[MTASTS_DOMAIN_MAX + 1], again[MTASTS_DOMAIN_MAX + 1];
	char err[MTASTS_ERRLEN], *small;
	size_t i, n;
	int r, ascii = 1;

	memset(out, 'X', sizeof(out));
	r = mtasts_domain_normalize(p, len, out, sizeof(out), err,
	    sizeof(err));
	if (r != MTASTS_OK) {
		if (r == MTASTS_EINVAL || out[0] != '\0' || err[0] == '\0')
			abort();
		return;
	}
	if ((n = strnlen(out, sizeof(out))) == sizeof(out) ||
	    n > MTASTS_DOMAIN_MAX || memchr(out, '*', n) != NULL ||
	    mtasts_mx_pattern_check(out, n, NULL, 0) != MTASTS_OK)
		abort();
	for (i = 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			abort();
	/* Idempotent. */
	if (mtasts_domain_normalize(out, n, again, sizeof(again), NULL, 0) !=
	    MTASTS_OK || strcmp(out, again) != 0)
		__builtin_trap();
	/* An ASCII name matches its normal form as a pattern. */
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] >= 0x80)
			ascii = 0;
	if (ascii && !fuzz_ends_in_number(out, n) &&
	    fuzz_match(out, n, p, len) != MTASTS_OK)
		__builtin_trap();
	/* A short buffer: the same name if it fits, else an error. */
	if ((small = malloc(FUZZ_SMALL)) == NULL)
		abort();
	r = mtasts_domain_normalize(p, len, small, FUZZ_SMALL, NULL, 0);
	if (n < FUZZ_SMALL ? (r != MTASTS_OK || strcmp(small, out) != 0) :
	    (r == MTASTS_OK || small[0] != '\0'))
		__builtin_trap();
	free(small);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *lf;
	char *pat, *host, err[MTASTS_ERRLEN];
	size_t plen, hlen;
	int pc, m;

	if ((lf = memchr(data, '\n', size)) != NULL) {
		plen = (size_t)(lf - data);
		hlen = size - plen - 1;
		pat = fuzz_dup(data, plen);
		host = fuzz_dup(lf + 1, hlen);
	} else {
		plen = hlen = size;
		pat = fuzz_dup(data, size);
		host = fuzz_dup(data, size);
	}

	err[0] = '\0';
	pc = mtasts_mx_pattern_check(pat, plen, err, sizeof(err));
	if (pc != MTASTS_OK && (pc != MTASTS_EPARSE || err[0] == '\0'))
		abort();
	m = fuzz_match(pat, plen, host, hlen);
	/* An invalid pattern never matches. */
	if (pc != MTASTS_OK && m != MTASTS_EPARSE)
		__builtin_trap();
	if (m != fuzz_reference(pat, plen, host, hlen))
		__builtin_trap();
	if (pc == MTASTS_OK) {
		fuzz_pattern(pat, plen);
		/* Other fixed hosts, for the wildcard paths. */
		(void)fuzz_match_str(pat, plen, "mail.example.com");
		(void)fuzz_match_str(pat, plen, "example.com.");
	}

	fuzz_normalize(pat, plen);
	fuzz_normalize(host, hlen);
	free(pat);
	free(host);
	return 0;
}
