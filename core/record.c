/*
 * record.c - the _mta-sts TXT record (RFC 8461 §3.1).
 *
 *	sts-text-record = sts-version 1*(sts-field-delim sts-field)
 *	                  [sts-field-delim]
 *	sts-version     = %s"v=STSv1"
 *	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
 */
#include <string.h>

#include "mtasts.h"
#include "txt.h"
#include "util.h"

#define RECORD_VERSION	"v=STSv1"
#define RECORD_WHAT	"_mta-sts record"

struct record_state {
	char	*id;		/* caller's buffer, MTASTS_ID_MAX + 1 */
	int	 have_id;
};

static int
record_on_field(const char *name, size_t nlen, const char *val, size_t vlen,
    size_t off, void *arg, char *err, size_t errlen)
{
	struct record_state *st = arg;
	size_t i;

	/* Names are case-sensitive (%s"id="): "ID=" is an extension. */
	if (!util_memeq(name, nlen, "id") || st->have_id)
		/* D4: a later id only needs to be a well-formed field. */
		return txt_ext_value_check(name, nlen, val, vlen, off,
		    RECORD_WHAT, err, errlen);
	if (vlen == 0 || vlen > MTASTS_ID_MAX) {
		util_err(err, errlen, "%s: id is %zu characters; it must be "
		    "1 to %d letters or digits", RECORD_WHAT, vlen,
		    MTASTS_ID_MAX);
		return MTASTS_EPARSE;
	}
	for (i = 0; i < vlen; i++)
		if (!UTIL_IS_ALNUM((unsigned char)val[i])) {
			util_err(err, errlen, "%s: id: column %zu: only "
			    "letters and digits are allowed", RECORD_WHAT,
			    off + 4 + i);
			return MTASTS_EPARSE;
		}
	memcpy(st->id, val, vlen);
	st->id[vlen] = '\0';
	st->have_id = 1;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_record_parse(const char *p, size_t len, char *id, char *err,
    size_t errlen)
{
	char tmp[MTASTS_ID_MAX + 1];
	struct record_state st = { tmp, 0 };
	int r;

	if (id != NULL)
		id[0] = '\0';
	r = txt_walk(p, len, RECORD_VERSION, RECORD_WHAT, record_on_field,
	    &st, err, errlen);
	if (r != MTASTS_OK)
		return r;
	if (!st.have_id) {
		util_err(err, errlen, "%s: no \"id=\" field", RECORD_WHAT);
		return MTASTS_EPARSE;
	}
	if (id != NULL)
		memcpy(id, tmp, strlen(tmp) + 1);
	return MTASTS_OK;
}

MTASTS_API int
mtasts_record_select(const struct mtasts_rr *rrs, size_t n, char *id,
    char *err, size_t errlen)
{
	size_t idx = 0;
	int r;

	if (id != NULL)
		id[0] = '\0';
	r = txt_select(rrs, n, RECORD_VERSION, RECORD_WHAT, &idx, err,
	    errlen);
	if (r != MTASTS_OK)
		return r;
	/* §3.1: the one left must be valid, else there is no policy. */
	return mtasts_record_parse(rrs[idx].data, rrs[idx].len, id, err,
	    errlen);
}
