/*
 * fuzz_mxlist.c - an MX RRset as text filtered through an enforce
 * policy (mtasts_result_mx_filter; RFC 8461 §4.1).  The input is the
 * list, copied to an exact-size buffer.  Properties:
 *  - every host in the output is allowed by the policy and appears once;
 *  - the number of hosts equals *nallowed, and *nallowed <= *ntotal;
 *  - a buffer of mtasts_mx_filter_size() bytes is never too small
 *    (MTASTS_EINVAL), U-labels grown into A-labels included;
 *  - a short output buffer gives MTASTS_EINVAL or a correct answer,
 *    never an overflow (ASan) or an unterminated string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cache.h"
#include "result.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mtasts_result *
fuzz_policy(void)
{
	static char *mx[] = { "mx1.example.com", "*.example.net" };
	static char text[] = "version: STSv1\nmode: enforce\n";
	struct mtasts_result *r;
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	memcpy(e.domain, "example.com", 12);
	memcpy(e.id, "fuzz1", 6);
	e.text = text;
	e.text_len = sizeof(text) - 1;
	e.mode = MTASTS_MODE_ENFORCE;
	e.max_age = 86400;
	e.mx = mx;
	e.nmx = 2;
	e.expires_at = INT64_MAX;
	if ((r = result_new("example.com")) == NULL)
		abort();
	if (result_set_policy(r, &e, MTASTS_SOURCE_CACHE) != MTASTS_OK)
		abort();
	return r;
}

static void
fuzz_check(const struct mtasts_result *r, char *out, size_t nallowed,
    size_t ntotal)
{
	char *p, *q, *seen = out;
	size_t n = 0;

	if (nallowed > ntotal)
		abort();
	if (*out == '\0') {
		if (nallowed != 0)
			abort();
		return;
	}
	for (p = out;; p = q + 1) {
		q = strchr(p, ':');
		if (q != NULL)
			*q = '\0';
		if (mtasts_result_mx_allowed(r, p, strlen(p)) != MTASTS_OK)
			abort();
		for (seen = out; seen < p; seen += strlen(seen) + 1)
			if (strcmp(seen, p) == 0)
				abort();	/* listed twice */
		n++;
		if (q == NULL)
			break;
	}
	if (n != nallowed)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mtasts_result *r;
	char err[MTASTS_ERRLEN], small[24], *list, *out;
	size_t na, nt, osize;
	int rc;

	if (r == NULL)
		r = fuzz_policy();
	if ((list = malloc(size + 1)) == NULL)
		abort();
	memcpy(list, data, size);
	osize = mtasts_mx_filter_size(list, size);
	if ((out = malloc(osize)) == NULL)
		abort();
	rc = mtasts_result_mx_filter(r, list, size, out, osize, &na, &nt, err,
	    sizeof(err));
	if (rc == MTASTS_OK)
		fuzz_check(r, out, na, nt);
	else if (rc == MTASTS_EINVAL)
		abort();		/* the size promise was false */
	if (mtasts_result_mx_filter(r, list, size, small, sizeof(small), &na,
	    &nt, err, sizeof(err)) == MTASTS_OK)
		fuzz_check(r, small, na, nt);
	else if (memchr(small, '\0', sizeof(small)) == NULL)
		abort();
	free(out);
	free(list);
	return 0;
}
