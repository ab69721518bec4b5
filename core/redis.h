/*
 * redis.h - a bounded client for the fleet's shared store (Redis or
 * Valkey) on Debian's hiredis: one connection per process, every call
 * bounded in time and in the size of what it reads (redis.c).
 */
#ifndef MTASTS_REDIS_H
#define MTASTS_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#define REDIS_HOST_MAX		255
#define REDIS_PATH_MAX		107	/* sun_path */
#define REDIS_CRED_MAX		255
#define REDIS_NAME_MAX		(REDIS_HOST_MAX + 32)
#define REDIS_REPLY_MAX		(4 * 1024 * 1024) /* bytes buffered */
#define REDIS_ELEMENTS_MAX	65536	/* per array reply */
#define REDIS_ARGS_MAX		16

/*
 * shared_cache = redis[s]://[[user]:password@]HOST[:PORT][/DB]
 *              | unix:[[user]:password@]/path
 */
struct redis_url {
	int		unix_sock;			/* path, not host */
	int		tls;				/* rediss:// */
	char		host[REDIS_HOST_MAX + 1];	/* name or address */
	unsigned int	port;
	char		path[REDIS_PATH_MAX + 1];
	char		user[REDIS_CRED_MAX + 1];	/* "" none */
	char		pass[REDIS_CRED_MAX + 1];	/* "" no AUTH */
	unsigned int	db;				/* SELECT */
	char		name[REDIS_NAME_MAX + 1];	/* for logs: no
							 * password */
};

/* Parse v (len bytes, hostile: it comes from a file).  0, or -1 with
 * the reason in why. */
int	redis_url_parse(const char *v, size_t len, struct redis_url *u,
	    char *why, size_t whylen);
/* u as it may be shown (mtasts_config_item): the password as "****". */
void	redis_url_redact(const struct redis_url *u, char *out, size_t size);

/* The TLS settings of a rediss:// store (shared_ca_file, shared_tls_name;
 * "" for the system's CA store and the URL's host). */
struct redis_tls_opts {
	const char	*ca_file;
	const char	*name;
};

struct redis;

/* Nothing is connected yet: the first call connects.  connect_ms and
 * command_ms bound each connection attempt (the TLS handshake included)
 * and each command.  tls may be NULL (defaults).  *out is freed with
 * redis_free; NULL and MTASTS_ENOMEM, or MTASTS_EPARSE for a bad url. */
int	redis_new(const char *url, const struct redis_tls_opts *tls,
	    unsigned int connect_ms, unsigned int command_ms,
	    struct redis **out);
void	redis_free(struct redis *r);
/* "redis[s]://host:port/db" or "unix:/path", for log lines. */
const char *redis_name(const struct redis *r);

/* Run one command (argv[i] of argvlen[i] bytes, argc <= REDIS_ARGS_MAX)
 * and return its reply, which the caller frees with redis_reply_free,
 * or NULL: the store is unreachable, slow, or answered garbage, or a
 * reply whose type is not in want (REDIS_WANT bits; an error reply such
 * as "-NOAUTH" is garbage unless wanted).  Failures are logged once per
 * change of state, naming the store; then calls fail at once, without
 * a network attempt, until a short backoff has passed. */
#define REDIS_WANT(type)	(1 << (type))
redisReply *redis_cmd(struct redis *r, int want, int argc,
	    const char **argv, const size_t *argvlen);
/* A reply the caller finds unusable is garbage: log it, drop the
 * connection and back off, as redis_cmd does. */
void	redis_garbage(struct redis *r, const char *cmd, const redisReply *rp);
void	redis_reply_free(redisReply *rp);

/* The reply reader alone, for the fuzzer and the tests: parse one reply
 * from p; 1 and *out (free with redis_reply_free), 0 if incomplete, -1
 * if garbage. */
int	redis_reply_parse(const char *p, size_t len, redisReply **out);

/*
 * TLS for rediss:// (redis_tls.c; built with -DMTASTS_REDIS_TLS where
 * hiredis has libhiredis_ssl).  redis_tls_start runs the handshake on
 * c, just connected, by deadline (monotonic ms): the server's chain is
 * verified against opts' CA file or the system store and its name
 * checked; 0, or -1 and why.  c is then non-blocking, and *state is
 * the handshake's (freed with c by redisFree).
 */
struct redis_tls;
int	redis_tls_new(const struct redis_url *u,
	    const struct redis_tls_opts *opts, struct redis_tls **out,
	    char *why, size_t whylen);
void	redis_tls_free(struct redis_tls *t);
int	redis_tls_start(struct redis_tls *t, redisContext *c,
	    int64_t deadline, char *why, size_t whylen);
/* Decrypted bytes are waiting in the TLS layer of the c of the last
 * redis_tls_start (while it lives): poll(2) would not see them. */
int	redis_tls_pending(struct redis_tls *t);

/* For redis.c and redis_tls.c: the monotonic clock in ms, and a wait
 * until fd is ready for ev (POLLIN, POLLOUT) by deadline: 0 or -1. */
int64_t	redis_now_ms(void);
int	redis_wait(int fd, short ev, int64_t deadline);

#endif /* MTASTS_REDIS_H */
