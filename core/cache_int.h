/*
 * cache_int.h - what the cache's files share: the per-process handles,
 * the lock-file protocol (cache_env.c) and the operation runner.
 * Private to the cache.
 */
#ifndef MTASTS_CACHE_INT_H
#define MTASTS_CACHE_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include <db.h>

#include "cache.h"

#define CACHE_DB_FILE	"policies.db"
#define CACHE_RES_FILE	"results.db"	/* TLS result counters (RFC 8460) */
#define CACHE_LOCK_FILE	"cache.lock"	/* see cache.c's header comment */
#define CACHE_MODE	0660
#define CACHE_PAGESIZE	4096	/* fixed: the salvager may need to know */

enum cache_mode {
	CACHE_DETACHED = 0,	/* nothing open */
	CACHE_SHARED,		/* joined the shared environment */
	CACHE_DIRECT,		/* files read without an environment */
};

/* One per directory and process. */
struct cache_env {
	DB_ENV		*env;		/* CACHE_SHARED only */
	DB		*db;		/* policies.db */
	DB		*res;		/* results.db */
	char		 dir[PATH_MAX];
	char		 real[PATH_MAX]; /* dir with symlinks resolved */
	pid_t		 pid;		/* the process the handles belong to */
	int		 refs;		/* struct cache handles using it */
	int		 mode;		/* enum cache_mode */
	int		 lockfd;	/* cache.lock, -1 if none */
	int		 writable;	/* lock file opened read-write */
	int		 locked;	/* this operation holds the lock */
	uint32_t	 gen;		/* environment generation joined */
	int64_t		 retry_at;	/* ms: no attach before, after a
					 * local failure (EMFILE) */
	int		 said;		/* degraded state already logged */
	int64_t		 ckp_ms;	/* last checkpoint asked (cache.c) */
	unsigned int	 ckp_writes;	/* writes since */
	char		 dberr[MTASTS_ERRLEN];	/* last message from BDB */
	struct cache_env *next;
};

struct cache {
	struct cache_env *ce;
	int		 flags;
	unsigned char	*buf;		/* get() buffer, grows */
	size_t		 bufsize;
};

/* One whole transaction op(c, arg) run under the cache lock (see
 * cache.c); a BDB result becomes an MTASTS_* status. */
int	cache_run(struct cache *c, const char *what, const char *domain,
	    int (*op)(struct cache *, void *), void *arg);
/* Inside op: may it write?  EACCES is its answer if not. */
int	cache_writable(const struct cache *c);
/* In direct mode there is no environment: *txn is NULL, and commit and
 * abort accept that. */
int	cache_txn_begin(struct cache *c, DB_TXN **txn);
int	cache_txn_commit(DB_TXN *txn);
void	cache_txn_abort(DB_TXN *txn);
void	cache_dbt(DBT *d, const void *p, size_t len);

/* cache_env.c: this process's handles for dir (reference counted),
 * and their release. */
int	cache_env_get(const char *dir, struct cache_env **out, char *err,
	    size_t errlen);
void	cache_env_unref(struct cache_env *ce);
int64_t	cache_now_ms(void);

/* cache_salvage.c: copy the entries still readable in the damaged file
 * `from' into db (in the environment, no transaction needed: the caller
 * holds the cache lock).  Counts the records seen and kept. */
int	cache_salvage(struct cache_env *ce, const char *from, DB *db,
	    size_t *seen, size_t *kept);

#endif /* MTASTS_CACHE_INT_H */
