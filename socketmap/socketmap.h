/*
 * socketmap.h - mtasts-socketmap, MTA-STS (RFC 8461) for Postfix as a
 * socketmap server for smtp_tls_policy_maps: shared declarations.
 *
 * main.c	options, logging, signals, the event loop
 * listen.c	TCP and unix-domain listeners, the connection limit
 * conn.c	one client: netstring framing, pipelined requests in
 *		order, deadlines, backpressure
 * answer.c	a policy decision as a socketmap reply; the answer memo
 * netstring.c	the netstring reader (fuzzed)
 * request.c	"NAME KEY" and the policy domain in KEY (fuzzed)
 * metrics.c	GET /metrics (-M), answers and latency counted
 */
#ifndef SOCKETMAP_H
#define SOCKETMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct evconnlistener;
struct mtasts_ctx;
struct mtasts_result;

/* Largest request, the netstring's data ("NAME KEY").  Postfix keys
 * are host names or "[host]:port": well under this. */
#define SM_REQUEST_MAX		1024
/* Requests of one connection waiting for their answers; past this the
 * connection is not read until answers went out. */
#define SM_INFLIGHT_MAX		128
/* Answers queued for a client that does not read; past this the
 * connection is not read. */
#define SM_OUTPUT_MAX		(256 * 1024)
/* A client silent this long is disconnected (Postfix reconnects). */
#define SM_IDLE_SECONDS		300
/* A client that does not take our answers this long is disconnected. */
#define SM_WRITE_SECONDS	60

struct sm_env {
	struct event_base	*base;
	struct mtasts_ctx	*mtasts;
	unsigned int		 deadline;	/* per request, seconds */
	unsigned int		 memo_ttl;	/* seconds, 0: no memo */
	size_t			 conns_max;
	size_t			 nconns;
	int			 verbose;
	int			 foreground;
};

extern struct sm_env	env;

/* main.c */
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* listen.c: "ADDR:PORT", "[ADDR6]:PORT" or a unix socket path. */
void	listen_tcp(const char *spec);
void	listen_unix(const char *path);
void	listen_free(void);

/* conn.c */
void	conn_accept(int fd, const char *peer);
void	conn_shutdown(void);

/* answer.c: the reply text for a decision (malloc'd, caller frees),
 * and the memo of recent replies per domain. */
char	*answer_from_result(const struct mtasts_result *res, size_t *len);
const char *answer_memo_get(const char *domain, size_t *len);
void	 answer_memo_put(const char *domain, const struct mtasts_result *,
	    const char *reply, size_t len);
void	 answer_memo_sweep(void);
void	 answer_memo_free(void);

/* metrics.c: count an answer sent to a request that arrived at t0
 * (metrics_now(), 0: answered at once); serve GET /metrics. */
int64_t	 metrics_now(void);
void	 metrics_answer(const char *reply, size_t len, int64_t t0);
void	 metrics_http_start(const char *spec);
void	 metrics_http_free(void);

#endif /* SOCKETMAP_H */
