/*
 * fuzz_tlsrptd.c - mtasts-tlsrptd's reader of hostile datagrams:
 * tlsrptd/dgram.c on any bytes, then tlsrptd/tally.c on what it
 * accepts (no store: the flush's writes fail and the sums are kept).
 * Properties:
 *  - a known status; an error comes with a reason;
 *  - an accepted datagram has a normalised domain, 1 to 8 policies of
 *    a known type, at most 64 failures each, each a RFC 8460 §4.3
 *    result its policy type can have, addresses that parse, EHLO and
 *    MX names that are normalised; the policy text is its strings
 *    joined by LF, none of them holding a control byte;
 *  - the arena is never used past its size, and parsing the same
 *    bytes again gives the same answer;
 *  - the tally holds what it took; a flush the store refuses keeps
 *    every sum.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"

#include "../../tlsrptd/tlsrptd.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void
log_rate(enum lograte_kind kind, const char *fmt, ...)
{
	(void)kind;
	(void)fmt;
}

static void
fuzz_name(const char *s)
{
	char	 d[MTASTS_DOMAIN_MAX + 1];

	if (s == NULL)
		return;
	if (mtasts_domain_normalize(s, strlen(s), d, sizeof(d), NULL, 0) !=
	    MTASTS_OK || strcmp(d, s) != 0)
		abort();
}

static void
fuzz_ip(const char *s)
{
	unsigned char	 a[16];

	if (s != NULL && inet_pton(AF_INET, s, a) != 1 &&
	    inet_pton(AF_INET6, s, a) != 1)
		abort();
}

static void
fuzz_policy(const struct dgram_policy *p)
{
	const struct dgram_failure	*f;
	size_t				 i, n = 0;

	if (p->type_name == NULL || p->nfailures > DGRAM_FAILURES_MAX ||
	    p->nstrings > DGRAM_STRINGS_MAX)
		abort();
	fuzz_name(p->domain);
	for (i = 0; i < p->nfailures; i++) {
		f = &p->failures[i];
		if (!mtasts_tls_result_type_valid(f->result) ||
		    strcmp(f->result, "success") == 0 ||
		    (strcmp(p->type_name, "sts") != 0 &&
		    strncmp(f->result, "sts-", 4) == 0))
			abort();
		fuzz_name(f->mx);
		fuzz_name(f->helo);
		fuzz_ip(f->ip);
		fuzz_ip(f->sending_ip);
	}
	for (i = 0; i < p->nstrings; i++) {
		if (strlen(p->strings[i].p) != p->strings[i].len ||
		    memchr(p->strings[i].p, '\n', p->strings[i].len) != NULL)
			abort();
		n += p->strings[i].len + (i > 0);
	}
	if (p->text != NULL && (p->text_len != n ||
	    strlen(p->text) != p->text_len))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dgram	*dg;
	static struct tally	*t;
	static unsigned int	 runs;
	struct tally_stats	 st;
	char			*p, why[sizeof(dg->why)];
	size_t			 i, used;
	int			 r;

	if (size > DGRAM_MAX)
		return 0;
	if (dg == NULL) {
		if ((dg = calloc(1, sizeof(*dg))) == NULL ||
		    (t = tally_new(NULL)) == NULL)
			abort();
	}
	/* Exact sizes: a read or write past either end is caught. */
	if ((p = malloc(size > 0 ? size : 1)) == NULL ||
	    (dg->arena = malloc(DGRAM_ARENA(size))) == NULL)
		abort();
	memcpy(p, data, size);
	dg->size = DGRAM_ARENA(size);
	r = dgram_parse(dg, p, size);
	if (dg->used > dg->size)
		abort();
	if (r != DGRAM_OK) {
		if ((r != DGRAM_EMALFORMED && r != DGRAM_EVERSION) ||
		    dg->why[0] == '\0')
			abort();
	} else {
		if (dg->domain == NULL || dg->npolicies == 0 ||
		    dg->npolicies > DGRAM_POLICIES_MAX ||
		    (dg->version != 0 && dg->version != 1))
			abort();
		fuzz_name(dg->domain);
		for (i = 0; i < dg->npolicies; i++)
			fuzz_policy(&dg->policies[i]);
		if (tally_add(t, dg) == -1 && tally_pending(t) == 0)
			abort();
	}
	/* The same bytes, the same answer. */
	snprintf(why, sizeof(why), "%s", dg->why);
	used = dg->used;
	if (dgram_parse(dg, p, size) != r || dg->used != used ||
	    strcmp(why, dg->why) != 0)
		abort();
	if (++runs % 64 == 0 || tally_pending(t) > TALLY_KEYS_MAX / 2) {
		memset(&st, 0, sizeof(st));
		used = tally_pending(t);
		if (tally_flush(t, &st) != (used > 0 ? -1 : 0) ||
		    tally_pending(t) != used || st.sessions != 0)
			abort();
		tally_free(t);
		if ((t = tally_new(NULL)) == NULL)
			abort();
	}
	free(dg->arena);
	dg->arena = NULL;
	free(p);
	return 0;
}
