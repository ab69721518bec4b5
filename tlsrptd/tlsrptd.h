/*
 * tlsrptd.h - mtasts-tlsrptd, the collector for the datagrams
 * libtlsrpt sends (Postfix 3.10 smtp_tlsrpt_socket_name): shared
 * declarations.
 *
 * main.c	options, logging, signals, the event loop, the socket
 * dgram.c	one datagram parsed and checked (fuzzed)
 * tally.c	sessions summed in memory, written to the results store
 *		once a second through mtasts_tls_result_add()
 */
#ifndef TLSRPTD_H
#define TLSRPTD_H

#include <stddef.h>
#include <stdint.h>

struct mtasts_ctx;

/*
 * The datagram format is libtlsrpt's (0.5.0rc1 in Debian 13, and 0.5.x
 * upstream): one JSON object per delivery attempt,
 *
 *   {"dpv": "1","d": DOMAIN,"pr": TLSRPT-RECORD,"policies":[{
 *     "policy-type":N,"policy-domain": D,"policy-string":[...],
 *     "mx-host":[...],"failure-details":[{"c":N,"s": SENDING-IP,
 *     "n": MX-HOST,"h": EHLO-REPLY,"r": MX-IP,"a": INFO,"f": REASON}],
 *     "t":FAILURES,"f":FINAL}]}
 *
 * "dpv" (datagram protocol version "1") is absent before 0.5.0; any
 * other version is refused.  Strings are JSON with bytes >= 0x80 raw.
 */

/* Largest datagram taken; a longer one is refused whole (MSG_TRUNC).
 * An MTA-STS policy is at most 64 KB (MTASTS_POLICY_MAX), and the
 * datagram quotes its lines and mx patterns. */
#define DGRAM_MAX		(128 * 1024)
#define DGRAM_POLICIES_MAX	8	/* libtlsrpt: one per policy applied */
#define DGRAM_STRINGS_MAX	1024	/* policy-string per policy */
#define DGRAM_MX_MAX		1024	/* mx-host per policy */
#define DGRAM_FAILURES_MAX	64	/* failure-details per policy */
#define DGRAM_STRING_MAX	8192	/* one decoded string */
/* One policy-string: a TLSA record of a full certificate ("3 0 0" and
 * its hex) passes 8 KB; all of them together stay within the store's
 * MTASTS_POLICY_MAX anyway. */
#define DGRAM_PSTRING_MAX	(MTASTS_POLICY_MAX - 1)

/* libtlsrpt's tlsrpt_policy_type_t */
#define DGRAM_POLICY_TLSA	1
#define DGRAM_POLICY_STS	2
#define DGRAM_POLICY_NONE	9

enum dgram_status {
	DGRAM_OK = 0,
	DGRAM_EMALFORMED,	/* not libtlsrpt's format */
	DGRAM_EVERSION,		/* a "dpv" we do not know */
};

struct dgram_str {
	char		*p;		/* NUL-terminated, in the arena */
	size_t		 len;
};

struct dgram_failure {
	const char	*result;	/* RFC 8460 §4.3 result type */
	const char	*sending_ip;	/* "s", or NULL */
	const char	*mx;		/* "n", or NULL */
	const char	*helo;		/* host name from "h", or NULL */
	const char	*ip;		/* "r", or NULL */
};

struct dgram_policy {
	int		 type;		/* DGRAM_POLICY_* */
	const char	*type_name;	/* "tlsa", "sts", "no-policy-found" */
	const char	*domain;	/* "policy-domain", or NULL */
	struct dgram_str strings[DGRAM_STRINGS_MAX];
	size_t		 nstrings;
	size_t		 nmx;		/* "mx-host": checked, not kept */
	struct dgram_failure failures[DGRAM_FAILURES_MAX];
	size_t		 nfailures;
	int		 failed;	/* "f": 1 if the session failed */
	const char	*text;		/* strings joined by '\n', or NULL */
	size_t		 text_len;
};

struct dgram {
	int		 version;	/* 0: no "dpv" (0.5.0rc1); 1 */
	const char	*domain;	/* "d": the TLSRPT policy domain */
	struct dgram_policy policies[DGRAM_POLICIES_MAX];
	size_t		 npolicies;
	char		 why[160];	/* on error: where and why */
	char		*arena;		/* decoded strings */
	size_t		 used, size;
};

/* Parse one datagram p[0..len) into dg, whose arena must hold 2 * len
 * + 64 bytes (strings, then the policy texts).  DGRAM_OK, or an error
 * with dg->why naming the offset and the reason. */
int	dgram_parse(struct dgram *dg, const char *p, size_t len);
/* The arena size dgram_parse() needs for a datagram of len bytes. */
#define DGRAM_ARENA(len)	(2 * (len) + 64)

/* Sessions summed by (domain, policy, result, mx, ip, sending ip,
 * helo) until the next flush. */
#define TALLY_KEYS_MAX		4096	/* distinct sessions per flush */
#define TALLY_BYTES_MAX		(8 * 1024 * 1024)	/* their text */

struct tally;
struct tally_stats {
	uint64_t	 sessions;	/* counted in the store */
	uint64_t	 lost;		/* not counted: no room (main.c) */
	uint64_t	 refused;	/* bad field (EPARSE) */
};

struct tally	*tally_new(struct mtasts_ctx *ctx);
void		 tally_free(struct tally *t);
/* Add one datagram's sessions: 0, or -1 if they cannot be held (then
 * flush and try again, or drop it). */
int		 tally_add(struct tally *t, const struct dgram *dg);
/* Write the sums to the results store and forget them: 0; or -1 when
 * the store failed, the sums it did not take being kept. */
int		 tally_flush(struct tally *t, struct tally_stats *st);
size_t		 tally_pending(const struct tally *t);

#ifdef MTASTS_ALLOC_TEST
/* The allocator of new tally entries, for the tests (ASan builds). */
extern void	*(*tally_malloc)(size_t);
#endif

/* main.c: logging, rate-limited per kind. */
enum lograte_kind {
	LR_MALFORMED,
	LR_VERSION,
	LR_OVERSIZED,
	LR_STORE,
	LR_RECV,
	LR_COUNT
};
void	log_rate(enum lograte_kind, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif /* TLSRPTD_H */
