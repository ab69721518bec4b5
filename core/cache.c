/*
 * cache.c - the policy cache every MTA process on the host shares: a
 * Berkeley DB 5.3 transactional environment holding one B-tree,
 * "policies.db", keyed by policy domain (checklist A7), and
 * "results.db" (cache_results.c).
 *
 * Why a transactional environment: Exim forks a process per delivery,
 * smtpd runs each filter as its own process, the socketmap and
 * "mtasts refresh" run beside them, and any of them may be killed half
 * way through a write.  The logs let recovery undo or finish that write.
 *
 * Why not Berkeley DB's own locking (issue 20): a process killed while
 * it held a mutex in the shared regions wedged every later opener for
 * good (DB_REGISTER's check runs after attaching the regions, where the
 * dead process's mutex waits).  Nothing inside BDB can bound that wait.
 * So the environment has no lock subsystem, and the processes take
 * turns through cache.lock in the cache directory (cache_env.c):
 *
 *   - Every operation (one transaction) holds an fcntl(2) write lock on
 *     byte 0 of cache.lock.  The kernel drops it when the holder dies,
 *     SIGKILL included; waiting for it is polled and bounded (3 s,
 *     then the files are read without it: a holder that is stopped).
 *   - The holder writes its pid into cache.lock before it touches the
 *     environment and clears it after.  A pid found there by the next
 *     holder means the last one died inside BDB: its mutexes may be
 *     held for ever, so the environment is rebuilt ("reset") before
 *     anyone uses it again.
 *   - A reset removes the region files without attaching to them and
 *     reopens with DB_RECOVER: the logs are replayed into the database
 *     files (the policies live there, not in the regions) and fresh
 *     regions are made.  It bumps a generation number in cache.lock;
 *     a process holding handles of an older generation gives them up
 *     unused and unclosed (closing could flush stale pages or wait on a
 *     dead mutex) and joins the new regions.
 *   - Every joined process holds a shared lock on byte 1.  The first
 *     process to join when nobody holds it resets: the regions are then
 *     never trusted across a time when no live process vouched for
 *     them (damaged region files, a crash, a reboot).
 *   - A process that ends between operations, even by _exit() as
 *     Exim's delivery processes do, holds nothing: no lock, no
 *     transaction, no mutex.  It leaves a few bytes of bookkeeping in
 *     the regions, so a reset also follows every 1000 joins.
 *
 * fcntl(2) locks belong to a process, not a thread: a process uses its
 * cache from one thread at a time (BDB handles opened without DB_THREAD
 * always asked as much).
 *
 * Every step is bounded: the lock wait by time, a reset by the size of
 * the logs since the last checkpoint.  When the environment cannot be
 * had (a full disk: regions are written whole with DB_REGION_INIT, so
 * ENOSPC comes back at once instead of SIGBUS later; a read-only
 * directory; a failed reset) the database files are read directly,
 * read-only, for that one operation, so cached policies still decide;
 * writes are skipped and the reason logged once.  Descriptor or memory
 * exhaustion is this process's problem: it skips the cache for a second
 * and never resets what others use.  A policies.db that does not open
 * (or does not verify after an operation met a damaged page) is set
 * aside as policies.db.corrupt and every entry that still decodes is
 * salvaged into a new one (cache_salvage.c).
 *
 * Sharing: the directory and its files are created mode 0770/0660 and
 * take the group of the directory, so every MTA user in that group
 * (mtasts.conf(5) suggests "_mtasts", set-group-ID directory) can read
 * and write.  Logs are removed automatically once checkpointed; in a
 * burst of writes a process asks for a checkpoint every 64 writes or
 * every second (cache_checkpoint), so a reset replays at most that much
 * of its writes more than the checkpoint policy (64 KB of log or a
 * minute) alone would have it replay.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <db.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "log.h"
#include "util.h"

#define CACHE_BATCH	256	/* entries per cursor pass in foreach */
#define CACHE_CKP_WRITES 64	/* a checkpoint asked at least every ... */
#define CACHE_CKP_MS	1000	/* ... so many writes or ms (cache_checkpoint) */

/* Attach now, so that a broken cache is reported (and repaired) when
 * the program starts; a cache that cannot be attached is still opened:
 * each operation tries again, and reads fall back to the files. */
static int
cache_on_open(struct cache *c, void *arg)
{
	(void)c;
	(void)arg;
	return 0;
}

int
cache_open(const char *dir, int flags, struct cache **out, char *err,
    size_t errlen)
{
	struct cache *c;
	struct stat st;
	int r;

	*out = NULL;
	if (strlen(dir) >= PATH_MAX) {
		util_err(err, errlen, "cache_dir %s: path too long", dir);
		return MTASTS_EINVAL;
	}
	if (mkdir(dir, 0770) == 0)
		chmod(dir, 0770);	/* the umask would drop group write */
	else if (errno != EEXIST || stat(dir, &st) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		util_err(err, errlen, "cache_dir %s: %s", dir,
		    strerror(errno == EEXIST ? ENOTDIR : errno));
		return MTASTS_EIO;
	}
	if ((c = util_calloc(1, sizeof(*c))) == NULL)
		return MTASTS_ENOMEM;
	c->flags = flags;
	if ((r = cache_env_get(dir, &c->ce, err, errlen)) != MTASTS_OK) {
		util_free(c);
		return r;
	}
	cache_run(c, "open", "", cache_on_open, NULL);
	*out = c;
	return MTASTS_OK;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	cache_env_unref(c->ce);
	util_free(c->buf);
	util_free(c);
}

void
cache_dbt(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)(uintptr_t)p;
	d->size = (u_int32_t)len;
}

/* One read into c->buf (grown as needed); data points into it. */
static int
cache_read(struct cache *c, DB_TXN *txn, DBT *key, DBT *data, uint32_t fl)
{
	unsigned char *nb;
	int r;

	for (;;) {
		memset(data, 0, sizeof(*data));
		data->data = c->buf;
		data->ulen = (u_int32_t)c->bufsize;
		data->flags = DB_DBT_USERMEM;
		if ((r = c->ce->db->get(c->ce->db, txn, key, data, fl)) !=
		    DB_BUFFER_SMALL)
			return r;
		if ((nb = util_reallocarray(c->buf, data->size, 1)) == NULL)
			return ENOMEM;
		c->buf = nb;
		c->bufsize = data->size;
	}
}

struct cache_op {
	const char		*domain;
	struct cache_entry	*e;		/* get: out; put: in */
	cache_update_fn		 fn;		/* update */
	void			*arg;
	int			 rv;		/* update: fn's verdict */
};

static int
cache_get_once(struct cache *c, void *arg)
{
	struct cache_op *o = arg;
	DB_TXN *txn;
	DBT key, data;
	int r;

	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->domain, strlen(o->domain));
	if ((r = cache_read(c, txn, &key, &data, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	cache_txn_commit(txn);
	if ((r = cache_decode(data.data, data.size, o->e)) == MTASTS_ENOMEM)
		return ENOMEM;	/* not damage: the entry stays as it is */
	if (r != MTASTS_OK || strcmp(o->e->domain, o->domain) != 0) {
		cache_entry_clear(o->e);
		log_msg(LOG_ERR, "cache %s: %s: damaged entry ignored",
		    c->ce->dir, o->domain);
		return DB_NOTFOUND;
	}
	return 0;
}

int
cache_get(struct cache *c, const char *domain, struct cache_entry *e)
{
	struct cache_op o = { domain, e, NULL, NULL, 0 };

	memset(e, 0, sizeof(*e));
	return cache_run(c, "read", domain, cache_get_once, &o);
}

/* The entry an update starts from: the stored one, or a fresh one. */
static int
cache_update_load(struct cache *c, DB_TXN *txn, DBT *key,
    struct cache_op *o, struct cache_entry *e, int *exists)
{
	DBT data;
	int r, dr = MTASTS_EPARSE;

	*exists = 0;
	r = cache_read(c, txn, key, &data, 0);
	if (r == 0 && (dr = cache_decode(data.data, data.size, e)) ==
	    MTASTS_ENOMEM)
		return ENOMEM;	/* a fresh entry would overwrite the policy */
	if (r == 0 && dr == MTASTS_OK && strcmp(e->domain, o->domain) == 0)
		*exists = 1;
	else if (r != 0 && r != DB_NOTFOUND)
		return r;
	if (!*exists) {
		cache_entry_clear(e);
		snprintf(e->domain, sizeof(e->domain), "%s", o->domain);
	}
	return 0;
}

/*
 * Checkpoints let DB_LOG_AUTO_REMOVE prune old logs, bound the work of a
 * reset, and bring the files (what direct reads see) up to date: after
 * 64 KB of log or a minute.  Even when there is nothing to do, asking
 * reads the log and lists the log files (issue 16: 4 % of a refresh), so
 * in a burst of writes a process asks at every CACHE_CKP_WRITES-th write
 * or after CACHE_CKP_MS, whichever comes first; a write after a pause
 * asks at once, as every write did.  That adds at most so many of one
 * process's writes to what a reset replays and a direct reader misses.
 */
static void
cache_checkpoint(struct cache *c)
{
	struct cache_env *ce = c->ce;
	int64_t now = cache_now_ms();

	if (ce->ckp_writes++ % CACHE_CKP_WRITES != 0 &&
	    now - ce->ckp_ms < CACHE_CKP_MS)
		return;
	ce->ckp_ms = now;
	ce->ckp_writes = 1;
	ce->env->txn_checkpoint(ce->env, 64, 1, 0);
}

/* o->fn == NULL: store o->e as it is. */
static int
cache_write_once(struct cache *c, void *arg)
{
	struct cache_op *o = arg;
	struct cache_entry e;
	unsigned char *enc = NULL;
	size_t enclen;
	DB_TXN *txn;
	DBT key, data;
	int r, exists;

	if (!cache_writable(c))
		return EACCES;
	o->rv = 1;
	memset(&e, 0, sizeof(e));
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->domain, strlen(o->domain));
	if (o->fn != NULL) {
		if ((r = cache_update_load(c, txn, &key, o, &e,
		    &exists)) != 0 || (o->rv = o->fn(&e, exists, o->arg)) != 1)
			goto abort;
	}
	if ((r = cache_encode(o->fn != NULL ? &e : o->e, &enc, &enclen)) !=
	    MTASTS_OK) {
		o->rv = -r;
		r = 0;
		goto abort;
	}
	cache_dbt(&data, enc, enclen);
	if ((r = c->ce->db->put(c->ce->db, txn, &key, &data, 0)) != 0)
		goto abort;
	cache_entry_clear(&e);
	util_free(enc);
	r = cache_txn_commit(txn);
	cache_checkpoint(c);
	return r;
abort:
	cache_entry_clear(&e);
	util_free(enc);
	cache_txn_abort(txn);
	return r;
}

static int
cache_write(struct cache *c, struct cache_op *o)
{
	int r;

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	r = cache_run(c, "write", o->domain, cache_write_once, o);
	if (r == MTASTS_OK && o->rv < 0)
		return -o->rv;
	return r;
}

int
cache_put(struct cache *c, const struct cache_entry *e)
{
	struct cache_op o = { e->domain, (struct cache_entry *)(uintptr_t)e,
	    NULL, NULL, 0 };

	return cache_write(c, &o);
}

int
cache_update(struct cache *c, const char *domain, cache_update_fn fn,
    void *arg)
{
	struct cache_op o = { domain, NULL, fn, arg, 0 };

	return cache_write(c, &o);
}

static int
cache_del_once(struct cache *c, void *arg)
{
	struct cache_op *o = arg;
	DB_TXN *txn;
	DBT key;
	int r;

	if (!cache_writable(c))
		return EACCES;
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->domain, strlen(o->domain));
	if ((r = c->ce->db->del(c->ce->db, txn, &key, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	return cache_txn_commit(txn);
}

int
cache_del(struct cache *c, const char *domain)
{
	struct cache_op o = { domain, NULL, NULL, NULL, 0 };

	if (c->flags & CACHE_RDONLY)
		return MTASTS_EINVAL;
	return cache_run(c, "delete", domain, cache_del_once, &o);
}
/* Entries are copied out a batch at a time and fn runs with no cursor
 * open: fn may take long or write to the cache itself.  Keys are kept
 * as bytes: a key that is not a domain name must not stop the walk. */
struct cache_batch {
	struct cache_entry	 e[CACHE_BATCH];
	size_t			 n;
	void			*from;	/* resume after this key; NULL: first */
	size_t			 fromlen;
	void			*last;	/* the last key seen (malloc, by BDB) */
	size_t			 lastlen;
	int			 end;
};

static void
cache_batch_clear(struct cache_batch *b)
{
	while (b->n > 0)
		cache_entry_clear(&b->e[--b->n]);
}

/* One key/value at the cursor into the batch; damaged ones skipped, and
 * a key no domain can have (issue 20: one overlong key made every scan
 * fail) removed when we may write. */
static void
cache_batch_add(struct cache *c, DBC *cur, struct cache_batch *b,
    const DBT *key, const DBT *data)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	struct cache_entry *e = &b->e[b->n];

	if (key->size == 0 || key->size > MTASTS_DOMAIN_MAX ||
	    memchr(key->data, '\0', key->size) != NULL) {
		log_msg(LOG_ERR, "cache %s: a key of %u bytes is not a domain "
		    "name: %s", c->ce->dir, (unsigned int)key->size,
		    cache_writable(c) && cur->del(cur, 0) == 0 ? "removed" :
		    "skipped");
		return;
	}
	memcpy(name, key->data, key->size);
	name[key->size] = '\0';
	if (cache_decode(data->data, data->size, e) == MTASTS_OK &&
	    strcmp(e->domain, name) == 0)
		b->n++;
	else {
		cache_entry_clear(e);
		log_msg(LOG_ERR, "cache %s: %s: damaged entry skipped",
		    c->ce->dir, name);
	}
}

static int
cache_scan_cursor(struct cache *c, DBC *cur, struct cache_batch *b)
{
	uint32_t op = b->from != NULL ? DB_SET_RANGE : DB_FIRST;
	DBT key, data;
	int r;

	for (; b->n < CACHE_BATCH; op = DB_NEXT) {
		memset(&key, 0, sizeof(key));
		if (op == DB_SET_RANGE) {
			key.data = b->from;
			key.size = (u_int32_t)b->fromlen;
		}
		key.flags = DB_DBT_MALLOC;
		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_MALLOC;
		if ((r = cur->get(cur, &key, &data, op)) != 0)
			return r;
		/* SET_RANGE lands on the last key of the previous batch. */
		if (op != DB_SET_RANGE || key.size != b->fromlen ||
		    memcmp(key.data, b->from, key.size) != 0)
			cache_batch_add(c, cur, b, &key, &data);
		free(data.data);
		free(b->last);
		b->last = key.data;
		b->lastlen = key.size;
	}
	return 0;
}

static int
cache_scan_once(struct cache *c, void *arg)
{
	struct cache_batch *b = arg;
	DB_TXN *txn;
	DBC *cur;
	int r;

	cache_batch_clear(b);
	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	if ((r = c->ce->db->cursor(c->ce->db, txn, &cur, 0)) != 0) {
		cache_txn_abort(txn);
		return r;
	}
	r = cache_scan_cursor(c, cur, b);
	cur->close(cur);
	b->end = r == DB_NOTFOUND;
	if (r != 0 && r != DB_NOTFOUND) {
		cache_txn_abort(txn);
		cache_batch_clear(b);
		return r;
	}
	return cache_txn_commit(txn);
}

int
cache_foreach(struct cache *c,
    int (*fn)(const struct cache_entry *e, void *arg), void *arg)
{
	struct cache_batch *b;
	int r = MTASTS_OK, stop = 0;
	size_t k;

	if ((b = util_calloc(1, sizeof(*b))) == NULL)
		return MTASTS_ENOMEM;
	while (!stop) {
		if ((r = cache_run(c, "scan", "", cache_scan_once, b)) !=
		    MTASTS_OK)
			break;
		for (k = 0; !stop && k < b->n; k++)
			stop = fn(&b->e[k], arg) != 0;
		if (b->end || b->last == NULL)
			break;
		free(b->from);
		b->from = b->last;
		b->fromlen = b->lastlen;
		b->last = NULL;
	}
	cache_batch_clear(b);
	free(b->from);
	free(b->last);
	util_free(b);
	return r;
}

static int
cache_stats_once(struct cache *c, void *arg)
{
	struct cache_stats *st = arg;
	DB_BTREE_STAT *bs;
	char **logs = NULL, **l;
	int r;

	if ((r = c->ce->db->stat(c->ce->db, NULL, &bs, 0)) != 0)
		return r;
	st->entries = bs->bt_nkeys;
	free(bs);
	if (c->ce->env != NULL && c->ce->env->log_archive(c->ce->env, &logs,
	    DB_ARCH_LOG) == 0 && logs != NULL) {
		for (l = logs; *l != NULL; l++)
			st->log_files++;
		free(logs);
	}
	return 0;
}

int
cache_stats(struct cache *c, struct cache_stats *st)
{
	char path[PATH_MAX];
	struct stat sb;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = cache_run(c, "stats", "", cache_stats_once, st)) !=
	    MTASTS_OK)
		return r;
	if (snprintf(path, sizeof(path), "%s/%s", c->ce->dir, CACHE_DB_FILE) <
	    (int)sizeof(path) && stat(path, &sb) == 0)
		st->bytes = (uint64_t)sb.st_size;
	return MTASTS_OK;
}
