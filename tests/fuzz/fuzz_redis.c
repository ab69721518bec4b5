/*
 * fuzz_redis.c - what fleet mode reads from its shared store (issue 16):
 * Redis replies, through hiredis' reader with our object functions and
 * limits (redis.c), and stored policies (shared_policy_decode).  The
 * store is reachable by others and may answer anything.  Properties:
 *  - a parsed reply is a well-formed tree: strings NUL-terminated at
 *    their length, arrays within REDIS_ELEMENTS_MAX, every element set;
 *  - a decoded policy satisfies the rules (id, mode, MX patterns, an
 *    expiry after "now") and encodes again to exactly the input bytes.
 * The input is tried as a reply, and as a stored value both as it is
 * and behind the right header, so that mutations reach the policy.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cache.h"
#include "redis.h"
#include "shared.h"

#define FUZZ_NOW	1800000000

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_tree(const redisReply *rp, int depth)
{
	size_t i;

	if (rp == NULL || depth > 9)
		abort();
	switch (rp->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		if (rp->str == NULL || rp->str[rp->len] != '\0')
			abort();
		break;
	case REDIS_REPLY_ARRAY:
		if (rp->elements > REDIS_ELEMENTS_MAX)
			abort();
		for (i = 0; i < rp->elements; i++)
			fuzz_tree(rp->element[i], depth + 1);
		break;
	case REDIS_REPLY_INTEGER:
	case REDIS_REPLY_NIL:
		break;
	default:
		abort();
	}
}

static void
fuzz_value(const char *p, size_t len)
{
	struct cache_entry e;
	char err[MTASTS_ERRLEN], *enc;
	size_t i, elen;

	if (shared_policy_decode(p, len, "example.net", FUZZ_NOW, &e, err,
	    sizeof(err)) != MTASTS_OK)
		return;
	if (e.id[0] == '\0' || e.text == NULL ||
	    e.mode < MTASTS_MODE_NONE || e.mode > MTASTS_MODE_ENFORCE ||
	    e.expires_at <= FUZZ_NOW || e.fetched_at > FUZZ_NOW + 60)
		abort();
	for (i = 0; i < e.nmx; i++)
		if (mtasts_mx_pattern_check(e.mx[i], strlen(e.mx[i]), NULL,
		    0) != MTASTS_OK)
			abort();
	if (shared_policy_encode(&e, &enc, &elen) != MTASTS_OK ||
	    elen != len || memcmp(enc, p, len) != 0)
		abort();
	free(enc);
	cache_entry_clear(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "mtasts-policy 1\nfuzz1\n1799999000\n";
	redisReply *rp;
	char *q;

	if (redis_reply_parse((const char *)data, size, &rp) == 1)
		fuzz_tree(rp, 0);
	redis_reply_free(rp);
	fuzz_value((const char *)data, size);
	if ((q = malloc(sizeof(head) + size)) == NULL)
		abort();
	memcpy(q, head, sizeof(head) - 1);
	memcpy(q + sizeof(head) - 1, data, size);
	fuzz_value(q, sizeof(head) - 1 + size);
	free(q);
	return 0;
}
