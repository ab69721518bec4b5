/*
 * cache_results.c - results.db, the second B-tree of the cache's
 * environment: TLS result counters (tlsresult.c, RFC 8460 §4.3) and
 * notes (the text of each policy results were counted under).
 */
#include <db.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cache_int.h"
#include "util.h"

/*
 * Counters in results.db: key -> 8-byte little-endian count.  Used for
 * TLS results (tlsresult.c); keys are opaque here.
 */
struct cache_counter_op {
	const void	*key;
	size_t		 len;
	uint64_t	 add;
	uint64_t	*total;		/* the new count, if not NULL */
};

static int
cache_counter_once(struct cache *c, void *arg)
{
	struct cache_counter_op *o = arg;
	unsigned char b[8];
	uint64_t n = 0;
	DB_TXN *txn;
	DBT key, data;
	int i, r;

	if (!cache_writable(c))
		return EACCES;
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->key, o->len);
	memset(&data, 0, sizeof(data));
	data.data = b;
	data.ulen = sizeof(b);
	data.flags = DB_DBT_USERMEM;
	r = c->ce->res->get(c->ce->res, txn, &key, &data, 0);
	if (r == 0 && data.size == sizeof(b))
		for (i = 0; i < 8; i++)
			n |= (uint64_t)b[i] << (8 * i);
	else if (r != 0 && r != DB_NOTFOUND && r != DB_BUFFER_SMALL) {
		cache_txn_abort(txn);
		return r;
	}
	n += o->add;
	if (o->total != NULL)
		*o->total = n;
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (8 * i));
	cache_dbt(&data, b, sizeof(b));
	if ((r = c->ce->res->put(c->ce->res, txn, &key, &data, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	return cache_txn_commit(txn);
}

int
cache_counter_add(struct cache *c, const void *key, size_t len, uint64_t n)
{
	return cache_counter_add_get(c, key, len, n, NULL);
}

int
cache_counter_add_get(struct cache *c, const void *key, size_t len,
    uint64_t n, uint64_t *total)
{
	struct cache_counter_op o = { key, len, n, total };

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	return cache_run(c, "count", "", cache_counter_once, &o);
}

/*
 * The scan reads the counters in batches, each in a transaction of its
 * own that ends before fn sees it: fn may read the cache (a report
 * quotes policy notes), a deadlock retry repeats only the batch and never
 * a call of fn, and memory stays bounded however many counters there are.
 * The next batch starts after the last key seen (B-tree order).
 */
#define CACHE_SCAN_BATCH	256

struct cache_counter_batch {
	char		*after;		/* resume after this key, or NULL */
	size_t		 afterlen;
	struct strlist	 keys;		/* this batch */
	size_t		 lens[CACHE_SCAN_BATCH];
	uint64_t	 counts[CACHE_SCAN_BATCH];
	int		 done;		/* no key after this batch */
};

/* The cursor on the first key after b->after (or the first key). */
static int
cache_counter_seek(struct cache_counter_batch *b, DBC *cur, DBT *key,
    DBT *data)
{
	int r;

	memset(key, 0, sizeof(*key));
	memset(data, 0, sizeof(*data));
	if (b->after == NULL)
		return cur->get(cur, key, data, DB_NEXT);
	key->data = b->after;
	key->size = (u_int32_t)b->afterlen;
	if ((r = cur->get(cur, key, data, DB_SET_RANGE)) == 0 &&
	    key->size == b->afterlen &&
	    memcmp(key->data, b->after, b->afterlen) == 0)
		r = cur->get(cur, key, data, DB_NEXT);
	return r;
}

static int
cache_counter_batch(struct cache *c, void *arg)
{
	struct cache_counter_batch *b = arg;
	DB_TXN *txn;
	DBC *cur;
	DBT key, data;
	uint64_t n;
	size_t i;
	int r;

	strlist_clear(&b->keys);
	b->done = 0;
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	if ((r = c->ce->res->cursor(c->ce->res, txn, &cur, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	for (r = cache_counter_seek(b, cur, &key, &data); r == 0 &&
	    b->keys.n < CACHE_SCAN_BATCH; r = cur->get(cur, &key, &data,
	    DB_NEXT)) {
		for (n = 0, i = 0; i < 8 && i < data.size; i++)
			n |= (uint64_t)((unsigned char *)data.data)[i] <<
			    (8 * i);
		b->lens[b->keys.n] = key.size;
		b->counts[b->keys.n] = n;
		if (strlist_add(&b->keys, key.data, key.size) != MTASTS_OK) {
			r = ENOMEM;
			break;
		}
	}
	cur->close(cur);
	if (r != 0 && r != DB_NOTFOUND) {
		cache_txn_abort(txn);
		return r;
	}
	b->done = r == DB_NOTFOUND;
	return cache_txn_commit(txn);
}

int
cache_counter_foreach(struct cache *c,
    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
    void *arg)
{
	return cache_counter_foreach_from(c, NULL, 0, fn, arg);
}

int
cache_counter_foreach_from(struct cache *c, const void *start, size_t len,
    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
    void *arg)
{
	struct cache_counter_batch *b;
	size_t i, last;
	int r, stop = 0;

	if ((b = util_calloc(1, sizeof(*b))) == NULL)
		return MTASTS_ENOMEM;
	/* The walk resumes after a key: after `start' itself, which is a
	 * prefix and no key of its own (metrics.c: "M\t"). */
	if (start != NULL && (b->after = util_strndup(start, len)) == NULL) {
		util_free(b);
		return MTASTS_ENOMEM;
	}
	b->afterlen = len;
	for (;;) {
		if ((r = cache_run(c, "scan counters", "",
		    cache_counter_batch, b)) != MTASTS_OK)
			break;
		for (i = 0; !stop && i < b->keys.n; i++)
			stop = fn(b->keys.v[i], strlen(b->keys.v[i]),
			    b->counts[i], arg) != 0;
		if (stop || b->done || b->keys.n == 0)
			break;
		last = b->keys.n - 1;
		util_free(b->after);
		b->afterlen = b->lens[last];
		/* All its bytes (strlist_add copies len bytes), even past
		 * a NUL that fn's strlen() would stop at. */
		if ((b->after = util_malloc(b->afterlen + 1)) == NULL) {
			r = MTASTS_ENOMEM;
			break;
		}
		memcpy(b->after, b->keys.v[last], b->afterlen);
	}
	strlist_clear(&b->keys);
	util_free(b->after);
	util_free(b);
	return r;
}

/*
 * Notes in results.db: a value stored once under a key (the text of a
 * policy that TLS results refer to, so a report can quote it after the
 * policy changed).  Keys start with "P\t"; counters start with a date.
 */
struct cache_note_op {
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
	char		**out;
	size_t		*outlen;
	u_int32_t	 put_flags;	/* DB_NOOVERWRITE: put once */
};

static int
cache_note_put_once(struct cache *c, void *arg)
{
	struct cache_note_op *o = arg;
	DB_TXN *txn;
	DBT key, data;
	int r;

	if (!cache_writable(c))
		return EACCES;
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->key, o->klen);
	cache_dbt(&data, o->val, o->vlen);
	r = c->ce->res->put(c->ce->res, txn, &key, &data, o->put_flags);
	if (r != 0 && r != DB_KEYEXIST) {
		cache_txn_abort(txn);
		return r;
	}
	return cache_txn_commit(txn);
}

int
cache_note_put(struct cache *c, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct cache_note_op o = { key, klen, val, vlen, NULL, NULL,
	    DB_NOOVERWRITE };

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	return cache_run(c, "note", "", cache_note_put_once, &o);
}

int
cache_note_set(struct cache *c, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct cache_note_op o = { key, klen, val, vlen, NULL, NULL, 0 };

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	return cache_run(c, "note", "", cache_note_put_once, &o);
}

static int
cache_note_get_once(struct cache *c, void *arg)
{
	struct cache_note_op *o = arg;
	DB_TXN *txn;
	DBT key, data;
	int r;

	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->key, o->klen);
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_MALLOC;
	if ((r = c->ce->res->get(c->ce->res, txn, &key, &data, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	cache_txn_commit(txn);
	if ((*o->out = util_strndup(data.data, data.size)) == NULL) {
		free(data.data);
		return ENOMEM;
	}
	*o->outlen = data.size;
	free(data.data);
	return 0;
}

int
cache_note_get(struct cache *c, const void *key, size_t klen, char **val,
    size_t *vlen)
{
	struct cache_note_op o = { key, klen, NULL, 0, val, vlen, 0 };

	*val = NULL;
	*vlen = 0;
	return cache_run(c, "note", "", cache_note_get_once, &o);
}
