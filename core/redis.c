/*
 * redis.c - the client for the fleet's shared store (issue 16): Redis
 * or Valkey, reached through Debian's hiredis, never a protocol of our
 * own.  The store is a second level behind the local cache, so it may
 * cost a decision a little time and nothing else:
 *
 *   - Every connection attempt is bounded by shared_connect_timeout and
 *     every command, from first byte written to last byte read, by
 *     shared_command_timeout: the descriptor is polled against one
 *     deadline, so a server that drips a byte at a time cannot stretch
 *     it (SO_RCVTIMEO alone restarts with every byte).
 *   - What is read is bounded: REDIS_REPLY_MAX bytes buffered,
 *     REDIS_ELEMENTS_MAX elements per array (our object functions
 *     refuse more, which hiredis reports as an error), hiredis' own
 *     nesting limit.  Anything hiredis cannot parse is garbage.
 *   - A failure (refused, timed out, garbage, AUTH refused) drops the
 *     connection and starts a backoff (1 s, doubling to 30 s) during
 *     which calls fail at once: a dead store costs one timeout per
 *     backoff per process, not one per message.  "unreachable" and
 *     "back" are logged once per change of state, naming the store
 *     without its password.
 *   - After a fork (Exim's delivery processes) the child does not share
 *     its parent's socket: it closes its copy and connects afresh.
 *
 * rediss:// runs TLS (redis_tls.c) where hiredis has its SSL library
 * (1.x, Debian 13); hiredis 0.14 (Debian 12) has none, and "rediss://"
 * is refused when the configuration is read (redis_url_parse), never
 * sent in clear.
 * A host name is resolved by getaddrinfo(3), which no timeout bounds:
 * mtasts.conf(5) advises an address or a unix socket.
 */
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis.h>

#include "mtasts.h"
#include "log.h"
#include "redis.h"
#include "util.h"

#define REDIS_DEPTH_MAX		6	/* nested arrays in one reply */
#define REDIS_BACKOFF_MIN_MS	1000
#define REDIS_BACKOFF_MAX_MS	30000

struct redis {
	struct redis_url	 url;
	char			 ca_file[1024];	/* shared_ca_file */
	char			 tls_name[REDIS_HOST_MAX + 1];
	struct redis_tls	*tls;		/* rediss://, once set up */
	unsigned int		 connect_ms;
	unsigned int		 command_ms;
	redisContext		*c;		/* NULL: not connected */
	pid_t			 pid;		/* who connected c */
	int			 down;		/* last attempt failed */
	unsigned int		 backoff_ms;
	int64_t			 retry_at;	/* monotonic ms */
};

static void	*redis_on_string(const redisReadTask *, char *, size_t);
static void	*redis_on_array(const redisReadTask *, int);
static void	*redis_on_integer(const redisReadTask *, long long);
static void	*redis_on_nil(const redisReadTask *);
static void	 redis_on_free(void *);

#if HIREDIS_MAJOR >= 1
/* hiredis 1.x (Debian 13): counts are size_t, and RESP3 brings doubles
 * and booleans, which a RESP2 connection (ours) never receives: one is
 * refused, and hiredis reports the reply as an error. */
static void *
redis_on_array_n(const redisReadTask *task, size_t elements)
{
	if (elements > REDIS_ELEMENTS_MAX)
		return NULL;
	return redis_on_array(task, (int)elements);
}

static void *
redis_on_double(const redisReadTask *task, double d, char *s, size_t len)
{
	(void)task;
	(void)d;
	(void)s;
	(void)len;
	return NULL;
}

static void *
redis_on_bool(const redisReadTask *task, int b)
{
	(void)task;
	(void)b;
	return NULL;
}

static redisReplyObjectFunctions redis_fns = {
	redis_on_string, redis_on_array_n, redis_on_integer, redis_on_double,
	redis_on_nil, redis_on_bool, redis_on_free
};
#else
static redisReplyObjectFunctions redis_fns = {
	redis_on_string, redis_on_array, redis_on_integer, redis_on_nil,
	redis_on_free
};
#endif

int64_t
redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reply objects: hiredis' own layout, our allocator and limits. */
static redisReply *
redis_obj(const redisReadTask *task, int type)
{
	const redisReadTask *t;
	redisReply *rp, *parent;
	int depth = 0;

	/* Our replies nest two deep; hiredis 0.14 stops at 7, 1.x grows
	 * without a bound that matters here, and the free is recursive. */
	for (t = task->parent; t != NULL; t = t->parent)
		if (++depth > REDIS_DEPTH_MAX)
			return NULL;
	if ((rp = util_calloc(1, sizeof(*rp))) == NULL)
		return NULL;
	rp->type = type;
	if (task->parent != NULL) {
		parent = task->parent->obj;
		if (parent == NULL || parent->type != REDIS_REPLY_ARRAY ||
		    task->idx < 0 || (size_t)task->idx >= parent->elements) {
			util_free(rp);
			return NULL;
		}
		parent->element[task->idx] = rp;
	}
	return rp;
}

static void *
redis_on_string(const redisReadTask *task, char *str, size_t len)
{
	redisReply *rp;
	char *s;

	if (len > REDIS_REPLY_MAX || (s = util_malloc(len + 1)) == NULL)
		return NULL;
	if ((rp = redis_obj(task, task->type)) == NULL) {
		util_free(s);
		return NULL;
	}
	memcpy(s, str, len);
	s[len] = '\0';
	rp->str = s;
	rp->len = len;
	return rp;
}

static void *
redis_on_array(const redisReadTask *task, int elements)
{
	redisReply *rp;

	/* A count we refuse is reported by hiredis as an error. */
	if (elements < 0 || elements > REDIS_ELEMENTS_MAX)
		return NULL;
	if ((rp = redis_obj(task, REDIS_REPLY_ARRAY)) == NULL)
		return NULL;
	if (elements > 0 && (rp->element = util_calloc((size_t)elements,
	    sizeof(*rp->element))) == NULL) {
		if (task->parent != NULL)
			((redisReply *)task->parent->obj)->element[task->idx] =
			    NULL;
		util_free(rp);
		return NULL;
	}
	rp->elements = (size_t)elements;
	return rp;
}

static void *
redis_on_integer(const redisReadTask *task, long long v)
{
	redisReply *rp;

	if ((rp = redis_obj(task, REDIS_REPLY_INTEGER)) != NULL)
		rp->integer = v;
	return rp;
}

static void *
redis_on_nil(const redisReadTask *task)
{
	return redis_obj(task, REDIS_REPLY_NIL);
}

static void
redis_on_free(void *p)
{
	redis_reply_free(p);
}

void
redis_reply_free(redisReply *rp)
{
	size_t i;

	if (rp == NULL)
		return;
	for (i = 0; i < rp->elements && rp->element != NULL; i++)
		redis_reply_free(rp->element[i]);
	util_free(rp->element);
	util_free(rp->str);
	util_free(rp);
}

int
redis_reply_parse(const char *p, size_t len, redisReply **out)
{
	redisReader *rd;
	void *rp = NULL;
	int r = -1;

	*out = NULL;
	if (len > REDIS_REPLY_MAX ||
	    (rd = redisReaderCreateWithFunctions(&redis_fns)) == NULL)
		return -1;
	if (redisReaderFeed(rd, p, len) == REDIS_OK &&
	    redisReaderGetReply(rd, &rp) == REDIS_OK)
		r = rp != NULL;
	*out = rp;
	redisReaderFree(rd);
	return r;
}

int
redis_new(const char *url, const struct redis_tls_opts *tls,
    unsigned int connect_ms, unsigned int command_ms, struct redis **out)
{
	struct redis *r;
	char why[160];

	*out = NULL;
	if ((r = util_calloc(1, sizeof(*r))) == NULL)
		return MTASTS_ENOMEM;
	if (redis_url_parse(url, strlen(url), &r->url, why, sizeof(why)) !=
	    0) {
		util_free(r);
		return MTASTS_EPARSE;
	}
	if (tls != NULL && tls->ca_file != NULL)
		snprintf(r->ca_file, sizeof(r->ca_file), "%s", tls->ca_file);
	if (tls != NULL && tls->name != NULL)
		snprintf(r->tls_name, sizeof(r->tls_name), "%s", tls->name);
	r->connect_ms = connect_ms;
	r->command_ms = command_ms;
	*out = r;
	return MTASTS_OK;
}

void
redis_free(struct redis *r)
{
	if (r == NULL)
		return;
	if (r->c != NULL)
		redisFree(r->c);
	redis_tls_free(r->tls);
	explicit_bzero(r->url.pass, sizeof(r->url.pass));
	util_free(r);
}

const char *
redis_name(const struct redis *r)
{
	return r->url.name;
}

/* The store failed: drop the connection (its reader may be mid-reply),
 * back off, and say so once. */
static void
redis_down(struct redis *r, const char *what, const char *why)
{
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
	if (!r->down)
		log_msg(LOG_WARNING, "shared cache %s: %s: %s; deciding from "
		    "the local cache until it is back", r->url.name, what,
		    why);
	else
		log_msg(LOG_DEBUG, "shared cache %s: still %s: %s",
		    r->url.name, what, why);
	r->down = 1;
	r->backoff_ms = r->backoff_ms == 0 ? REDIS_BACKOFF_MIN_MS :
	    r->backoff_ms * 2;
	if (r->backoff_ms > REDIS_BACKOFF_MAX_MS)
		r->backoff_ms = REDIS_BACKOFF_MAX_MS;
	r->retry_at = redis_now_ms() + r->backoff_ms;
}

static void
redis_up(struct redis *r)
{
	if (r->down)
		log_msg(LOG_NOTICE, "shared cache %s: back", r->url.name);
	r->down = 0;
	r->backoff_ms = 0;
}

/* Wait until fd is ready for ev or the deadline passes: 0 or -1. */
int
redis_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - redis_now_ms()) <= 0)
			return -1;
		p.fd = fd;
		p.events = ev;
		p.revents = 0;
		if ((n = poll(&p, 1, (int)left)) > 0)
			return 0;	/* ready, or an error read() reports */
		if (n == 0 || errno != EINTR)
			return -1;
	}
}

/*
 * hiredis writes with write(2), and OpenSSL may write while it reads or
 * shakes hands (alerts, key updates): to a store that died, that raises
 * SIGPIPE, whose default action would end the MTA's process (STYLE.md:
 * the library never takes its host down).  The host's disposition is
 * its own, so it is left alone: SIGPIPE is blocked in this thread for
 * the call, and one that the call raised is taken before unblocking.
 */
struct redis_nopipe {
	sigset_t	pipe, old;
	int		before;		/* one was pending already */
};

static void
redis_nopipe_begin(struct redis_nopipe *np)
{
	sigset_t pending;

	sigemptyset(&np->pipe);
	sigaddset(&np->pipe, SIGPIPE);
	sigemptyset(&pending);
	np->before = sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &np->pipe, &np->old);
}

static void
redis_nopipe_end(struct redis_nopipe *np)
{
	struct timespec zero = { 0, 0 };
	sigset_t pending;

	sigemptyset(&pending);
	if (!np->before && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE))
		(void)sigtimedwait(&np->pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

static int
redis_write(struct redis *r, int *done)
{
	struct redis_nopipe np;
	int rc;

	redis_nopipe_begin(&np);
	rc = redisBufferWrite(r->c, done);
	redis_nopipe_end(&np);
	return rc;
}

static int
redis_read(struct redis *r)
{
	struct redis_nopipe np;
	int rc;

	redis_nopipe_begin(&np);
	rc = redisBufferRead(r->c);
	redis_nopipe_end(&np);
	return rc;
}

/* One command and its reply within command_ms; NULL and why. */
static redisReply *
redis_exchange(struct redis *r, int argc, const char **argv,
    const size_t *argvlen, const char **what, char *why, size_t whylen)
{
	int64_t deadline = redis_now_ms() + r->command_ms;
	void *rp = NULL;
	int done = 0;

	*what = "unreachable";
	if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK)
		return util_err(why, whylen, "%s", r->c->errstr), NULL;
	while (!done) {
		if (redis_wait(r->c->fd, POLLOUT, deadline) != 0)
			return util_err(why, whylen, "%s: no answer within "
			    "%u ms", argv[0], r->command_ms), NULL;
		if (redis_write(r, &done) != REDIS_OK)
			return util_err(why, whylen, "%s: %s", argv[0],
			    r->c->errstr), NULL;
	}
	for (;;) {
		if (redisGetReplyFromReader(r->c, &rp) != REDIS_OK) {
			*what = "garbage from the server";
			return util_err(why, whylen, "%s: %s", argv[0],
			    r->c->errstr), NULL;
		}
		if (rp != NULL && r->c->reader->len > r->c->reader->pos) {
			/* More than the one reply we asked for: the next
			 * command would read this one's leftovers. */
			redis_reply_free(rp);
			*what = "garbage from the server";
			return util_err(why, whylen, "%s: unsolicited bytes "
			    "after the reply", argv[0]), NULL;
		}
		if (rp != NULL)
			return rp;
		if (r->c->reader->len > REDIS_REPLY_MAX) {
			*what = "garbage from the server";
			return util_err(why, whylen, "%s: reply longer than "
			    "%d bytes", argv[0], REDIS_REPLY_MAX), NULL;
		}
		if (!(r->url.tls && redis_tls_pending(r->tls)) &&
		    redis_wait(r->c->fd, POLLIN, deadline) != 0)
			return util_err(why, whylen, "%s: no answer within "
			    "%u ms", argv[0], r->command_ms), NULL;
		if (redis_read(r) != REDIS_OK)
			return util_err(why, whylen, "%s: %s", argv[0],
			    r->c->errstr), NULL;
	}
}

/* A command whose only good answer is +OK (AUTH, SELECT). */
static int
redis_ok(struct redis *r, int argc, const char **argv, char *why,
    size_t whylen)
{
	size_t len[3];
	redisReply *rp;
	const char *what;
	int i, ok;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	if ((rp = redis_exchange(r, argc, argv, len, &what, why, whylen)) ==
	    NULL)
		return -1;
	ok = rp->type == REDIS_REPLY_STATUS && strcmp(rp->str, "OK") == 0;
	if (!ok)
		util_err(why, whylen, "%s refused: %s", argv[0],
		    rp->type == REDIS_REPLY_ERROR ? rp->str : "not +OK");
	redis_reply_free(rp);
	return ok ? 0 : -1;
}

/* rediss://: the handshake, in what is left of the connect time. */
static int
redis_connect_tls(struct redis *r, int64_t deadline, char *why,
    size_t whylen)
{
	struct redis_tls_opts o = { r->ca_file, r->tls_name };
	struct redis_nopipe np;
	int rc;

	/* Kept across connections; set up again after it failed (a CA
	 * file that could not be read may be there next time). */
	if (r->tls == NULL && redis_tls_new(&r->url, &o, &r->tls, why,
	    whylen) != 0)
		return -1;
	redis_nopipe_begin(&np);
	rc = redis_tls_start(r->tls, r->c, deadline, why, whylen);
	redis_nopipe_end(&np);
	return rc;
}

static int
redis_connect(struct redis *r, char *why, size_t whylen)
{
	struct timeval ctv, tv;
	int64_t deadline = redis_now_ms() + r->connect_ms;
	char db[16];
	const char *argv[3];

	ctv.tv_sec = r->connect_ms / 1000;
	ctv.tv_usec = (r->connect_ms % 1000) * 1000;
	tv.tv_sec = r->command_ms / 1000;
	tv.tv_usec = (r->command_ms % 1000) * 1000;
	r->c = r->url.unix_sock ?
	    redisConnectUnixWithTimeout(r->url.path, ctv) :
	    redisConnectWithTimeout(r->url.host, (int)r->url.port, ctv);
	if (r->c == NULL)
		return util_err(why, whylen, "connect: out of memory"), -1;
	if (r->c->err)
		return util_err(why, whylen, "connect: %s", r->c->errstr), -1;
	r->pid = getpid();
	util_cloexec(r->c->fd);
	/* A backstop only: redis_wait() holds the real deadline. */
	(void)redisSetTimeout(r->c, tv);
	/* Never a fallback to plain TCP: no TLS, no store.  AUTH goes
	 * only to a server whose certificate was verified. */
	if (r->url.tls && redis_connect_tls(r, deadline, why, whylen) != 0)
		return -1;
	redisReaderFree(r->c->reader);
	if ((r->c->reader = redisReaderCreateWithFunctions(&redis_fns)) ==
	    NULL)
		return util_err(why, whylen, "out of memory"), -1;
	r->c->reader->maxbuf = 0;	/* we bound it, not hiredis */
	if (r->url.pass[0] != '\0') {
		argv[0] = "AUTH";
		if (r->url.user[0] != '\0') {
			argv[1] = r->url.user;
			argv[2] = r->url.pass;
		} else
			argv[1] = r->url.pass;
		if (redis_ok(r, r->url.user[0] != '\0' ? 3 : 2, argv, why,
		    whylen) != 0)
			return -1;
	}
	if (r->url.db != 0) {
		snprintf(db, sizeof(db), "%u", r->url.db);
		argv[0] = "SELECT";
		argv[1] = db;
		if (redis_ok(r, 2, argv, why, whylen) != 0)
			return -1;
	}
	return 0;
}

/* Connected and usable, or -1 while backing off or if it fails now. */
static int
redis_ready(struct redis *r)
{
	char why[200];

	if (r->c != NULL && r->pid == getpid())
		return 0;
	if (r->c != NULL) {
		/* Forked: close the child's copy; nothing is sent on it,
		 * so the parent's connection is untouched. */
		redisFree(r->c);
		r->c = NULL;
	}
	if (r->down && redis_now_ms() < r->retry_at)
		return -1;
	if (redis_connect(r, why, sizeof(why)) != 0) {
		redis_down(r, "unreachable", why);
		return -1;
	}
	return 0;
}

redisReply *
redis_cmd(struct redis *r, int want, int argc, const char **argv,
    const size_t *argvlen)
{
	redisReply *rp;
	const char *what;
	char why[200];

	if (argc < 1 || argc > REDIS_ARGS_MAX || redis_ready(r) != 0)
		return NULL;
	if ((rp = redis_exchange(r, argc, argv, argvlen, &what, why,
	    sizeof(why))) == NULL) {
		redis_down(r, what, why);
		return NULL;
	}
	if (!(want & REDIS_WANT(rp->type))) {
		redis_garbage(r, argv[0], rp);
		redis_reply_free(rp);
		return NULL;
	}
	redis_up(r);
	return rp;
}

void
redis_garbage(struct redis *r, const char *cmd, const redisReply *rp)
{
	char why[200];

	if (rp != NULL && rp->type == REDIS_REPLY_ERROR)
		util_err(why, sizeof(why), "%s: error reply: %.120s", cmd,
		    rp->str);
	else
		util_err(why, sizeof(why), "%s: reply of type %d", cmd,
		    rp != NULL ? rp->type : -1);
	redis_down(r, "unusable answer", why);
}
