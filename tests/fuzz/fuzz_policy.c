/*
 * fuzz_policy.c - the MTA-STS policy file (RFC 8461 §3.2).
 *
 * On error: no policy and a non-empty message.  On success: the fields
 * are in range, every mx is a valid lowercase pattern, and the policy
 * survives a round trip: a canonical text rebuilt from the accessors
 * (version, mode, every mx, max_age; CRLF) parses to the same mode,
 * max_age and mx list.  Matching: each non-wildcard pattern matches
 * itself, upper-cased and with a trailing dot; "*.d" matches "a.d" but
 * neither "d" nor "a.b.d"; mtasts_policy_match() agrees with
 * mtasts_mx_match() over the patterns.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#define FUZZ_HOST	"mail.example.com"
#define FUZZ_POLICY_MATCH_MAX	8

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
fuzz_text(const struct mtasts_policy *pol, size_t *len)
{
	size_t i, n = mtasts_policy_mx_count(pol), size, o;
	char *s;
	int w;

	size = 64 + n * (MTASTS_DOMAIN_MAX + 16);
	if ((s = malloc(size)) == NULL)
		abort();
	w = snprintf(s, size, "version: STSv1\r\nmode: %s\r\n",
	    mtasts_mode_name(mtasts_policy_mode(pol)));
	if (w < 0 || (size_t)w >= size)
		abort();
	o = (size_t)w;
	for (i = 0; i < n; i++) {
		w = snprintf(s + o, size - o, "mx: %s\r\n",
		    mtasts_policy_mx(pol, i));
		if (w < 0 || (size_t)w >= size - o)
			abort();
		o += (size_t)w;
	}
	w = snprintf(s + o, size - o, "max_age: %lu\r\n",
	    (unsigned long)mtasts_policy_max_age(pol));
	if (w < 0 || (size_t)w >= size - o)
		abort();
	*len = o + (size_t)w;
	return s;
}

static void
fuzz_round_trip(const struct mtasts_policy *pol)
{
	struct mtasts_policy *again;
	char err[MTASTS_ERRLEN], *text;
	size_t len, i, n = mtasts_policy_mx_count(pol);

	text = fuzz_text(pol, &len);
	/* "mx:a\n" grows to "mx: a\r\n": past the limit is not a bug. */
	if (len > MTASTS_POLICY_MAX) {
		free(text);
		return;
	}
	if (mtasts_policy_parse(text, len, &again, err, sizeof(err)) !=
	    MTASTS_OK)
		abort();
	if (mtasts_policy_mode(again) != mtasts_policy_mode(pol) ||
	    mtasts_policy_max_age(again) != mtasts_policy_max_age(pol) ||
	    mtasts_policy_mx_count(again) != n)
		__builtin_trap();
	for (i = 0; i < n; i++)
		if (strcmp(mtasts_policy_mx(again, i),
		    mtasts_policy_mx(pol, i)) != 0)
			__builtin_trap();
	mtasts_policy_free(again);
	free(text);
}

static int
fuzz_match(const struct mtasts_policy *pol, const char *host)
{
	return mtasts_policy_match(pol, host, strlen(host));
}

static int
fuzz_mx(const char *p, const char *host)
{
	return mtasts_mx_match(p, strlen(p), host, strlen(host), NULL, 0);
}

/* Matching properties of one pattern p of the policy. */
static void
fuzz_match_pattern(const char *p)
{
	char h[2 * MTASTS_DOMAIN_MAX + 8];
	size_t i, len = strlen(p);

	if (len > MTASTS_DOMAIN_MAX + 2)
		abort();
	if (p[0] != '*') {
		if (fuzz_mx(p, p) != MTASTS_OK)
			__builtin_trap();
		for (i = 0; i <= len; i++)
			h[i] = (p[i] >= 'a' && p[i] <= 'z') ?
			    (char)(p[i] - 'a' + 'A') : p[i];
		if (fuzz_mx(p, h) != MTASTS_OK)
			__builtin_trap();
		memcpy(h + len, ".", 2);
		if (fuzz_mx(p, h) != MTASTS_OK)
			__builtin_trap();
		return;
	}
	/* "*.d": "a.d" matches (when it is a legal name). */
	snprintf(h, sizeof(h), "a.%s", p + 2);
	if (strlen(h) <= MTASTS_DOMAIN_MAX && fuzz_mx(p, h) != MTASTS_OK)
		__builtin_trap();
	/* D10: exactly one label: neither "d" nor "a.b.d". */
	if (fuzz_mx(p, p + 2) == MTASTS_OK)
		__builtin_trap();
	snprintf(h, sizeof(h), "a.b.%s", p + 2);
	if (fuzz_mx(p, h) == MTASTS_OK)
		__builtin_trap();
}

static void
fuzz_check(const struct mtasts_policy *pol)
{
	size_t i, j, n = mtasts_policy_mx_count(pol);
	enum mtasts_mode mode = mtasts_policy_mode(pol);
	const char *p, *w;
	int any = 0;

	if ((mode != MTASTS_MODE_NONE && mode != MTASTS_MODE_TESTING &&
	    mode != MTASTS_MODE_ENFORCE) ||
	    mtasts_policy_max_age(pol) > MTASTS_MAX_AGE_MAX ||
	    (mode != MTASTS_MODE_NONE && n == 0) ||
	    mtasts_policy_mx(pol, n) != NULL ||
	    mtasts_policy_warning(pol, mtasts_policy_warning_count(pol)) !=
	    NULL)
		abort();
	for (i = 0; i < mtasts_policy_warning_count(pol); i++)
		if ((w = mtasts_policy_warning(pol, i)) == NULL ||
		    w[0] == '\0')
			abort();
	for (i = 0; i < n; i++) {
		if ((p = mtasts_policy_mx(pol, i)) == NULL ||
		    mtasts_mx_pattern_check(p, strlen(p), NULL, 0) !=
		    MTASTS_OK)
			abort();
		for (j = 0; p[j] != '\0'; j++)
			if (p[j] >= 'A' && p[j] <= 'Z')
				abort();
		if (fuzz_mx(p, FUZZ_HOST) == MTASTS_OK)
			any = 1;
		fuzz_match_pattern(p);
		/* The policy matches what its patterns match (a few: the
		 * policy call is linear in the number of patterns). */
		if (i < FUZZ_POLICY_MATCH_MAX && p[0] != '*' &&
		    fuzz_match(pol, p) != MTASTS_OK)
			__builtin_trap();
	}
	if (fuzz_match(pol, FUZZ_HOST) != (any ? MTASTS_OK : MTASTS_ENOMATCH))
		__builtin_trap();
	/* An invalid host matches nothing. */
	if (fuzz_match(pol, "") != MTASTS_ENOMATCH ||
	    fuzz_match(pol, "bad..host") != MTASTS_ENOMATCH ||
	    mtasts_policy_match(pol, "a.b\0c", 5) != MTASTS_ENOMATCH)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy *pol = (struct mtasts_policy *)1;
	char err[MTASTS_ERRLEN];
	int r;

	err[0] = '\0';
	r = mtasts_policy_parse((const char *)data, size, &pol, err,
	    sizeof(err));
	if (r != MTASTS_OK) {
		if (pol != NULL || err[0] == '\0' ||
		    memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if (pol == NULL)
		abort();
	fuzz_check(pol);
	fuzz_round_trip(pol);
	mtasts_policy_free(pol);
	return 0;
}
