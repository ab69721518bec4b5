/*
 * fuzz_tlsrpt.c - the _smtp._tls TXT record (RFC 8460 §3).
 *
 * The whole input is one record for mtasts_tlsrpt_parse(); then it is
 * split on LF into an RRset (each RR in its own allocation) for
 * mtasts_tlsrpt_select().  On success there is at least one rua URI,
 * each a mailto: or https: URI without separators (D22); on error there
 * is no object and a non-empty message.  select agrees with a reference
 * count of the D2 rule and with parsing the selected RR alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mtasts.h>

#define FUZZ_SEP	'\n'	/* a record cannot contain it anyway */
#define FUZZ_RR_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* D2: "v=TLSRPTv1", optional WSP, then ";" or the end. */
static int
fuzz_is_tlsrpt(const char *p, size_t len)
{
	size_t i;

	if (len < 10 || memcmp(p, "v=TLSRPTv1", 10) != 0)
		return 0;
	for (i = 10; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i == len || p[i] == ';';
}

static void
fuzz_check(int r, const struct mtasts_tlsrpt *t, const char *err)
{
	size_t i, n;
	const char *u, *w;

	if (r != MTASTS_OK) {
		if (t != NULL || err[0] == '\0')
			abort();
		return;
	}
	if (t == NULL || (n = mtasts_tlsrpt_rua_count(t)) == 0 ||
	    mtasts_tlsrpt_rua(t, n) != NULL ||
	    mtasts_tlsrpt_warning(t, mtasts_tlsrpt_warning_count(t)) != NULL)
		abort();
	for (i = 0; i < n; i++) {
		if ((u = mtasts_tlsrpt_rua(t, i)) == NULL ||
		    (strncasecmp(u, "mailto:", 7) == 0 ?
		    strchr(u, '@') == NULL :
		    strncasecmp(u, "https://", 8) != 0) ||
		    strpbrk(u, ",;! \t") != NULL)
			abort();
	}
	for (i = 0; i < mtasts_tlsrpt_warning_count(t); i++)
		if ((w = mtasts_tlsrpt_warning(t, i)) == NULL || w[0] == '\0')
			abort();
}

/* Both answers are the same: status and rua lists. */
static void
fuzz_same(int r1, const struct mtasts_tlsrpt *t1, int r2,
    const struct mtasts_tlsrpt *t2)
{
	size_t i, n = mtasts_tlsrpt_rua_count(t1);

	if (r1 != r2 || n != mtasts_tlsrpt_rua_count(t2))
		abort();
	for (i = 0; i < n; i++)
		if (strcmp(mtasts_tlsrpt_rua(t1, i),
		    mtasts_tlsrpt_rua(t2, i)) != 0)
			abort();
}

static void
fuzz_select(const uint8_t *data, size_t size)
{
	struct mtasts_rr rrs[FUZZ_RR_MAX];
	struct mtasts_tlsrpt *t, *t1;
	char *buf[FUZZ_RR_MAX], err[MTASTS_ERRLEN];
	const uint8_t *p = data, *end = data + size, *sep;
	size_t n = 0, i, nkind = 0, which = 0;
	int r, r1;

	while (n < FUZZ_RR_MAX) {
		sep = memchr(p, FUZZ_SEP, (size_t)(end - p));
		rrs[n].len = (size_t)((sep ? sep : end) - p);
		/* Exact size: a read past the RR is a heap overflow. */
		if ((buf[n] = malloc(rrs[n].len)) == NULL && rrs[n].len > 0)
			abort();
		if (rrs[n].len > 0)
			memcpy(buf[n], p, rrs[n].len);
		rrs[n].data = buf[n];
		if (fuzz_is_tlsrpt(rrs[n].data, rrs[n].len)) {
			nkind++;
			which = n;
		}
		n++;
		if (sep == NULL)
			break;
		p = sep + 1;
	}

	err[0] = '\0';
	r = mtasts_tlsrpt_select(rrs, n, &t, err, sizeof(err));
	if (nkind == 0 && r != MTASTS_ENORECORD)
		abort();
	if (nkind > 1 && r != MTASTS_EMULTIPLE)
		abort();
	fuzz_check(r, t, err);
	if (nkind == 1) {
		r1 = mtasts_tlsrpt_parse(rrs[which].data, rrs[which].len, &t1,
		    NULL, 0);
		fuzz_same(r, t, r1, t1);
		mtasts_tlsrpt_free(t1);
	}
	mtasts_tlsrpt_free(t);

	for (i = 0; i < n; i++)
		free(buf[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_tlsrpt *t, *t2;
	char err[MTASTS_ERRLEN], *small;
	int r, r2;

	err[0] = '\0';
	r = mtasts_tlsrpt_parse((const char *)data, size, &t, err,
	    sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	fuzz_check(r, t, err);

	/* A tiny error buffer changes nothing but the message. */
	if ((small = malloc(3)) == NULL)
		abort();
	memset(small, 'X', 3);
	r2 = mtasts_tlsrpt_parse((const char *)data, size, &t2, small, 3);
	if (r2 != MTASTS_OK && memchr(small, '\0', 3) == NULL)
		abort();
	fuzz_same(r, t, r2, t2);
	free(small);
	mtasts_tlsrpt_free(t2);
	mtasts_tlsrpt_free(t);

	fuzz_select(data, size);
	return 0;
}
