/*
 * socketmap.h - mtasts-socketmap, MTA-STS (RFC 8461) for Postfix as a
 * socketmap server for smtp_tls_policy_maps: shared declarations.
 *
 * main.c	options, logging, signals, the event loop
 * listen.c	TCP and unix-domain listeners, the connection limit
 * conn.c	one client: netstring framing, pipelined requests in
 *		order, deadlines, backpressure
 * answer.c	a policy decision as a socketmap reply; the answer memo
 * attr.c	the policy's part of it, Postfix 3.10 attributes (fuzzed)
 * netstring.c	the netstring reader (fuzzed)
 * request.c	"NAME KEY" and the policy domain in KEY (fuzzed)
 * metrics.c	GET /metrics (-M), answers and latency counted
 */
#ifndef SOCKETMAP_H
#define SOCKETMAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/listener.h>

#include "../adapter/log.h"
#include "../adapter/stop.h"

struct event_base;
struct evconnlistener;
struct mtasts_ctx;
struct mtasts_result;

/* Where Postfix's chrooted smtp(8) can reach it, as
 * socketmap:unix:mtasts/socketmap:postfix (relative to the queue
 * directory); the directory is mode 0750, group postfix. */
#define SM_SOCKET_DEFAULT	"/var/spool/postfix/mtasts/socketmap"

/* Largest request, the netstring's data ("NAME KEY").  Postfix keys
 * are host names or "[host]:port": well under this. */
#define SM_REQUEST_MAX		1024
/* Requests of one connection waiting for their answers; past this the
 * connection is not read until answers went out.  Postfix has one in
 * flight per connection; this is for pipelining clients. */
#define SM_INFLIGHT_MAX		16
/* Answers queued for a client that does not read; past this the
 * connection is not read.  An answer is at most about 1 KB. */
#define SM_OUTPUT_MAX		4096
/* A connection between requests for this long is closed.  Postfix
 * itself drops its idle socketmap connections after 10 s. */
#define SM_IDLE_SECONDS		300
/* A request must be complete this long after its first byte: Postfix
 * writes one at once, so only a stalled or trickling client needs
 * more, and more bytes do not extend it. */
#define SM_REQUEST_SECONDS	10
/* Answers left unsent this long (the client takes none): closed. */
#define SM_WRITE_SECONDS	60
/* When every slot is taken, a connection idle, mid-request or not
 * taking answers for this long may be closed for a new one. */
#define SM_EVICT_MS		1000
/* Policy lookups in progress at once, over all connections, for
 * pipelined requests; past this a request that is not its connection's
 * only one is answered TEMP.  A connection's only request (Postfix
 * asks one at a time) may go up to the hard bound the descriptor limit
 * sets (each lookup may hold sockets). */
#define SM_PENDING_MAX		256
/* The hard bound on lookups, whatever the descriptor limit. */
#define SM_LOOKUPS_MAX		4096
/* SIGTERM: exit within this, whatever is pending. */
#define SM_EXIT_SECONDS		2

struct sm_env {
	struct event_base	*base;
	struct mtasts_ctx	*mtasts;
	unsigned int		 deadline;	/* per request, seconds */
	unsigned int		 memo_ttl;	/* seconds, 0: no memo */
	size_t			 conns_max;
	size_t			 nconns;
	size_t			 pending_max;	/* lookups for pipelined requests */
	size_t			 lookups_max;	/* lookups in all */
	size_t			 npending;	/* lookups in the core */
	size_t			 peak_conns;	/* since the last trim */
	int			 stopping;	/* SIGTERM seen */
	int			 verbose;
	int			 foreground;
	char			 dane_level[16];	/* socketmap_dane */
	int			 tlsrpt;	/* socketmap_tlsrpt */
	char			 tlsrpt_level[16]; /* socketmap_tlsrpt_level */
};

extern struct sm_env	env;

/* log_warnx(), log_info(), log_debug(), fatalx(): adapter/log.c.
 * main.c: */
/* Lines about clients, which a hostile one can make by the thousand:
 * the first few per minute of each kind, then one count. */
enum lograte_kind {
	LR_CONN = 0,		/* refused, evicted, timed out */
	LR_REQUEST,		/* malformed requests and netstrings */
	LR_TEMP,		/* TEMP for a deadline or overload */
	LR_ACCEPT,		/* accept(2) errors */
	LR_COUNT
};
void	log_rate(enum lograte_kind, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_rate_flush(int force);

/* listen.c: "ADDR:PORT", "[ADDR6]:PORT" or a unix socket path. */
struct evconnlistener *listen_bind_tcp(const char *spec, int backlog,
	    evconnlistener_cb cb, const char *opt);
void	listen_tcp(const char *spec);
void	listen_unix(const char *path);
void	listen_free(void);

/* conn.c */
void	conn_accept(int fd, const char *peer);
void	conn_shutdown(void);
void	conn_trim(void);

/* answer.c: the reply text for a decision (malloc'd, caller frees),
 * with TLSRPT attributes or not, and the memo of recent replies per
 * key (the domain, and whether with attributes). */
char	*answer_from_result(const struct mtasts_result *res, int tlsrpt,
	    size_t *len);
const char *answer_memo_get(const char *key, size_t *len);
void	 answer_memo_put(const char *key, const struct mtasts_result *,
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
