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

	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->key, o->len);
	memset(&data, 0, sizeof(data));
	data.data = b;
	data.ulen = sizeof(b);
	data.flags = DB_DBT_USERMEM;
	r = c->ce->res->get(c->ce->res, txn, &key, &data, DB_RMW);
	if (r == 0 && data.size == sizeof(b))
		for (i = 0; i < 8; i++)
			n |= (uint64_t)b[i] << (8 * i);
	else if (r != 0 && r != DB_NOTFOUND && r != DB_BUFFER_SMALL) {
		txn->abort(txn);
		return r;
	}
	n += o->add;
	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (8 * i));
	cache_dbt(&data, b, sizeof(b));
	if ((r = c->ce->res->put(c->ce->res, txn, &key, &data, 0)) != 0) {
		txn->abort(txn);
		return r;
	}
	return txn->commit(txn, 0);
}

int
cache_counter_add(struct cache *c, const void *key, size_t len, uint64_t n)
{
	struct cache_counter_op o = { key, len, n };

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	return cache_run(c, "count", "", cache_counter_once, &o);
}

struct cache_counter_walk {
	int		(*fn)(const char *key, size_t len, uint64_t n,
			    void *arg);
	void		*arg;
};

/* Small keys: read them all in one transaction, then call fn. */
static int
cache_counter_scan(struct cache *c, void *arg)
{
	struct cache_counter_walk *w = arg;
	struct strlist keys;
	uint64_t *counts = NULL, *nc, n;
	DB_TXN *txn;
	DBC *cur;
	DBT key, data;
	size_t i, k = 0;
	int r, stop = 0;

	memset(&keys, 0, sizeof(keys));
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	if ((r = c->ce->res->cursor(c->ce->res, txn, &cur, 0)) != 0) {
		txn->abort(txn);
		return r;
	}
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	while ((r = cur->get(cur, &key, &data, DB_NEXT)) == 0) {
		for (n = 0, i = 0; i < 8 && i < data.size; i++)
			n |= (uint64_t)((unsigned char *)data.data)[i] <<
			    (8 * i);
		if ((nc = util_reallocarray(counts, k + 1,
		    sizeof(*counts))) == NULL ||
		    strlist_add(&keys, key.data, key.size) != MTASTS_OK) {
			counts = nc != NULL ? nc : counts;
			r = ENOMEM;
			break;
		}
		counts = nc;
		counts[k++] = n;
	}
	cur->close(cur);
	txn->commit(txn, 0);
	if (r == DB_NOTFOUND)
		r = 0;
	for (i = 0; r == 0 && !stop && i < k; i++)
		stop = w->fn(keys.v[i], strlen(keys.v[i]), counts[i],
		    w->arg) != 0;
	strlist_clear(&keys);
	util_free(counts);
	return r;
}

int
cache_counter_foreach(struct cache *c,
    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
    void *arg)
{
	struct cache_counter_walk w = { fn, arg };

	return cache_run(c, "scan counters", "", cache_counter_scan, &w);
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
};

static int
cache_note_put_once(struct cache *c, void *arg)
{
	struct cache_note_op *o = arg;
	DB_TXN *txn;
	DBT key, data;
	int r;

	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->key, o->klen);
	cache_dbt(&data, o->val, o->vlen);
	r = c->ce->res->put(c->ce->res, txn, &key, &data, DB_NOOVERWRITE);
	if (r != 0 && r != DB_KEYEXIST) {
		txn->abort(txn);
		return r;
	}
	return txn->commit(txn, 0);
}

int
cache_note_put(struct cache *c, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct cache_note_op o = { key, klen, val, vlen, NULL, NULL };

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
		txn->abort(txn);
		return r;
	}
	txn->commit(txn, 0);
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
	struct cache_note_op o = { key, klen, NULL, 0, val, vlen };

	*val = NULL;
	*vlen = 0;
	return cache_run(c, "note", "", cache_note_get_once, &o);
}
