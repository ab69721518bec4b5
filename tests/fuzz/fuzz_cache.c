/*
 * fuzz_cache.c - a cache entry as stored in the shared database
 * (cache_decode): the file is shared by every MTA process and may be
 * damaged, so its bytes are hostile.  Properties:
 *  - a decoded entry satisfies the rules (valid MX patterns, a policy
 *    has an id, mode and failure kind in range, text within 64 KiB);
 *  - it encodes again to exactly the input bytes (one encoding only).
 * The input is tried as it is, and again with a valid checksum appended
 * (FNV-1a 64, as cache_codec.c): otherwise almost every mutation stops
 * at the checksum and the structure parser is never reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cache.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rules(const struct cache_entry *e)
{
	size_t i;

	if (e->mode < MTASTS_MODE_NONE || e->mode > MTASTS_MODE_ENFORCE ||
	    e->fail_kind < CACHE_FAIL_NONE || e->fail_kind > CACHE_FAIL_DNS ||
	    e->text_len > MTASTS_POLICY_MAX || e->domain[0] == '\0')
		abort();
	if (e->text != NULL && e->id[0] == '\0')
		abort();
	for (i = 0; i < e->nmx; i++)
		if (mtasts_mx_pattern_check(e->mx[i], strlen(e->mx[i]), NULL,
		    0) != MTASTS_OK)
			abort();
}

static uint64_t
fuzz_fnv(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
fuzz_one(const unsigned char *data, size_t size)
{
	struct cache_entry e;
	unsigned char *p, *enc;
	size_t len;

	if ((p = malloc(size + 1)) == NULL)
		abort();
	memcpy(p, data, size);
	if (cache_decode(p, size, &e) == MTASTS_OK) {
		fuzz_rules(&e);
		if (cache_encode(&e, &enc, &len) != MTASTS_OK)
			abort();
		if (len != size || memcmp(enc, p, size) != 0)
			abort();
		free(enc);
		cache_entry_clear(&e);
	}
	free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *q;
	uint64_t h;
	int i;

	fuzz_one(data, size);
	if ((q = malloc(size + 8)) == NULL)
		abort();
	memcpy(q, data, size);
	h = fuzz_fnv(q, size);
	for (i = 0; i < 8; i++)
		q[size + (size_t)i] = (unsigned char)(h >> (8 * i));
	fuzz_one(q, size + 8);
	free(q);
	return 0;
}
