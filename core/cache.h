/*
 * cache.h - the policy cache shared by every MTA process on the host:
 * a Berkeley DB 5.3 transactional environment with one B-tree keyed by
 * policy domain (RFC 8461 §3.3, §5.1; checklist A7).
 */
#ifndef MTASTS_CACHE_H
#define MTASTS_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

/* Why the last discovery or fetch failed (TLSRPT result types). */
enum cache_fail {
	CACHE_FAIL_NONE = 0,
	CACHE_FAIL_FETCH,	/* sts-policy-fetch-error (HTTP, timeout) */
	CACHE_FAIL_INVALID,	/* sts-policy-invalid (body did not parse) */
	CACHE_FAIL_WEBPKI,	/* sts-webpki-invalid (certificate) */
	CACHE_FAIL_DNS,		/* temporary DNS failure */
};

struct cache_entry {
	char		 domain[MTASTS_DOMAIN_MAX + 1];	/* the key */
	char		 id[MTASTS_ID_MAX + 1];	/* cached policy's id, "" none */
	char		*text;		/* policy body as fetched, owned, NUL
					 * after text_len; NULL if no policy */
	size_t		 text_len;
	int		 mode;		/* enum mtasts_mode of the policy */
	uint32_t	 max_age;	/* seconds */
	char		**mx;		/* patterns, owned */
	size_t		 nmx;
	int64_t		 fetched_at;	/* last successful fetch, unix time */
	int64_t		 expires_at;	/* fetched_at + max_age (D13) */
	int64_t		 txt_checked_at; /* last TXT lookup, any outcome */
	int64_t		 failed_at;	/* last failure, 0 if none */
	int		 fail_kind;	/* enum cache_fail of the last failure */
	uint32_t	 fail_count;	/* consecutive failures */
	char		 failed_id[MTASTS_ID_MAX + 1]; /* id whose fetch failed */
	int64_t		 next_fetch_at;	/* §3.3: no fetch of failed_id before */
	int64_t		 lease_until;	/* a process is fetching until then */
	uint32_t	 lease_pid;	/* ... and this is its pid */
};

struct cache;

#define CACHE_RDONLY	0x1	/* never write (still joins the env) */

/* Open (creating if needed) the cache in dir; it is attached, and
 * repaired if it must be, at once and again by each call as needed
 * (cache.c: a killed process, damaged regions, a corrupt database).
 * Fails only if dir cannot be made or is not a directory: a cache that
 * cannot be written is still read.  Files are created mode 0660 so a
 * group can share them.  After a fork, the calls below notice the new
 * pid and attach afresh.  Each call below takes the cache lock: they
 * wait at most 3 s for it, and fail (logged) rather than longer. */
int	cache_open(const char *dir, int flags, struct cache **out, char *err,
	    size_t errlen);
void	cache_close(struct cache *c);

/* MTASTS_OK and *e filled (caller clears it with cache_entry_clear), or
 * MTASTS_ENORECORD if the domain has no entry.  Never blocks for long. */
int	cache_get(struct cache *c, const char *domain, struct cache_entry *e);
/* Insert or replace, in one transaction. */
int	cache_put(struct cache *c, const struct cache_entry *e);
int	cache_del(struct cache *c, const char *domain);

/* Read-modify-write in one transaction (DB_RMW): fn gets the current
 * entry (exists = 0 and a zeroed entry with the domain set, if none) and
 * returns 1 to write it back, 0 to leave it, or a negative MTASTS_* code
 * to abort.  Used for the per-id retry limit and fetch leases, which all
 * processes share. */
typedef int (*cache_update_fn)(struct cache_entry *e, int exists,
    void *arg);
int	cache_update(struct cache *c, const char *domain, cache_update_fn fn,
	    void *arg);

/* Call fn for each entry in key order; fn returns nonzero to stop. */
int	cache_foreach(struct cache *c,
	    int (*fn)(const struct cache_entry *e, void *arg), void *arg);

struct cache_stats {
	uint64_t	entries;
	uint64_t	bytes;		/* database file size */
	uint64_t	log_files;	/* transaction logs on disk */
};
int	cache_stats(struct cache *c, struct cache_stats *st);

/* Serialisation, exposed for tests and the fuzzer: an entry <-> bytes.
 * cache_decode treats its input as hostile. */
int	cache_encode(const struct cache_entry *e, unsigned char **out,
	    size_t *len);
int	cache_decode(const unsigned char *p, size_t len,
	    struct cache_entry *e);

/* TLS result counters (results.db): add n to key's count; walk them. */
int	cache_counter_add(struct cache *c, const void *key, size_t len,
	    uint64_t n);
/* ... and the count after the addition in *total (fleet mode pushes
 * it: shared_tls.c). */
int	cache_counter_add_get(struct cache *c, const void *key, size_t len,
	    uint64_t n, uint64_t *total);
int	cache_counter_foreach(struct cache *c,
	    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
	    void *arg);

/* The same from the first key after start (len bytes): a range walk,
 * fn stops it when the keys leave the range. */
int	cache_counter_foreach_from(struct cache *c, const void *start,
	    size_t len, int (*fn)(const char *key, size_t len, uint64_t n,
	    void *arg), void *arg);

/* Delete the counters of days before "YYYY-MM-DD" (cache_purge.c). */
int	cache_counter_purge(struct cache *c, const char *before,
	    uint64_t *removed);

/* Notes in results.db: val stored under key unless there already
 * (put), or replacing what is there (set); read back into a
 * NUL-terminated copy the caller frees (util_free). */
int	cache_note_put(struct cache *c, const void *key, size_t klen,
	    const void *val, size_t vlen);
int	cache_note_set(struct cache *c, const void *key, size_t klen,
	    const void *val, size_t vlen);
int	cache_note_get(struct cache *c, const void *key, size_t klen,
	    char **val, size_t *vlen);

void	cache_entry_clear(struct cache_entry *e);
int	cache_entry_copy(struct cache_entry *dst,
	    const struct cache_entry *src);

#endif /* MTASTS_CACHE_H */
