/*
 * cache_int.h - what cache.c shares with cache_results.c: the handles
 * and the retry runner.  Private to the cache.
 */
#ifndef MTASTS_CACHE_INT_H
#define MTASTS_CACHE_INT_H

#include <limits.h>
#include <sys/types.h>

#include <db.h>

#include "cache.h"

/* One per directory and process. */
struct cache_env {
	DB_ENV		*env;
	DB		*db;
	DB		*res;		/* results.db */
	char		 dir[PATH_MAX];
	pid_t		 pid;		/* the process the handles belong to */
	int		 refs;		/* struct cache handles using it */
	char		 dberr[MTASTS_ERRLEN];	/* last message from BDB */
	struct cache_env *next;
};

struct cache {
	struct cache_env *ce;
	int		 flags;
	unsigned char	*buf;		/* get() buffer, grows */
	size_t		 bufsize;
};

/* One whole transaction op(c, arg), retried while it conflicts (see
 * cache.c); a BDB result becomes an MTASTS_* status. */
int	cache_run(struct cache *c, const char *what, const char *domain,
	    int (*op)(struct cache *, void *), void *arg);
int	cache_txn_begin(struct cache *c, DB_TXN **txn);
void	cache_dbt(DBT *d, const void *p, size_t len);

#endif /* MTASTS_CACHE_INT_H */
