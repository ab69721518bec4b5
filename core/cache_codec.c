/*
 * cache_codec.c - a cache entry as bytes in the database and back.
 *
 * The database file is shared by every MTA process on the host and may
 * be damaged, truncated or written by an older version: cache_decode()
 * treats it as hostile input (checklist A7: a corrupt entry is never
 * trusted).  The format is little-endian and versioned, and ends with an
 * FNV-1a checksum of everything before it.
 *
 *	u8 version (1)
 *	u8 len, domain | u8 len, id | u8 len, failed_id
 *	u32 len, policy text (<= MTASTS_POLICY_MAX, 0 = no policy)
 *	u8 mode, u32 max_age
 *	u16 count, then per MX pattern: u8 len, pattern
 *	i64 fetched_at, expires_at, txt_checked_at, failed_at,
 *	    next_fetch_at, lease_until
 *	u8 fail_kind, u32 fail_count, u32 lease_pid
 *	u64 checksum
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "util.h"

#define CODEC_VERSION	1
#define CODEC_MX_MAX	4096	/* far above what 64 KiB of policy holds */

struct codec_out {
	unsigned char	*p;
	size_t		 len;
	size_t		 size;
};

struct codec_in {
	const unsigned char *p;
	size_t		 len;
	size_t		 off;
	int		 bad;
	int		 nomem;		/* bad because an allocation failed */
};

static uint64_t
codec_fnv(const unsigned char *p, size_t len)
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
codec_put(struct codec_out *o, const void *p, size_t len)
{
	if (len > 0)
		memcpy(o->p + o->len, p, len);
	o->len += len;
}

static void
codec_put_uint(struct codec_out *o, uint64_t v, size_t width)
{
	unsigned char b[8];
	size_t i;

	for (i = 0; i < width; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	codec_put(o, b, width);
}

static void
codec_put_str8(struct codec_out *o, const char *s)
{
	size_t len = strnlen(s, 255);

	codec_put_uint(o, len, 1);
	codec_put(o, s, len);
}

static size_t
codec_size(const struct cache_entry *e)
{
	size_t i, n = 1 + 3 * 256 + 4 + e->text_len + 1 + 4 + 2;

	for (i = 0; i < e->nmx; i++)
		n += 1 + strnlen(e->mx[i], 255);
	return n + 6 * 8 + 1 + 4 + 4 + 8;
}

int
cache_encode(const struct cache_entry *e, unsigned char **out, size_t *len)
{
	struct codec_out o;
	size_t i;

	*out = NULL;
	*len = 0;
	if (e->text_len > MTASTS_POLICY_MAX || e->nmx > CODEC_MX_MAX ||
	    (e->text == NULL && e->text_len != 0))
		return MTASTS_EINVAL;
	o.size = codec_size(e);
	o.len = 0;
	if ((o.p = util_malloc(o.size)) == NULL)
		return MTASTS_ENOMEM;
	codec_put_uint(&o, CODEC_VERSION, 1);
	codec_put_str8(&o, e->domain);
	codec_put_str8(&o, e->id);
	codec_put_str8(&o, e->failed_id);
	codec_put_uint(&o, e->text_len, 4);
	codec_put(&o, e->text, e->text_len);
	codec_put_uint(&o, (uint64_t)e->mode, 1);
	codec_put_uint(&o, e->max_age, 4);
	codec_put_uint(&o, e->nmx, 2);
	for (i = 0; i < e->nmx; i++)
		codec_put_str8(&o, e->mx[i]);
	codec_put_uint(&o, (uint64_t)e->fetched_at, 8);
	codec_put_uint(&o, (uint64_t)e->expires_at, 8);
	codec_put_uint(&o, (uint64_t)e->txt_checked_at, 8);
	codec_put_uint(&o, (uint64_t)e->failed_at, 8);
	codec_put_uint(&o, (uint64_t)e->next_fetch_at, 8);
	codec_put_uint(&o, (uint64_t)e->lease_until, 8);
	codec_put_uint(&o, (uint64_t)e->fail_kind, 1);
	codec_put_uint(&o, e->fail_count, 4);
	codec_put_uint(&o, e->lease_pid, 4);
	codec_put_uint(&o, codec_fnv(o.p, o.len), 8);
	*out = o.p;
	*len = o.len;
	return MTASTS_OK;
}

static uint64_t
codec_get_uint(struct codec_in *in, size_t width)
{
	uint64_t v = 0;
	size_t i;

	if (in->bad || in->len - in->off < width) {
		in->bad = 1;
		return 0;
	}
	for (i = 0; i < width; i++)
		v |= (uint64_t)in->p[in->off + i] << (8 * i);
	in->off += width;
	return v;
}

/* A length-prefixed string into a fixed buffer: printable ASCII only
 * (domains, ids and patterns are LDH, dots and '*'). */
static void
codec_get_str8(struct codec_in *in, char *dst, size_t size)
{
	size_t i, len = (size_t)codec_get_uint(in, 1);

	if (in->bad || len >= size || in->len - in->off < len) {
		in->bad = 1;
		return;
	}
	for (i = 0; i < len; i++)
		if (in->p[in->off + i] <= 0x20 || in->p[in->off + i] >= 0x7f)
			in->bad = 1;
	memcpy(dst, in->p + in->off, len);
	dst[len] = '\0';
	in->off += len;
}

static void
codec_get_text(struct codec_in *in, struct cache_entry *e)
{
	size_t len = (size_t)codec_get_uint(in, 4);

	if (in->bad || len > MTASTS_POLICY_MAX || in->len - in->off < len) {
		in->bad = 1;
		return;
	}
	if (len == 0)
		return;
	if ((e->text = util_strndup((const char *)in->p + in->off, len)) ==
	    NULL) {
		in->bad = in->nomem = 1;
		return;
	}
	e->text_len = len;
	in->off += len;
}

static int
codec_get_mx(struct codec_in *in, struct cache_entry *e)
{
	char buf[256];
	size_t i, n = (size_t)codec_get_uint(in, 2);

	if (in->bad || n > CODEC_MX_MAX)
		return MTASTS_EPARSE;
	if (n == 0)
		return MTASTS_OK;
	if ((e->mx = util_calloc(n, sizeof(char *))) == NULL)
		return MTASTS_ENOMEM;
	for (i = 0; i < n; i++) {
		codec_get_str8(in, buf, sizeof(buf));
		if (in->bad)
			return MTASTS_EPARSE;
		/* Only patterns our own parser would accept (§4.1). */
		if (mtasts_mx_pattern_check(buf, strlen(buf), NULL, 0) !=
		    MTASTS_OK)
			return MTASTS_EPARSE;
		if ((e->mx[i] = util_strndup(buf, strlen(buf))) == NULL)
			return MTASTS_ENOMEM;
		e->nmx++;
	}
	return MTASTS_OK;
}

static void
codec_get_times(struct codec_in *in, struct cache_entry *e)
{
	e->fetched_at = (int64_t)codec_get_uint(in, 8);
	e->expires_at = (int64_t)codec_get_uint(in, 8);
	e->txt_checked_at = (int64_t)codec_get_uint(in, 8);
	e->failed_at = (int64_t)codec_get_uint(in, 8);
	e->next_fetch_at = (int64_t)codec_get_uint(in, 8);
	e->lease_until = (int64_t)codec_get_uint(in, 8);
	e->fail_kind = (int)codec_get_uint(in, 1);
	e->fail_count = (uint32_t)codec_get_uint(in, 4);
	e->lease_pid = (uint32_t)codec_get_uint(in, 4);
}

/* What a decoded entry must satisfy besides its syntax. */
static int
codec_check(const struct cache_entry *e)
{
	if (e->domain[0] == '\0' || e->fail_kind < CACHE_FAIL_NONE ||
	    e->fail_kind > CACHE_FAIL_DNS || e->mode < MTASTS_MODE_NONE ||
	    e->mode > MTASTS_MODE_ENFORCE || e->max_age > MTASTS_MAX_AGE_MAX)
		return MTASTS_EPARSE;
	/* A policy has an id and, unless mode is none, MX patterns. */
	if (e->text != NULL && (e->id[0] == '\0' ||
	    (e->mode != MTASTS_MODE_NONE && e->nmx == 0)))
		return MTASTS_EPARSE;
	if (e->text == NULL && e->nmx != 0)
		return MTASTS_EPARSE;
	return MTASTS_OK;
}

int
cache_decode(const unsigned char *p, size_t len, struct cache_entry *e)
{
	struct codec_in in = { p, len, 0, 0, 0 };
	int r;

	memset(e, 0, sizeof(*e));
	if (len < 1 + 8)
		return MTASTS_EPARSE;
	in.off = len - 8;
	if (codec_get_uint(&in, 8) != codec_fnv(p, len - 8))
		return MTASTS_EPARSE;	/* torn or damaged */
	in.off = 0;
	in.len = len - 8;
	if (codec_get_uint(&in, 1) != CODEC_VERSION)
		return MTASTS_EPARSE;
	codec_get_str8(&in, e->domain, sizeof(e->domain));
	codec_get_str8(&in, e->id, sizeof(e->id));
	codec_get_str8(&in, e->failed_id, sizeof(e->failed_id));
	codec_get_text(&in, e);
	e->mode = (int)codec_get_uint(&in, 1);
	e->max_age = (uint32_t)codec_get_uint(&in, 4);
	if ((r = codec_get_mx(&in, e)) == MTASTS_OK) {
		codec_get_times(&in, e);
		r = in.bad || in.off != in.len ? MTASTS_EPARSE : codec_check(e);
	}
	/* Out of memory is ours, not the entry's: never "damaged". */
	if (in.nomem)
		r = MTASTS_ENOMEM;
	if (r != MTASTS_OK)
		cache_entry_clear(e);
	return r;
}

void
cache_entry_clear(struct cache_entry *e)
{
	size_t i;

	for (i = 0; i < e->nmx; i++)
		util_free(e->mx[i]);
	util_free(e->mx);
	util_free(e->text);
	memset(e, 0, sizeof(*e));
}

int
cache_entry_copy(struct cache_entry *dst, const struct cache_entry *src)
{
	size_t i;

	*dst = *src;
	dst->text = NULL;
	dst->mx = NULL;
	dst->nmx = 0;
	if (src->text != NULL && (dst->text = util_strndup(src->text,
	    src->text_len)) == NULL)
		goto nomem;
	if (src->nmx > 0 && (dst->mx = util_calloc(src->nmx,
	    sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < src->nmx; i++, dst->nmx++)
		if ((dst->mx[i] = util_strndup(src->mx[i],
		    strlen(src->mx[i]))) == NULL)
			goto nomem;
	return MTASTS_OK;
nomem:
	cache_entry_clear(dst);
	return MTASTS_ENOMEM;
}
