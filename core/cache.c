/*
 * cache.c - the policy cache every MTA process on the host shares: a
 * Berkeley DB 5.3 transactional environment holding one B-tree,
 * "policies.db", keyed by policy domain (checklist A7).
 *
 * Why a transactional environment: Exim forks a process per delivery
 * and smtpd runs each filter as its own process, so many writers meet.
 * DB_REGISTER | DB_RECOVER makes the next opener recover the environment
 * when a writer died holding locks (SIGKILL, OOM), instead of everyone
 * hanging.  Such a recovery invalidates the handles of the processes
 * still running: they see DB_RUNRECOVERY and reopen (cache_ready()).
 * DB_REGISTER allows one environment handle per process, so handles on
 * one directory share a reference-counted struct cache_env.
 *
 * Sharing: the directory and its files are created mode 0770/0660 and
 * take the group of the directory, so every MTA user in that group
 * (mtasts.conf(5) suggests "_mtasts", set-group-ID directory) can read
 * and write.  Logs are removed automatically once checkpointed.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "log.h"
#include "util.h"

#define CACHE_DB_FILE	"policies.db"
#define CACHE_RES_FILE	"results.db"	/* TLS result counters (RFC 8460) */
#define CACHE_MODE	0660
#define CACHE_WAIT_MS	3000	/* give up on a busy lock after this */
#define CACHE_THREADS	4096	/* processes the env tracks for failchk */
#define CACHE_BATCH	256	/* entries per cursor pass in foreach */

static struct cache_env *cache_envs;
static int cache_atexit_done;

static void
cache_on_dberr(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct cache_env *ce = env->app_private;

	(void)pfx;
	if (ce != NULL)
		snprintf(ce->dberr, sizeof(ce->dberr), "%s", msg);
}

/* Informational messages, e.g. failchk freeing a dead process's locks. */
static void
cache_on_dbmsg(const DB_ENV *env, const char *msg)
{
	const struct cache_env *ce = env->app_private;

	log_msg(LOG_NOTICE, "cache %s: %s", ce != NULL ? ce->dir : "", msg);
}

static void
cache_handles_close(struct cache_env *ce)
{
	if (ce->db != NULL)
		ce->db->close(ce->db, 0);
	if (ce->res != NULL)
		ce->res->close(ce->res, 0);
	if (ce->env != NULL)
		ce->env->close(ce->env, 0);
	ce->db = NULL;
	ce->res = NULL;
	ce->env = NULL;
}

/* A process that exits without closing would leave its slot in the
 * DB_REGISTER file and make the next opener run recovery, which breaks
 * every other process's handles: close what is open at exit. */
static void
cache_on_exit(void)
{
	struct cache_env *ce;

	for (ce = cache_envs; ce != NULL; ce = ce->next)
		if (ce->pid == getpid())
			cache_handles_close(ce);
}

/* Files BDB creates honour the umask; the group must be able to write
 * the regions and the database, so set the mode we promised. */
static void
cache_fix_modes(struct cache_env *ce)
{
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dir;

	if ((dir = opendir(ce->dir)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, "__db.", 5) != 0 &&
		    strncmp(d->d_name, "log.", 4) != 0 &&
		    strcmp(d->d_name, CACHE_DB_FILE) != 0 &&
		    strcmp(d->d_name, CACHE_RES_FILE) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", ce->dir,
		    d->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_mode & 0777) != CACHE_MODE)
			chmod(path, CACHE_MODE);
	}
	closedir(dir);
}

/* Remove the environment's regions and logs (never the database): only
 * when recovery itself failed, as nothing can use them any more. */
static void
cache_wipe_env(struct cache_env *ce)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir(ce->dir)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, "__db.", 5) != 0 &&
		    strncmp(d->d_name, "log.", 4) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", ce->dir,
		    d->d_name) < (int)sizeof(path))
			unlink(path);
	}
	closedir(dir);
}

/* failchk asks whether the process behind a lock or a transaction is
 * still there (one thread per process here). */
static int
cache_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return pid == getpid() || kill(pid, 0) == 0 || errno == EPERM;
}

static int
cache_env_open(struct cache_env *ce)
{
	int r;

	if ((r = db_env_create(&ce->env, 0)) != 0)
		return r;
	ce->env->app_private = ce;
	ce->env->set_errcall(ce->env, cache_on_dberr);
	ce->env->set_msgcall(ce->env, cache_on_dbmsg);
	/* The cache is rebuilt from the network if lost: durability of
	 * the last transactions is not worth an fsync per write. */
	ce->env->set_flags(ce->env, DB_TXN_WRITE_NOSYNC, 1);
	ce->env->log_set_config(ce->env, DB_LOG_AUTO_REMOVE, 1);
	ce->env->set_lg_filemode(ce->env, CACHE_MODE);
	ce->env->set_lg_max(ce->env, 1024 * 1024);
	ce->env->set_lk_detect(ce->env, DB_LOCK_DEFAULT);
	/* Never wait on a lock: a holder that died would make us wait
	 * forever.  Conflicts come back at once and cache_run() retries,
	 * clearing dead processes' transactions with failchk. */
	ce->env->set_flags(ce->env, DB_TXN_NOWAIT, 1);
	ce->env->set_thread_count(ce->env, CACHE_THREADS);
	ce->env->set_isalive(ce->env, cache_isalive);
	if ((r = ce->env->open(ce->env, ce->dir, DB_CREATE | DB_INIT_TXN |
	    DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_REGISTER |
	    DB_RECOVER | DB_FAILCHK, CACHE_MODE)) != 0) {
		ce->env->close(ce->env, 0);
		ce->env = NULL;
	}
	return r;
}

static int
cache_db_open_one(struct cache_env *ce, DB **db, const char *file)
{
	int r;

	if ((r = db_create(db, ce->env, 0)) != 0)
		return r;
	if ((r = (*db)->open(*db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, CACHE_MODE)) != 0) {
		(*db)->close(*db, 0);
		*db = NULL;
	}
	return r;
}

/* The TLS result counters are rebuilt empty if damaged: losing a day of
 * counts is better than losing the policies. */
static int
cache_db_open(struct cache_env *ce)
{
	char path[PATH_MAX];
	int r;

	if ((r = cache_db_open_one(ce, &ce->db, CACHE_DB_FILE)) != 0)
		return r;
	if ((r = cache_db_open_one(ce, &ce->res, CACHE_RES_FILE)) == EINVAL &&
	    snprintf(path, sizeof(path), "%s/%s", ce->dir, CACHE_RES_FILE) <
	    (int)sizeof(path)) {
		log_msg(LOG_ERR, "cache %s: %s unreadable; starting it empty",
		    ce->dir, CACHE_RES_FILE);
		unlink(path);
		r = cache_db_open_one(ce, &ce->res, CACHE_RES_FILE);
	}
	if (r != 0) {
		ce->db->close(ce->db, 0);
		ce->db = NULL;
	}
	return r;
}

/* Opening takes locks too: wait out other openers (bounded), and give
 * a file another process is creating a moment before calling it bad. */
static int
cache_db_open_wait(struct cache_env *ce)
{
	int i, r = 0;

	for (i = 0; i < 60; i++) {
		r = cache_db_open(ce);
		if (r != DB_LOCK_NOTGRANTED && r != DB_LOCK_DEADLOCK &&
		    (r != EINVAL || i >= 3))
			break;
		usleep(50000);
	}
	return r;
}

/* The database file cannot be opened: keep it aside for a human and
 * start empty (issue 4: a corrupt cache is reported and rebuilt). */
static void
cache_set_aside(struct cache_env *ce)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (snprintf(from, sizeof(from), "%s/%s", ce->dir, CACHE_DB_FILE) >=
	    (int)sizeof(from) || snprintf(to, sizeof(to), "%s/%s.corrupt",
	    ce->dir, CACHE_DB_FILE) >= (int)sizeof(to))
		return;
	if (rename(from, to) == -1)
		unlink(from);
}

static int
cache_env_fatal(int r)
{
	return r == DB_RUNRECOVERY || r == DB_VERSION_MISMATCH;
}

static int
cache_open_handles(struct cache_env *ce, char *err, size_t errlen)
{
	int r;

	ce->dberr[0] = '\0';
	if ((r = cache_env_open(ce)) != 0 && cache_env_fatal(r)) {
		/* Recovery failed: regions or logs are beyond repair. */
		log_msg(LOG_ERR, "cache %s: recovery failed (%s%s%s); "
		    "resetting the environment", ce->dir, db_strerror(r),
		    ce->dberr[0] ? ": " : "", ce->dberr);
		cache_wipe_env(ce);
		if ((r = cache_env_open(ce)) == 0)
			ce->env->lsn_reset(ce->env, CACHE_DB_FILE, 0);
	}
	if (r != 0)
		goto fail;
	if ((r = cache_db_open_wait(ce)) == EINVAL || r == DB_VERIFY_BAD ||
	    r == DB_OLD_VERSION) {
		log_msg(LOG_ERR, "cache %s: database %s unreadable (%s); "
		    "moved aside as %s.corrupt, starting empty", ce->dir,
		    CACHE_DB_FILE, db_strerror(r), CACHE_DB_FILE);
		util_err(err, errlen, "cache %s: database %s was corrupt, "
		    "rebuilt empty", ce->dir, CACHE_DB_FILE);
		cache_set_aside(ce);
		r = cache_db_open_wait(ce);
	}
	if (r != 0)
		goto fail;
	ce->pid = getpid();
	cache_fix_modes(ce);
	return MTASTS_OK;
fail:
	util_err(err, errlen, "cache %s: %s%s%s", ce->dir, db_strerror(r),
	    ce->dberr[0] ? ": " : "", ce->dberr);
	cache_handles_close(ce);
	return MTASTS_EIO;
}

/* This process's environment for dir, opened on first use. */
static int
cache_env_get(const char *dir, struct cache_env **out, char *err,
    size_t errlen)
{
	struct cache_env *ce;
	int r;

	for (ce = cache_envs; ce != NULL; ce = ce->next)
		if (strcmp(ce->dir, dir) == 0 && ce->pid == getpid() &&
		    ce->env != NULL) {
			ce->refs++;
			*out = ce;
			return MTASTS_OK;
		}
	if ((ce = util_calloc(1, sizeof(*ce))) == NULL)
		return MTASTS_ENOMEM;
	snprintf(ce->dir, sizeof(ce->dir), "%s", dir);
	if ((r = cache_open_handles(ce, err, errlen)) != MTASTS_OK) {
		util_free(ce);
		return r;
	}
	if (!cache_atexit_done && atexit(cache_on_exit) == 0)
		cache_atexit_done = 1;
	ce->refs = 1;
	ce->next = cache_envs;
	cache_envs = ce;
	*out = ce;
	return MTASTS_OK;
}

static void
cache_env_unref(struct cache_env *ce)
{
	struct cache_env **pp;

	if (--ce->refs > 0)
		return;
	for (pp = &cache_envs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == ce) {
			*pp = ce->next;
			break;
		}
	/* After fork() the handles are the parent's: never touch them. */
	if (ce->pid == getpid())
		cache_handles_close(ce);
	util_free(ce);
}

int
cache_open(const char *dir, int flags, struct cache **out, char *err,
    size_t errlen)
{
	struct cache *c;
	int r;

	*out = NULL;
	if (strlen(dir) >= PATH_MAX) {
		util_err(err, errlen, "cache_dir %s: path too long", dir);
		return MTASTS_EINVAL;
	}
	if (mkdir(dir, 0770) == 0)
		chmod(dir, 0770);	/* the umask would drop group write */
	else if (errno != EEXIST) {
		util_err(err, errlen, "cache_dir %s: %s", dir, strerror(errno));
		return MTASTS_EIO;
	}
	if ((c = util_calloc(1, sizeof(*c))) == NULL)
		return MTASTS_ENOMEM;
	c->flags = flags;
	if ((r = cache_env_get(dir, &c->ce, err, errlen)) != MTASTS_OK) {
		util_free(c);
		return r;
	}
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

/* Make the handles usable in this process: after a fork (handles are
 * the parent's, BDB forbids sharing them) or after another process ran
 * recovery (DB_RUNRECOVERY), open fresh ones. */
static int
cache_ready(struct cache *c, int broken)
{
	struct cache_env *ce = c->ce;
	char err[MTASTS_ERRLEN];
	int r;

	if (ce->pid == getpid() && ce->env != NULL && !broken)
		return MTASTS_OK;
	if (ce->pid == getpid())
		cache_handles_close(ce);
	ce->db = NULL;		/* the parent's: left alone on purpose */
	ce->res = NULL;
	ce->env = NULL;
	if ((r = cache_open_handles(ce, err, sizeof(err))) != MTASTS_OK)
		log_msg(LOG_ERR, "%s", err);
	return r;
}

static int64_t
cache_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Run one operation (a whole transaction) until it stops conflicting.
 * Locks are never waited on (DB_TXN_NOWAIT): a busy lock returns at
 * once and we back off 1..32 ms.  A lock that stays busy may belong to
 * a process that died; failchk aborts such transactions, or says that
 * recovery is needed, which reopening the environment runs.  Live
 * holders keep locks for microseconds, so the wait is short; it is
 * bounded by CACHE_WAIT_MS whatever happens.
 */
int
cache_run(struct cache *c, const char *what, const char *domain,
    int (*op)(struct cache *, void *), void *arg)
{
	int64_t deadline = cache_now_ms() + CACHE_WAIT_MS;
	int attempt, broken = 0, r;

	for (attempt = 0;; attempt++) {
		if (cache_ready(c, broken) != MTASTS_OK)
			return MTASTS_EIO;
		broken = 0;
		switch ((r = op(c, arg))) {
		case 0:
			return MTASTS_OK;
		case DB_NOTFOUND:
			return MTASTS_ENORECORD;
		case DB_RUNRECOVERY:
			broken = 1;
			break;
		case DB_LOCK_DEADLOCK:
		case DB_LOCK_NOTGRANTED:
			if (attempt % 4 == 3 && c->ce->env->failchk(c->ce->env,
			    0) == DB_RUNRECOVERY)
				broken = 1;
			break;
		default:
			if (r > 0 && r < 1000 && r != ENOMEM)
				r = DB_RUNRECOVERY;	/* errno: I/O */
			log_msg(LOG_ERR, "cache %s: %s %s: %s", c->ce->dir,
			    what, domain, db_strerror(r));
			return r == ENOMEM ? MTASTS_ENOMEM : MTASTS_EIO;
		}
		if (cache_now_ms() >= deadline) {
			log_msg(LOG_ERR, "cache %s: %s %s: still locked after "
			    "%d ms", c->ce->dir, what, domain, CACHE_WAIT_MS);
			return MTASTS_ETIMEOUT;
		}
		if (!broken)
			usleep(1000u << (attempt < 5 ? attempt : 5));
	}
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

int
cache_txn_begin(struct cache *c, DB_TXN **txn)
{
	return c->ce->env->txn_begin(c->ce->env, NULL, txn,
	    DB_TXN_NOWAIT | DB_READ_COMMITTED);
}

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
		txn->abort(txn);
		return r;
	}
	txn->commit(txn, 0);
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
	r = cache_read(c, txn, key, &data, DB_RMW);
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
	r = txn->commit(txn, 0);
	/* Checkpoints let DB_LOG_AUTO_REMOVE prune old logs. */
	c->ce->env->txn_checkpoint(c->ce->env, 256, 5, 0);
	return r;
abort:
	cache_entry_clear(&e);
	util_free(enc);
	txn->abort(txn);
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

	if ((r = cache_txn_begin(c, &txn)) != 0)
		return r;
	cache_dbt(&key, o->domain, strlen(o->domain));
	if ((r = c->ce->db->del(c->ce->db, txn, &key, 0)) != 0) {
		txn->abort(txn);
		return r;
	}
	return txn->commit(txn, 0);
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
 * open: fn may take long or write to the cache itself. */
struct cache_batch {
	struct cache_entry	 e[CACHE_BATCH];
	size_t			 n;
	char			 from[MTASTS_DOMAIN_MAX + 1]; /* "" = first */
	char			 last[MTASTS_DOMAIN_MAX + 1];
	int			 end;
};

static void
cache_batch_clear(struct cache_batch *b)
{
	while (b->n > 0)
		cache_entry_clear(&b->e[--b->n]);
}

/* One key/value at the cursor into the batch; damaged ones skipped. */
static void
cache_batch_add(struct cache *c, struct cache_batch *b, const char *key,
    const DBT *data)
{
	struct cache_entry *e = &b->e[b->n];

	if (cache_decode(data->data, data->size, e) == MTASTS_OK &&
	    strcmp(e->domain, key) == 0)
		b->n++;
	else {
		cache_entry_clear(e);
		log_msg(LOG_ERR, "cache %s: %s: damaged entry skipped",
		    c->ce->dir, key);
	}
	snprintf(b->last, sizeof(b->last), "%s", key);
}

static int
cache_scan_cursor(struct cache *c, DBC *cur, struct cache_batch *b)
{
	char kbuf[MTASTS_DOMAIN_MAX + 1];
	uint32_t op = b->from[0] ? DB_SET_RANGE : DB_FIRST;
	DBT key, data;
	int r;

	for (; b->n < CACHE_BATCH; op = DB_NEXT) {
		memset(&key, 0, sizeof(key));
		snprintf(kbuf, sizeof(kbuf), "%s", b->from);
		key.data = kbuf;
		key.size = (u_int32_t)strlen(kbuf);
		key.ulen = sizeof(kbuf) - 1;
		key.flags = DB_DBT_USERMEM;
		memset(&data, 0, sizeof(data));
		data.flags = DB_DBT_MALLOC;
		if ((r = cur->get(cur, &key, &data, op)) != 0)
			return r;
		kbuf[key.size] = '\0';
		/* SET_RANGE lands on the last key of the previous batch. */
		if (op != DB_SET_RANGE || strcmp(kbuf, b->from) != 0)
			cache_batch_add(c, b, kbuf, &data);
		free(data.data);
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
		txn->abort(txn);
		return r;
	}
	r = cache_scan_cursor(c, cur, b);
	cur->close(cur);
	b->end = r == DB_NOTFOUND;
	if (r != 0 && r != DB_NOTFOUND) {
		txn->abort(txn);
		cache_batch_clear(b);
		return r;
	}
	return txn->commit(txn, 0);
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
		if (b->end)
			break;
		memcpy(b->from, b->last, sizeof(b->from));
	}
	cache_batch_clear(b);
	util_free(b);
	return r;
}

static uint64_t
cache_count(struct cache *c)
{
	DB_BTREE_STAT *st;
	uint64_t n = 0;

	if (c->ce->db->stat(c->ce->db, NULL, &st, 0) == 0) {
		n = st->bt_nkeys;
		free(st);
	}
	return n;
}

int
cache_stats(struct cache *c, struct cache_stats *st)
{
	char path[PATH_MAX];
	char **logs = NULL, **l;
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (cache_ready(c, 0) != MTASTS_OK)
		return MTASTS_EIO;
	st->entries = cache_count(c);
	if (snprintf(path, sizeof(path), "%s/%s", c->ce->dir, CACHE_DB_FILE) <
	    (int)sizeof(path) && stat(path, &sb) == 0)
		st->bytes = (uint64_t)sb.st_size;
	if (c->ce->env->log_archive(c->ce->env, &logs, DB_ARCH_LOG) == 0 &&
	    logs != NULL) {
		for (l = logs; *l != NULL; l++)
			st->log_files++;
		free(logs);
	}
	return MTASTS_OK;
}

