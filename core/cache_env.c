/*
 * cache_env.c - the cache lock and the life of the shared environment:
 * joining it, rebuilding it ("reset"), reading the files directly when
 * it cannot be had, and giving handles up.  cache.c's header comment
 * explains the design and why each step is bounded.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "log.h"
#include "util.h"

#define CACHE_WAIT_MS		3000	/* longest wait for the cache lock */
#define CACHE_EXIT_WAIT_MS	500	/* the same at exit, then just go */
#define CACHE_MAX_JOINS		1000	/* joins between two resets */
#define CACHE_RESET_BACKOFF	2	/* s between two failed resets */
#define CACHE_LOCAL_BACKOFF_MS	1000	/* after EMFILE and the like */
#define CACHE_MIN_FREE_KB	4096	/* regions, a log file, a margin */
#define CACHE_LG_MAX		(1024 * 1024)

#define CACHE_AGAIN		(-1)	/* cache_enter: lock file replaced */
#define CACHE_MAGIC		0x6d747331u	/* "mts1" */
#define CACHE_HDR_RESET		0x1	/* rebuild before anyone joins */
#define CACHE_HDR_VERIFY	0x2	/* ... and check policies.db */

/* Byte ranges of cache.lock taken with fcntl(2); the kernel drops a
 * process's locks when it dies, however it dies. */
#define CACHE_LK_OP		0	/* held for each operation */
#define CACHE_LK_JOINED		1	/* shared by every joined process */

/* The lock file's contents, read and written only under CACHE_LK_OP. */
struct cache_hdr {
	uint32_t	magic;
	uint32_t	gen;		/* bumped by every reset */
	int32_t		busy;		/* pid inside an operation, else 0 */
	uint32_t	flags;		/* CACHE_HDR_* */
	uint32_t	joins;		/* since the last reset */
	uint32_t	pad;
	int64_t		reset_failed;	/* unix time of a failed reset */
};

/* Handles given up unclosed (cache_abandon). */
struct cache_gone {
	DB_ENV		*env;
	DB		*db;
	DB		*res;
	struct cache_gone *next;
};

static struct cache_env *cache_envs;
static struct cache_gone *cache_gone;
static int cache_atexit_done;

int64_t
cache_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
cache_on_dberr(const DB_ENV *env, const char *pfx, const char *msg)
{
	struct cache_env *ce = env != NULL ? env->app_private : NULL;

	(void)pfx;
	if (ce != NULL)
		snprintf(ce->dberr, sizeof(ce->dberr), "%s", msg);
}

static void
cache_on_dbmsg(const DB_ENV *env, const char *msg)
{
	const struct cache_env *ce = env->app_private;

	log_msg(LOG_NOTICE, "cache %s: %s", ce != NULL ? ce->dir : "", msg);
}

/* Failures of this process, not of the cache: never a reason to
 * rebuild what other processes use (issue 20, descriptor limits). */
static int
cache_local_err(int r)
{
	return r == EMFILE || r == ENFILE || r == ENOMEM;
}

static int
cache_lk(int fd, short type, off_t at)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = at;
	fl.l_len = 1;
	while (fcntl(fd, F_SETLK, &fl) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* fcntl(2) has no timed wait: poll, backing off to 8 ms.  A holder
 * that dies frees the lock at once; one that is stopped costs at most
 * ms, then the caller fails this operation. */
static int
cache_lock(struct cache_env *ce, int ms)
{
	int64_t deadline = cache_now_ms() + ms;
	useconds_t nap = 250;

	for (;;) {
		if (cache_lk(ce->lockfd, ce->writable ? F_WRLCK : F_RDLCK,
		    CACHE_LK_OP) == 0)
			return MTASTS_OK;
		if (errno != EAGAIN && errno != EACCES)
			return MTASTS_EIO;
		if (cache_now_ms() >= deadline)
			return MTASTS_ETIMEOUT;
		usleep(nap);
		if (nap < 8000)
			nap *= 2;
	}
}

static void
cache_hdr_read(struct cache_env *ce, struct cache_hdr *h)
{
	if (pread(ce->lockfd, h, sizeof(*h), 0) != (ssize_t)sizeof(*h) ||
	    h->magic != CACHE_MAGIC) {
		/* New or damaged: nobody can vouch for the regions. */
		memset(h, 0, sizeof(*h));
		h->magic = CACHE_MAGIC;
		h->flags = CACHE_HDR_RESET;
	}
}

static int
cache_hdr_write(struct cache_env *ce, const struct cache_hdr *h)
{
	return pwrite(ce->lockfd, h, sizeof(*h), 0) == (ssize_t)sizeof(*h) ?
	    0 : -1;
}

static int
cache_path(const struct cache_env *ce, const char *file, char *path,
    size_t size)
{
	return snprintf(path, size, "%s/%s", ce->dir, file) < (int)size ?
	    0 : -1;
}

/* cache.lock, read-write if we may; read-only (direct reads under a
 * shared lock) if not; none at all if it cannot even be read. */
static int
cache_lock_open(struct cache_env *ce)
{
	char path[PATH_MAX];
	struct stat st;
	int fd;

	if (cache_path(ce, CACHE_LOCK_FILE, path, sizeof(path)) == -1)
		return ENAMETOOLONG;
	ce->writable = 1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, CACHE_MODE);
	if (fd == -1 && (errno == EACCES || errno == EROFS ||
	    errno == EPERM)) {
		ce->writable = 0;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd == -1 && errno != EMFILE && errno != ENFILE)
			return 0;	/* no lock to take: direct, unlocked */
	}
	if (fd == -1)
		return errno;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 0777) != CACHE_MODE)
		fchmod(fd, CACHE_MODE);	/* the umask dropped group write */
	ce->lockfd = fd;
	return 0;
}

/* cache.lock is still the file at its path. */
static int
cache_lock_current(struct cache_env *ce)
{
	char path[PATH_MAX];
	struct stat a, b;

	return cache_path(ce, CACHE_LOCK_FILE, path, sizeof(path)) == 0 &&
	    fstat(ce->lockfd, &a) == 0 && stat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Files BDB creates honour the umask; the group must be able to write
 * the regions and the databases, so set the mode we promised. */
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
		if (cache_path(ce, d->d_name, path, sizeof(path)) == 0 &&
		    stat(path, &st) == 0 && st.st_uid == geteuid() &&
		    (st.st_mode & 0777) != CACHE_MODE)
			chmod(path, CACHE_MODE);
	}
	closedir(dir);
}

/* Remove the files whose names start with prefix: "__db." (regions;
 * "__db.register" of older versions too) or "log.". */
static void
cache_wipe(struct cache_env *ce, const char *prefix)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir(ce->dir)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, prefix, strlen(prefix)) == 0 &&
		    cache_path(ce, d->d_name, path, sizeof(path)) == 0)
			unlink(path);
	closedir(dir);
}

/* A file of the environment, opened by BDB for our handles (other
 * files may live in the directory: filter-mtasts's enforce.db). */
static int
cache_bdb_file(const char *name)
{
	return strncmp(name, "__db.", 5) == 0 ||
	    strncmp(name, "log.", 4) == 0 ||
	    strcmp(name, CACHE_DB_FILE) == 0 ||
	    strcmp(name, CACHE_RES_FILE) == 0;
}

/* Close this process's descriptors of the environment's files: those
 * of handles given up (below). */
static void
cache_close_fds(struct cache_env *ce)
{
	char link[PATH_MAX + 1], name[64];
	size_t n = strlen(ce->real);
	struct dirent *d;
	ssize_t len;
	DIR *dir;
	int fd;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return;		/* then they leak: a few per reset */
	while ((d = readdir(dir)) != NULL) {
		fd = (int)strtol(d->d_name, NULL, 10);
		if (d->d_name[0] < '0' || d->d_name[0] > '9' ||
		    fd == dirfd(dir) || fd == ce->lockfd)
			continue;
		snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		if ((len = readlink(name, link, sizeof(link) - 1)) <= 0)
			continue;
		link[len] = '\0';
		if (strncmp(link, ce->real, n) == 0 && link[n] == '/' &&
		    cache_bdb_file(link + n + 1))
			close(fd);
	}
	closedir(dir);
}

/* Close the handles for real: only ours, only under the lock (or in
 * direct mode, where they are private). */
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
	ce->mode = CACHE_DETACHED;
}

/*
 * Give up handles that must be neither used nor closed: those of an
 * older generation (their regions are gone; closing them could flush
 * stale pages over recovered ones or wait on a mutex a dead process
 * holds) and, after fork(), the parent's.  Their memory stays; their
 * descriptors are closed.
 */
static void
cache_abandon(struct cache_env *ce)
{
	struct cache_gone *g;

	if (ce->mode == CACHE_DIRECT && ce->pid == getpid())
		cache_handles_close(ce);
	if (ce->env != NULL || ce->db != NULL || ce->res != NULL) {
		cache_close_fds(ce);
		/* Kept reachable: given up on purpose, not leaked. */
		if ((g = util_calloc(1, sizeof(*g))) != NULL) {
			g->env = ce->env;
			g->db = ce->db;
			g->res = ce->res;
			g->next = cache_gone;
			cache_gone = g;
		}
	}
	ce->env = NULL;
	ce->db = NULL;
	ce->res = NULL;
	ce->mode = CACHE_DETACHED;
	if (ce->lockfd >= 0)
		cache_lk(ce->lockfd, F_UNLCK, CACHE_LK_JOINED);
}

/*
 * Berkeley DB retries an open(2) that fails with EMFILE or ENFILE three
 * times, sleeping 2, 4 and 6 s in between (__os_openhandle): 12 s per
 * file inside an MTA's event loop, for a failure that is this process's.
 * So before BDB opens anything, the descriptors it needs must be free;
 * if they are not, the caller hears EMFILE at once (cache_local_err).
 */
#define CACHE_FD_NEED	16	/* regions, log, two databases, spare */

static int
cache_fd_headroom(void)
{
	int fds[CACHE_FD_NEED], n, e = 0;

	for (n = 0; n < CACHE_FD_NEED; n++) {
		fds[n] = n == 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) :
		    fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
		if (fds[n] == -1) {
			e = errno;
			break;
		}
	}
	while (n > 0)
		close(fds[--n]);
	return e == 0 ? 0 : (e == EMFILE || e == ENFILE) ? e : 0;
}

static int
cache_env_open(struct cache_env *ce, u_int32_t flags)
{
	int r;

	if ((r = cache_fd_headroom()) != 0)
		return r;
	if ((r = db_env_create(&ce->env, 0)) != 0)
		return r;
	ce->env->app_private = ce;
	ce->env->set_errcall(ce->env, cache_on_dberr);
	ce->env->set_msgcall(ce->env, cache_on_dbmsg);
	/* The cache is rebuilt from the network if lost: durability of
	 * the last transactions is not worth an fsync per write. */
	ce->env->set_flags(ce->env, DB_TXN_WRITE_NOSYNC, 1);
	/* Write the regions whole when creating them: a full disk is then
	 * ENOSPC here, never SIGBUS later in a sparse mapped page. */
	ce->env->set_flags(ce->env, DB_REGION_INIT, 1);
	ce->env->log_set_config(ce->env, DB_LOG_AUTO_REMOVE, 1);
	ce->env->set_lg_filemode(ce->env, CACHE_MODE);
	ce->env->set_lg_max(ce->env, CACHE_LG_MAX);
	/* No DB_INIT_LOCK: cache.lock admits one process at a time. */
	if ((r = ce->env->open(ce->env, ce->dir, flags | DB_INIT_TXN |
	    DB_INIT_LOG | DB_INIT_MPOOL, CACHE_MODE)) != 0) {
		ce->env->close(ce->env, 0);
		ce->env = NULL;
	}
	return r;
}

static int
cache_db_open_one(struct cache_env *ce, DB **db, const char *file)
{
	int r;

	if ((r = cache_fd_headroom()) != 0 ||
	    (r = db_create(db, ce->env, 0)) != 0)
		return r;
	(*db)->set_pagesize(*db, CACHE_PAGESIZE);
	if ((r = (*db)->open(*db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, CACHE_MODE)) != 0) {
		(*db)->close(*db, 0);
		*db = NULL;
	}
	return r;
}

static int
cache_corrupt_err(int r)
{
	return r == EINVAL || r == DB_VERIFY_BAD || r == DB_OLD_VERSION ||
	    r == DB_PAGE_NOTFOUND;
}

/* A file that does not verify (structure, page checksums).  Run on a
 * handle of its own, before the environment opens the file. */
static int
cache_db_bad(struct cache_env *ce, const char *file)
{
	char path[PATH_MAX];
	DB *v;

	if (cache_path(ce, file, path, sizeof(path)) == -1 ||
	    access(path, F_OK) == -1 || db_create(&v, NULL, 0) != 0)
		return 0;
	return v->verify(v, path, NULL, NULL, 0) != 0;
}

/* policies.db cannot be used: keep it for a human as .corrupt, start a
 * new one and copy into it every entry that still decodes (issue 20: a
 * damaged page must not drop the enforce policies on the others). */
static int
cache_db_rebuild(struct cache_env *ce, const char *why)
{
	char from[PATH_MAX], to[PATH_MAX];
	size_t seen = 0, kept = 0;
	int r;

	if (cache_path(ce, CACHE_DB_FILE, from, sizeof(from)) == -1 ||
	    snprintf(to, sizeof(to), "%s.corrupt", from) >= (int)sizeof(to))
		return ENAMETOOLONG;
	if (rename(from, to) == -1)
		return errno;
	if ((r = cache_db_open_one(ce, &ce->db, CACHE_DB_FILE)) != 0)
		return r;
	cache_salvage(ce, to, ce->db, &seen, &kept);
	/* Recovery must start after the old file's log records. */
	ce->env->txn_checkpoint(ce->env, 0, 0, DB_FORCE);
	log_msg(LOG_CRIT, "cache %s: %s unusable (%s): set aside as "
	    "%s.corrupt; %zu entries salvaged into a new %s (%zu items "
	    "read); a policy not salvaged is unknown until fetched again",
	    ce->dir, CACHE_DB_FILE, why, CACHE_DB_FILE, kept, CACHE_DB_FILE,
	    seen);
	return 0;
}

/* The TLS result counters are rebuilt empty if damaged: losing a day of
 * counts is better than losing the policies. */
static int
cache_db_open(struct cache_env *ce, int verify)
{
	char path[PATH_MAX];
	int r;

	if (verify && cache_db_bad(ce, CACHE_DB_FILE))
		r = cache_db_rebuild(ce, "does not verify");
	else if (cache_corrupt_err(r = cache_db_open_one(ce, &ce->db,
	    CACHE_DB_FILE)))
		r = cache_db_rebuild(ce, db_strerror(r));
	if (r != 0)
		return r;
	if ((r = cache_db_open_one(ce, &ce->res, CACHE_RES_FILE)) != 0 &&
	    cache_corrupt_err(r) &&
	    cache_path(ce, CACHE_RES_FILE, path, sizeof(path)) == 0) {
		log_msg(LOG_ERR, "cache %s: %s unreadable (%s); starting it "
		    "empty", ce->dir, CACHE_RES_FILE, db_strerror(r));
		unlink(path);
		r = cache_db_open_one(ce, &ce->res, CACHE_RES_FILE);
	}
	return r;
}

/* Too little room to write new regions and a log file: rebuilding
 * would fail half way (issue 20: a full disk). */
static int
cache_space_low(struct cache_env *ce)
{
	struct statvfs sv;
	unsigned long long kb;

	if (statvfs(ce->dir, &sv) == -1)
		return 0;
	kb = (unsigned long long)sv.f_bavail * sv.f_frsize / 1024;
	if (kb >= CACHE_MIN_FREE_KB)
		return 0;
	log_msg(LOG_ERR, "cache %s: file system nearly full (%llu KB free, "
	    "%d KB needed): shared environment not rebuilt; cached policies "
	    "are read from the files, nothing is stored", ce->dir, kb,
	    CACHE_MIN_FREE_KB);
	return 1;
}

/*
 * Rebuild the environment: remove the regions without attaching to them
 * (attaching is what waits forever on a dead process's mutex), then let
 * normal recovery replay the logs into the databases and create fresh
 * regions.  If recovery itself fails the logs go too, and the databases
 * are kept as they are on disk.  The caller holds the lock; nobody else
 * is inside the environment.
 */
static int
cache_reset(struct cache_env *ce, struct cache_hdr *h)
{
	time_t now = time(NULL);
	int r;

	if (h->reset_failed != 0 && now >= h->reset_failed &&
	    now - h->reset_failed < CACHE_RESET_BACKOFF)
		return EAGAIN;		/* logged when it failed */
	if (cache_space_low(ce)) {
		h->reset_failed = now;
		return ENOSPC;
	}
	cache_wipe(ce, "__db.");
	ce->dberr[0] = '\0';
	if ((r = cache_env_open(ce, DB_CREATE | DB_RECOVER)) ==
	    DB_RUNRECOVERY || r == DB_VERSION_MISMATCH || r == EINVAL) {
		log_msg(LOG_ERR, "cache %s: recovery failed (%s%s%s); starting "
		    "a new environment from the databases as they are",
		    ce->dir, db_strerror(r), ce->dberr[0] ? ": " : "",
		    ce->dberr);
		cache_wipe(ce, "__db.");
		cache_wipe(ce, "log.");
		if ((r = cache_env_open(ce, DB_CREATE)) == 0) {
			/* Their pages name LSNs of the logs just removed. */
			ce->env->lsn_reset(ce->env, CACHE_DB_FILE, 0);
			ce->env->lsn_reset(ce->env, CACHE_RES_FILE, 0);
		}
	}
	if (r == 0)
		r = cache_db_open(ce, (h->flags & CACHE_HDR_VERIFY) != 0);
	if (r != 0) {
		log_msg(LOG_ERR, "cache %s: cannot rebuild the shared "
		    "environment: %s%s%s", ce->dir, db_strerror(r),
		    ce->dberr[0] ? ": " : "", ce->dberr);
		cache_handles_close(ce);
		cache_wipe(ce, "__db.");
		if (!cache_local_err(r))
			h->reset_failed = now;
		return r;
	}
	cache_fix_modes(ce);
	h->gen++;
	h->flags = 0;
	h->joins = 0;
	h->reset_failed = 0;
	return 0;
}

/* Join the environment as it is: no recovery, no creation. */
static int
cache_join(struct cache_env *ce)
{
	int r;

	ce->dberr[0] = '\0';
	if ((r = cache_env_open(ce, 0)) == 0 &&
	    (r = cache_db_open(ce, 0)) != 0)
		cache_handles_close(ce);
	return r;
}

/* Nobody else has joined: the regions are only ours to trust. */
static int
cache_alone(struct cache_env *ce)
{
	return cache_lk(ce->lockfd, F_WRLCK, CACHE_LK_JOINED) == 0;
}

/* Under the lock: handles of the current generation, rebuilding the
 * environment first when a process died inside an operation, when the
 * header asks for it, when we are the only process, or after many
 * joins (processes ended by _exit() leave a little behind each). */
static int
cache_attach(struct cache_env *ce, struct cache_hdr *h)
{
	int r, reset = (h->flags & CACHE_HDR_RESET) != 0;

	if (ce->mode == CACHE_SHARED && ce->gen == h->gen && !reset)
		return 0;
	cache_abandon(ce);
	if (!reset && (h->joins >= CACHE_MAX_JOINS || cache_alone(ce)))
		reset = 1;
	if (!reset && (r = cache_join(ce)) != 0) {
		if (cache_local_err(r))
			return r;
		log_msg(LOG_ERR, "cache %s: cannot join the shared "
		    "environment (%s%s%s); rebuilding it", ce->dir,
		    db_strerror(r), ce->dberr[0] ? ": " : "", ce->dberr);
		reset = 1;
	}
	if (reset && (r = cache_reset(ce, h)) != 0) {
		cache_lk(ce->lockfd, F_UNLCK, CACHE_LK_JOINED);
		return r;
	}
	ce->mode = CACHE_SHARED;
	ce->gen = h->gen;
	h->joins++;
	cache_lk(ce->lockfd, F_RDLCK, CACHE_LK_JOINED);
	return 0;
}

static int
cache_direct_one(struct cache_env *ce, DB **db, const char *file)
{
	char path[PATH_MAX];
	int r;

	if (cache_path(ce, file, path, sizeof(path)) == -1)
		return ENAMETOOLONG;
	if ((r = cache_fd_headroom()) != 0 ||
	    (r = db_create(db, NULL, 0)) != 0)
		return r;
	if ((r = (*db)->open(*db, NULL, path, NULL, DB_BTREE, DB_RDONLY |
	    DB_NOMMAP, 0)) == 0)
		return 0;
	(*db)->close(*db, 0);
	if (r != ENOENT)
		log_msg(LOG_ERR, "cache %s: %s: %s", ce->dir, file,
		    db_strerror(r));
	/* Nothing to read: an empty in-memory tree answers "no entry". */
	if ((r = db_create(db, NULL, 0)) != 0)
		return r;
	if ((r = (*db)->open(*db, NULL, NULL, NULL, DB_BTREE, DB_CREATE,
	    0)) != 0) {
		(*db)->close(*db, 0);
		*db = NULL;
	}
	return r;
}

/* Read the database files without the environment, for this one
 * operation: what is on disk (up to the last checkpoint). */
static int
cache_direct(struct cache_env *ce, const char *why)
{
	int r;

	if (!ce->said) {
		log_msg(LOG_ERR, "cache %s: %s: reading cached policies from "
		    "the files; nothing is stored until this is fixed",
		    ce->dir, why);
		ce->said = 1;
	}
	ce->mode = CACHE_DIRECT;
	if ((r = cache_direct_one(ce, &ce->db, CACHE_DB_FILE)) != 0 ||
	    (r = cache_direct_one(ce, &ce->res, CACHE_RES_FILE)) != 0)
		cache_handles_close(ce);
	return r;
}

/* A fork()ed child must not use or close the parent's handles. */
static void
cache_after_fork(struct cache_env *ce)
{
	if (ce->pid == getpid())
		return;
	ce->db = NULL;
	ce->res = NULL;
	if (ce->env != NULL)
		cache_close_fds(ce);
	ce->env = NULL;
	ce->mode = CACHE_DETACHED;
	ce->pid = getpid();
	ce->said = 0;
}

static void
cache_unlock(struct cache_env *ce, struct cache_hdr *h, int r)
{
	if (ce->mode == CACHE_DIRECT)
		cache_handles_close(ce);
	if (!ce->locked)
		return;
	ce->locked = 0;
	if (ce->writable) {
		/* An operation that failed inside BDB: rebuild, and check
		 * policies.db first (a damaged page fails this way). */
		if (r == DB_RUNRECOVERY || cache_corrupt_err(r) || (r > 0 &&
		    r < 1000 && !cache_local_err(r) && r != EACCES))
			h->flags |= CACHE_HDR_RESET | CACHE_HDR_VERIFY;
		h->busy = 0;
		cache_hdr_write(ce, h);
	}
	cache_lk(ce->lockfd, F_UNLCK, CACHE_LK_OP);
}

/* Take the lock and attach, shared or direct.  MTASTS_OK, or a status
 * (logged) with the lock released. */
static int
cache_enter(struct cache_env *ce, struct cache_hdr *h)
{
	char why[MTASTS_ERRLEN];
	int r;

	cache_after_fork(ce);
	if (cache_now_ms() < ce->retry_at)
		return MTASTS_EIO;	/* logged when it failed */
	if (ce->lockfd < 0 && (r = cache_lock_open(ce)) != 0) {
		log_msg(LOG_ERR, "cache %s: %s: %s", ce->dir, CACHE_LOCK_FILE,
		    strerror(r));
		ce->retry_at = cache_now_ms() + CACHE_LOCAL_BACKOFF_MS;
		return MTASTS_EIO;
	}
	if (ce->lockfd < 0)
		return cache_direct(ce, "no lock file and no right to create "
		    "one") == 0 ? MTASTS_OK : MTASTS_EIO;
	if ((r = cache_lock(ce, CACHE_WAIT_MS)) != MTASTS_OK) {
		/* A holder stopped, not dead (a debugger, SIGSTOP): read
		 * what is on disk without the lock rather than nothing. */
		log_msg(LOG_ERR, "cache %s: %s", ce->dir, r == MTASTS_ETIMEOUT ?
		    "still locked by another process after 3000 ms; reading "
		    "the files without the lock" : "cannot lock "
		    CACHE_LOCK_FILE);
		if (r != MTASTS_ETIMEOUT || cache_direct(ce, "cache locked "
		    "by a process that does not finish") != 0)
			return r;
		memset(h, 0, sizeof(*h));
		return MTASTS_OK;
	}
	ce->locked = 1;
	if (!cache_lock_current(ce)) {
		/* Removed or replaced by hand: the others lock the new file
		 * now, and our handles belong to no known generation. */
		cache_lk(ce->lockfd, F_UNLCK, CACHE_LK_OP);
		ce->locked = 0;
		cache_abandon(ce);
		close(ce->lockfd);
		ce->lockfd = -1;
		return CACHE_AGAIN;
	}
	if (!ce->writable) {
		memset(h, 0, sizeof(*h));
		r = cache_direct(ce, "not writable by this user");
	} else {
		cache_hdr_read(ce, h);
		if (h->busy != 0) {
			/* The last holder stopped half way: its mutexes may
			 * be held in the regions for ever. */
			log_msg(LOG_ERR, "cache %s: process %d ended inside a "
			    "cache operation; rebuilding the shared "
			    "environment", ce->dir, (int)h->busy);
			h->flags |= CACHE_HDR_RESET;
		}
		h->busy = (int32_t)getpid();
		if (cache_hdr_write(ce, h) == -1) {
			snprintf(why, sizeof(why), "cannot write %s: %s",
			    CACHE_LOCK_FILE, strerror(errno));
			h->busy = 0;
			r = cache_direct(ce, why);
		} else if ((r = cache_attach(ce, h)) == 0) {
			ce->said = 0;
		} else if (cache_local_err(r)) {
			log_msg(LOG_ERR, "cache %s: %s (a local limit; the "
			    "cache is skipped for %d ms)", ce->dir,
			    db_strerror(r), CACHE_LOCAL_BACKOFF_MS);
			ce->retry_at = cache_now_ms() + CACHE_LOCAL_BACKOFF_MS;
		} else {
			snprintf(why, sizeof(why), "shared environment "
			    "unusable (%s)", r == EAGAIN ? "its rebuild "
			    "failed moments ago" : db_strerror(r));
			r = cache_direct(ce, why);
		}
	}
	if (r != 0) {
		cache_unlock(ce, h, 0);
		return r == ENOMEM ? MTASTS_ENOMEM : MTASTS_EIO;
	}
	return MTASTS_OK;
}

int
cache_run(struct cache *c, const char *what, const char *domain,
    int (*op)(struct cache *, void *), void *arg)
{
	struct cache_env *ce = c->ce;
	struct cache_hdr h;
	int r = 0, st, tries, mode = CACHE_DETACHED;

	for (tries = 0; tries < 2; tries++) {
		if ((st = cache_enter(ce, &h)) == CACHE_AGAIN)
			st = cache_enter(ce, &h);	/* a new lock file */
		if (st != MTASTS_OK)
			return st == CACHE_AGAIN ? MTASTS_EIO : st;
		mode = ce->mode;	/* direct handles close below */
		r = op(c, arg);
		cache_unlock(ce, &h, r);
		/* A panic seen by this operation: the next enter rebuilds,
		 * and the operation is tried once more there. */
		if (r != DB_RUNRECOVERY || mode != CACHE_SHARED)
			break;
	}
	switch (r) {
	case 0:
		return MTASTS_OK;
	case DB_NOTFOUND:
		return MTASTS_ENORECORD;
	case ENOMEM:
		return MTASTS_ENOMEM;
	case EACCES:
		if (mode == CACHE_DIRECT)
			return MTASTS_EIO;	/* read-only: logged once */
		break;
	}
	log_msg(LOG_ERR, "cache %s: %s %s: %s%s%s", ce->dir, what, domain,
	    db_strerror(r), ce->dberr[0] ? ": " : "", ce->dberr);
	return MTASTS_EIO;
}

/* Writes need the shared environment: the direct handles are the
 * files opened read-only, or empty trees in memory. */
int
cache_writable(const struct cache *c)
{
	return c->ce->mode == CACHE_SHARED && !(c->flags & CACHE_RDONLY);
}

int
cache_txn_begin(struct cache *c, DB_TXN **txn)
{
	*txn = NULL;
	if (c->ce->env == NULL)
		return 0;	/* direct: reads only, no environment */
	return c->ce->env->txn_begin(c->ce->env, NULL, txn, 0);
}

int
cache_txn_commit(DB_TXN *txn)
{
	return txn != NULL ? txn->commit(txn, 0) : 0;
}

void
cache_txn_abort(DB_TXN *txn)
{
	if (txn != NULL)
		txn->abort(txn);
}

/* Leave the environment cleanly: under the lock, when the handles are
 * of the current generation; else give them up.  Bounded by ms. */
static void
cache_detach(struct cache_env *ce, int ms)
{
	struct cache_hdr h;

	if (ce->pid != getpid())
		return;		/* the parent's handles */
	if (ce->mode != CACHE_SHARED || ce->lockfd < 0) {
		cache_abandon(ce);
		return;
	}
	if (cache_lock(ce, ms) != MTASTS_OK) {
		cache_abandon(ce);
		return;
	}
	cache_hdr_read(ce, &h);
	if (h.gen == ce->gen && h.busy == 0 &&
	    !(h.flags & CACHE_HDR_RESET)) {
		h.busy = (int32_t)getpid();
		if (cache_hdr_write(ce, &h) == 0) {
			cache_handles_close(ce);
			h.busy = 0;
			cache_hdr_write(ce, &h);
		}
	}
	cache_abandon(ce);
	cache_lk(ce->lockfd, F_UNLCK, CACHE_LK_OP);
}

/* Exit without closing is harmless (nothing is held between
 * operations), but closing lets the last process flush the pages. */
static void
cache_on_exit(void)
{
	struct cache_env *ce;

	for (ce = cache_envs; ce != NULL; ce = ce->next)
		cache_detach(ce, CACHE_EXIT_WAIT_MS);
}

/* This process's handles for dir, attached on first use. */
int
cache_env_get(const char *dir, struct cache_env **out, char *err,
    size_t errlen)
{
	struct cache_env *ce;

	for (ce = cache_envs; ce != NULL; ce = ce->next)
		if (strcmp(ce->dir, dir) == 0) {
			ce->refs++;
			*out = ce;
			return MTASTS_OK;
		}
	if ((ce = util_calloc(1, sizeof(*ce))) == NULL)
		return MTASTS_ENOMEM;
	snprintf(ce->dir, sizeof(ce->dir), "%s", dir);
	if (realpath(dir, ce->real) == NULL) {
		util_err(err, errlen, "cache_dir %s: %s", dir, strerror(errno));
		util_free(ce);
		return MTASTS_EIO;
	}
	ce->lockfd = -1;
	ce->pid = getpid();
	if (!cache_atexit_done && atexit(cache_on_exit) == 0)
		cache_atexit_done = 1;
	ce->refs = 1;
	ce->next = cache_envs;
	cache_envs = ce;
	*out = ce;
	return MTASTS_OK;
}

void
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
	cache_detach(ce, CACHE_WAIT_MS);
	if (ce->lockfd >= 0)
		close(ce->lockfd);
	util_free(ce);
}
