/*
 * cache_purge.c - results.db kept bounded: TLS result counters of days
 * before a cutoff are deleted (RFC 8460 reports cover one UTC day and
 * are sent within a day or so; the counters need not outlive the
 * retention the administrator chose).  Counter keys start with the day
 * ("2026-11-26\t..."), so in B-tree order the oldest come first and the
 * notes ("A\t", "P\t") after every counter: the walk stops at the first
 * key that is not an old counter.
 */
#include <db.h>
#include <errno.h>
#include <ctype.h>
#include <string.h>

#include "cache.h"
#include "cache_int.h"

#define CACHE_PURGE_BATCH	256	/* deletions per transaction */

struct cache_purge {
	const char	*before;	/* "YYYY-MM-DD" */
	uint64_t	 removed;
	int		 done;
};

static int
cache_purge_old(const DBT *key, const char *before)
{
	const unsigned char *k = key->data;

	return key->size > 10 && isdigit(k[0]) && k[10] == '\t' &&
	    memcmp(k, before, 10) < 0;
}

static int
cache_purge_batch(struct cache *c, void *arg)
{
	struct cache_purge *p = arg;
	DB_TXN *txn;
	DBC *cur;
	DBT key, data;
	uint64_t n = 0;
	int r;

	if (!cache_writable(c))
		return EACCES;
	p->done = 0;
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	if ((r = c->ce->res->cursor(c->ce->res, txn, &cur, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	while (n < CACHE_PURGE_BATCH &&
	    (r = cur->get(cur, &key, &data, DB_NEXT)) == 0 &&
	    cache_purge_old(&key, p->before)) {
		if ((r = cur->del(cur, 0)) != 0)
			break;
		n++;
	}
	cur->close(cur);
	if (r != 0 && r != DB_NOTFOUND) {
		cache_txn_abort(txn);
		return r;
	}
	if ((r = cache_txn_commit(txn)) != 0)
		return r;
	p->removed += n;
	p->done = n < CACHE_PURGE_BATCH;
	return 0;
}

int
cache_counter_purge(struct cache *c, const char *before, uint64_t *removed)
{
	struct cache_purge p = { before, 0, 0 };
	int r = MTASTS_OK;

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	while (!p.done && (r = cache_run(c, "purge counters", "",
	    cache_purge_batch, &p)) == MTASTS_OK)
		;
	if (removed != NULL)
		*removed = p.removed;
	return r;
}
