/*
 * fuzz_record.c - the _mta-sts TXT record (RFC 8461 §3.1).
 *
 * The whole input is one record for mtasts_record_parse().  Then it is
 * split on LF into an RRset (each RR in its own allocation, so ASan sees
 * a read past its end) for mtasts_record_select(), whose answer must
 * agree with a reference count of the D2 rule and with parsing the one
 * selected RR alone.  On success the id is 1-32 letters or digits; on
 * error it is empty and the message is non-empty and NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#define FUZZ_SEP	'\n'	/* a record cannot contain it anyway */
#define FUZZ_RR_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* D2: "v=STSv1", optional WSP, then ";" or the end. */
static int
fuzz_is_sts(const char *p, size_t len)
{
	size_t i;

	if (len < 7 || memcmp(p, "v=STSv1", 7) != 0)
		return 0;
	for (i = 7; i < len && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	return i == len || p[i] == ';';
}

static void
fuzz_check_id(int r, const char *id, const char *err)
{
	size_t i, n = strlen(id);

	if (r == MTASTS_OK) {
		if (n == 0 || n > MTASTS_ID_MAX)
			abort();
		for (i = 0; i < n; i++)
			if (!((id[i] >= '0' && id[i] <= '9') ||
			    ((id[i] | 0x20) >= 'a' && (id[i] | 0x20) <= 'z')))
				abort();
		return;
	}
	if (n != 0 || err[0] == '\0')
		abort();
}

/* Parse with a tiny heap error buffer: same status, no overflow. */
static int
fuzz_parse_short_err(const char *p, size_t len, char *id)
{
	char *err;
	int r;

	if ((err = malloc(5)) == NULL)
		abort();
	memset(err, 'X', 5);
	r = mtasts_record_parse(p, len, id, err, 5);
	if (r != MTASTS_OK && memchr(err, '\0', 5) == NULL)
		abort();
	free(err);
	return r;
}

static void
fuzz_select(const uint8_t *data, size_t size)
{
	struct mtasts_rr rrs[FUZZ_RR_MAX];
	char *buf[FUZZ_RR_MAX];
	char id[MTASTS_ID_MAX + 1], id1[MTASTS_ID_MAX + 1];
	char err[MTASTS_ERRLEN];
	const uint8_t *p = data, *end = data + size, *sep;
	size_t n = 0, i, nsts = 0, which = 0;
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
		if (fuzz_is_sts(rrs[n].data, rrs[n].len)) {
			nsts++;
			which = n;
		}
		n++;
		if (sep == NULL)
			break;
		p = sep + 1;
	}

	memset(id, 'x', sizeof(id));
	err[0] = '\0';
	r = mtasts_record_select(rrs, n, id, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if (nsts == 0 && r != MTASTS_ENORECORD)
		abort();
	if (nsts > 1 && r != MTASTS_EMULTIPLE)
		abort();
	if (nsts == 1) {
		r1 = mtasts_record_parse(rrs[which].data, rrs[which].len, id1,
		    NULL, 0);
		if (r != r1 || strcmp(id, id1) != 0)
			abort();
	}
	fuzz_check_id(r, id, err);

	for (i = 0; i < n; i++)
		free(buf[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[MTASTS_ID_MAX + 1], id2[MTASTS_ID_MAX + 1];
	char err[MTASTS_ERRLEN];
	int r;

	memset(id, 'x', sizeof(id));
	err[0] = '\0';
	r = mtasts_record_parse((const char *)data, size, id, err,
	    sizeof(err));
	fuzz_check_id(r, id, err);
	if (fuzz_parse_short_err((const char *)data, size, id2) != r ||
	    strcmp(id, id2) != 0)
		abort();
	/* A NULL id is allowed and must not change the answer. */
	if (mtasts_record_parse((const char *)data, size, NULL, NULL, 0) != r)
		abort();
	fuzz_select(data, size);
	return 0;
}
