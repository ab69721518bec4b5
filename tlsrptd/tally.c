/*
 * tally.c - sessions summed in memory between writes to the results
 * store.  A busy Postfix sends thousands of datagrams a second, nearly
 * all alike ("success" for the same few domains); one store write per
 * distinct session a second, with its count, keeps the store's lock
 * free for the other adapters and the collector ahead of its senders.
 * What a crash loses is at most the last second's sums.
 *
 * Bounded: at most TALLY_KEYS_MAX distinct sessions and TALLY_BYTES_MAX
 * bytes of keys and policy texts; tally_add() says when it is full and
 * the caller writes the sums out first.  Sums the store does not take
 * (unavailable, its lock held too long) are kept for the next flush, so
 * an outage of the store loses nothing until the tally is full.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "tlsrptd.h"

#define TALLY_SLOTS	(2 * TALLY_KEYS_MAX)	/* open addressing */
#define TALLY_FIELDS	7

/* One distinct session: its fields, NUL-separated, then the policy's
 * text, in key[]; they are its identity. */
struct tally_entry {
	uint64_t	 hash;
	uint64_t	 count;
	size_t		 len;		/* of key[] */
	size_t		 text_len;
	size_t		 slot;		/* in slots[] */
	char		 key[];
};

#ifdef MTASTS_ALLOC_TEST
/* The tests' allocation failures (tlsrptd.h). */
void	*(*tally_malloc)(size_t) = malloc;
#else
#define tally_malloc	malloc
#endif

/* Sessions one datagram may add: what tally_add undoes on failure. */
#define TALLY_DGRAM_MAX	(DGRAM_POLICIES_MAX * (DGRAM_FAILURES_MAX + 1))

struct tally {
	struct mtasts_ctx	*ctx;
	struct tally_entry	*slots[TALLY_SLOTS];
	struct tally_entry	*order[TALLY_KEYS_MAX];	/* for the flush */
	size_t			 n;
	size_t			 bytes;
	char			*scratch;	/* one key being built */
	size_t			 scratch_size;
	/* The datagram being added: entries counted up, to undo. */
	struct tally_entry	*bumped[TALLY_DGRAM_MAX];
	size_t			 nbumped;
};

struct tally *
tally_new(struct mtasts_ctx *ctx)
{
	struct tally	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->ctx = ctx;
	t->scratch_size = DGRAM_MAX + TALLY_FIELDS * 2 * DGRAM_STRING_MAX;
	if ((t->scratch = malloc(t->scratch_size)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

static void
tally_clear(struct tally *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		free(t->order[i]);
	memset(t->slots, 0, sizeof(t->slots));
	t->n = 0;
	t->bytes = 0;
}

/* Keep order[from..n) only, the rest being freed already. */
static void
tally_keep(struct tally *t, size_t from)
{
	struct tally_entry	*e;
	size_t			 i, k, n = t->n;

	memset(t->slots, 0, sizeof(t->slots));
	t->n = 0;
	t->bytes = 0;
	for (i = from; i < n; i++) {
		e = t->order[i];
		for (k = e->hash % TALLY_SLOTS; t->slots[k] != NULL;
		    k = (k + 1) % TALLY_SLOTS)
			;
		t->slots[k] = e;
		e->slot = k;
		t->order[t->n++] = e;
		t->bytes += e->len;
	}
}

void
tally_free(struct tally *t)
{
	if (t == NULL)
		return;
	tally_clear(t);
	free(t->scratch);
	free(t);
}

size_t
tally_pending(const struct tally *t)
{
	return t->n;
}

/* FNV-1a, 64 bits: keys are ours, built from checked fields; a crafted
 * collision only makes one probe sequence longer, and it is bounded by
 * the table. */
static uint64_t
tally_hash(const char *p, size_t len)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The key of one session into the scratch buffer; its length. */
static size_t
tally_key(struct tally *t, const struct dgram *dg,
    const struct dgram_policy *pol, const char *result,
    const struct dgram_failure *f, size_t *text_len)
{
	const char	*v[TALLY_FIELDS];
	size_t		 i, n = 0, l;

	v[0] = dg->domain;
	v[1] = pol->type_name;
	v[2] = result;
	v[3] = f != NULL ? f->mx : NULL;
	v[4] = f != NULL ? f->ip : NULL;
	v[5] = f != NULL ? f->sending_ip : NULL;
	v[6] = f != NULL ? f->helo : NULL;
	for (i = 0; i < TALLY_FIELDS; i++) {
		l = v[i] != NULL ? strlen(v[i]) : 0;
		memcpy(t->scratch + n, v[i] != NULL ? v[i] : "", l);
		n += l;
		t->scratch[n++] = '\0';
	}
	*text_len = pol->text != NULL ? pol->text_len : 0;
	if (*text_len > 0)
		memcpy(t->scratch + n, pol->text, *text_len);
	return n + *text_len;
}

/* Find or make the entry of the key in scratch; count it when add. */
static int
tally_put(struct tally *t, size_t len, size_t text_len, int add)
{
	struct tally_entry	*e;
	uint64_t		 h = tally_hash(t->scratch, len);
	size_t			 i;

	for (i = h % TALLY_SLOTS; (e = t->slots[i]) != NULL;
	    i = (i + 1) % TALLY_SLOTS)
		if (e->hash == h && e->len == len &&
		    memcmp(e->key, t->scratch, len) == 0) {
			if (add) {
				if (t->nbumped == TALLY_DGRAM_MAX)
					return -1;
				e->count++;
				t->bumped[t->nbumped++] = e;
			}
			return 0;
		}
	if (!add)
		return 1;	/* a new one would be needed */
	if (t->n == TALLY_KEYS_MAX || t->bytes + len > TALLY_BYTES_MAX ||
	    (e = tally_malloc(sizeof(*e) + len)) == NULL)
		return -1;
	e->hash = h;
	e->count = 1;
	e->len = len;
	e->text_len = text_len;
	e->slot = i;
	memcpy(e->key, t->scratch, len);
	t->slots[i] = e;
	t->order[t->n++] = e;
	t->bytes += len;
	return 0;
}

/*
 * One datagram's sessions (RFC 8460 §4.2: a session is one attempt to
 * one MX).  libtlsrpt sends one policy per attempt in practice
 * (Postfix: one datagram per TLS handshake); each policy block counts
 * as one session:
 *   - each failure-details entry: one failed session of its type, with
 *     its MX host, addresses and EHLO name;
 *   - "f":0 (success): one successful session (no MX: libtlsrpt sends
 *     none for a success);
 *   - "f":1 with no failure-details: one failed session of unknown
 *     cause, "validation-failure" (§4.3.2.3: "a general failure for a
 *     reason not matching a category above").
 * The first pass only checks that everything fits, so that a datagram
 * is counted whole or not at all.
 */
static int
tally_walk(struct tally *t, const struct dgram *dg, int add, size_t *need,
    size_t *bytes)
{
	const struct dgram_policy	*pol;
	size_t				 i, j, len, tl;
	int				 r;

	for (i = 0; i < dg->npolicies; i++) {
		pol = &dg->policies[i];
		for (j = 0; j <= pol->nfailures; j++) {
			if (j == pol->nfailures && pol->nfailures > 0 &&
			    pol->failed)
				break;
			if (j < pol->nfailures)
				len = tally_key(t, dg, pol,
				    pol->failures[j].result, &pol->failures[j],
				    &tl);
			else
				len = tally_key(t, dg, pol, pol->failed ?
				    "validation-failure" : "success", NULL,
				    &tl);
			if ((r = tally_put(t, len, tl, add)) == -1)
				return -1;
			if (r == 1) {
				(*need)++;
				*bytes += len;
			}
		}
	}
	return 0;
}

/* Undo what the datagram being added did: its counts, then its new
 * entries, newest first (removing the latest insertions of a linear
 * probe table leaves every older entry's probe chain whole). */
static void
tally_undo(struct tally *t, size_t n0, size_t bytes0)
{
	struct tally_entry	*e;

	while (t->nbumped > 0)
		t->bumped[--t->nbumped]->count--;
	while (t->n > n0) {
		e = t->order[--t->n];
		t->slots[e->slot] = NULL;
		free(e);
	}
	t->bytes = bytes0;
}

int
tally_add(struct tally *t, const struct dgram *dg)
{
	size_t	 need = 0, bytes = 0, n0 = t->n, bytes0 = t->bytes;

	(void)tally_walk(t, dg, 0, &need, &bytes);
	if (t->n + need > TALLY_KEYS_MAX || t->bytes + bytes > TALLY_BYTES_MAX)
		return -1;
	/* Whole or not at all: an allocation failing half way must not
	 * leave some sessions counted (they would be counted again when
	 * the caller retries after a flush, or reported lost). */
	t->nbumped = 0;
	if (tally_walk(t, dg, 1, &need, &bytes) == -1) {
		tally_undo(t, n0, bytes0);
		return -1;
	}
	t->nbumped = 0;
	return 0;
}

int
tally_flush(struct tally *t, struct tally_stats *st)
{
	struct mtasts_tls_tally	 x;
	struct tally_entry	*e;
	const char		*f[TALLY_FIELDS], *p;
	char			 err[MTASTS_ERRLEN];
	size_t			 i, k;
	int			 r;

	for (i = 0; i < t->n; i++) {
		e = t->order[i];
		for (p = e->key, k = 0; k < TALLY_FIELDS; k++) {
			f[k] = p;
			p += strlen(p) + 1;
		}
		memset(&x, 0, sizeof(x));
		x.domain = f[0];
		x.policy_type = f[1];
		x.result = f[2];
		x.mx = f[3];
		x.ip = f[4];
		x.sending_ip = f[5];
		x.helo = f[6];
		x.policy_text = e->text_len > 0 ? p : NULL;
		x.policy_len = e->text_len;
		x.count = e->count;
		r = mtasts_tls_result_add(t->ctx, &x, err, sizeof(err));
		if (r == MTASTS_OK)
			st->sessions += e->count;
		else if (r == MTASTS_EPARSE) {
			st->refused += e->count;
			log_rate(LR_MALFORMED, "%s: %llu sessions refused: %s",
			    f[0], (unsigned long long)e->count, err);
		} else {
			/* The store, not this entry: the rest waits too
			 * (each try may wait for the store's lock). */
			log_rate(LR_STORE, "%s: %llu sessions not counted "
			    "yet, kept for the next write: %s", f[0],
			    (unsigned long long)e->count, err);
			tally_keep(t, i);
			return -1;
		}
		free(e);
	}
	t->n = 0;
	tally_clear(t);
	return 0;
}
