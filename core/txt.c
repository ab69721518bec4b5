/*
 * txt.c - the skeleton of the _mta-sts and _smtp._tls TXT records:
 *
 *	record      = version 1*(field-delim field) [field-delim]
 *	field-delim = *WSP ";" *WSP
 *	field       = name "=" value
 *	name        = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *
 * (RFC 8461 §3.1, RFC 8460 §3).  The meaning of each value is the
 * caller's; the record must be US-ASCII without control characters
 * other than HTAB (RFC 8461 §3.1, checklist A1.4).
 */
#include <string.h>

#include "mtasts.h"
#include "txt.h"
#include "util.h"

/* At most 32 characters, RFC 8461 §3.1 sts-ext-name. */
#define TXT_NAME_MAX	32

static int
txt_check_bytes(const char *p, size_t len, const char *what, char *err,
    size_t errlen)
{
	char q[8];
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c >= 0x20 && c < 0x7f) || c == '\t')
			continue;
		util_quote(q, sizeof(q), p + i, 1);
		util_err(err, errlen, "%s: %s byte %s at column %zu", what,
		    c >= 0x80 ? "non-ASCII" : "control", q, i + 1);
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

/* Length of the field name at p, or 0 if none; *toolong if > 32. */
static size_t
txt_name_len(const char *p, size_t len, int *toolong)
{
	size_t i;

	*toolong = 0;
	if (len == 0 || !UTIL_IS_ALNUM((unsigned char)p[0]))
		return 0;
	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!UTIL_IS_ALNUM(c) && c != '_' && c != '-' && c != '.')
			break;
	}
	if (i > TXT_NAME_MAX)
		*toolong = 1;
	return i;
}

/* One "name=value" field at p[*pos]; advances *pos past the value. */
static int
txt_field(const char *p, size_t len, size_t *pos, const char *what,
    txt_field_cb cb, void *arg, char *err, size_t errlen)
{
	size_t start = *pos, nlen, vstart, vend;
	int toolong;

	nlen = txt_name_len(p + start, len - start, &toolong);
	if (nlen == 0) {
		util_err(err, errlen, "%s: column %zu: expected a field name "
		    "(a letter or digit)", what, start + 1);
		return MTASTS_EPARSE;
	}
	if (toolong) {
		util_err(err, errlen, "%s: column %zu: field name longer "
		    "than %d characters", what, start + 1, TXT_NAME_MAX);
		return MTASTS_EPARSE;
	}
	if (start + nlen == len || p[start + nlen] != '=') {
		util_err(err, errlen, "%s: column %zu: expected '=' right "
		    "after the field name", what, start + nlen + 1);
		return MTASTS_EPARSE;
	}
	vstart = start + nlen + 1;
	for (vend = vstart; vend < len && p[vend] != ';'; vend++)
		;
	if (vend == len && vend > vstart && UTIL_IS_WSP(p[vend - 1])) {
		/* D3: trailing WSP only as part of a final ";" delimiter. */
		util_err(err, errlen, "%s: trailing whitespace without a "
		    "final ';'", what);
		return MTASTS_EPARSE;
	}
	while (vend > vstart && UTIL_IS_WSP(p[vend - 1]))
		vend--;		/* part of the next field-delim */
	*pos = vend;
	return cb(p + start, nlen, p + vstart, vend - vstart, start, arg, err,
	    errlen);
}

int
txt_walk(const char *p, size_t len, const char *version, const char *what,
    txt_field_cb cb, void *arg, char *err, size_t errlen)
{
	size_t pos, vlen = strlen(version), nfields = 0;
	int r;

	if (p == NULL || len == 0) {
		util_err(err, errlen, "%s: empty record", what);
		return MTASTS_EPARSE;
	}
	if ((r = txt_check_bytes(p, len, what, err, errlen)) != MTASTS_OK)
		return r;
	if (len < vlen || memcmp(p, version, vlen) != 0) {
		util_err(err, errlen, "%s: does not begin with \"%s\"", what,
		    version);
		return MTASTS_EPARSE;
	}
	for (pos = vlen; pos < len; ) {
		while (pos < len && UTIL_IS_WSP(p[pos]))
			pos++;
		if (pos == len) {
			util_err(err, errlen, "%s: trailing whitespace "
			    "without a final ';'", what);
			return MTASTS_EPARSE;
		}
		if (p[pos] != ';') {
			util_err(err, errlen, "%s: column %zu: expected ';'",
			    what, pos + 1);
			return MTASTS_EPARSE;
		}
		pos++;
		while (pos < len && UTIL_IS_WSP(p[pos]))
			pos++;
		if (pos == len)
			break;		/* the optional final delimiter */
		r = txt_field(p, len, &pos, what, cb, arg, err, errlen);
		if (r != MTASTS_OK)
			return r;
		nfields++;
	}
	if (nfields == 0) {
		util_err(err, errlen, "%s: no field after \"%s\"", what,
		    version);
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

/*
 * ext-value = 1*(%x21-3A / %x3C / %x3E-7E): no SP, "=", ";" or CTLs.
 */
int
txt_ext_value_check(const char *name, size_t nlen, const char *val,
    size_t vlen, size_t off, const char *what, char *err, size_t errlen)
{
	size_t i;
	int c;

	if (vlen == 0) {
		util_err(err, errlen, "%s: column %zu: field '%.*s' has an "
		    "empty value", what, off + 1, (int)nlen, name);
		return MTASTS_EPARSE;
	}
	for (i = 0; i < vlen; i++) {
		c = (unsigned char)val[i];
		if (c < 0x21 || c > 0x7e || c == '=' || c == ';') {
			util_err(err, errlen, "%s: field '%.*s': character "
			    "'%c' not allowed in a value", what, (int)nlen,
			    name, c == '\t' ? ' ' : c);
			return MTASTS_EPARSE;
		}
	}
	return MTASTS_OK;
}

/*
 * D2: an RR is of the kind iff it begins with exactly the version, then
 * optional WSP, then ";" or the end of the string.
 */
int
txt_is_kind(const char *p, size_t len, const char *version)
{
	size_t vlen = strlen(version), i;

	if (p == NULL || len < vlen || memcmp(p, version, vlen) != 0)
		return 0;
	for (i = vlen; i < len && UTIL_IS_WSP(p[i]); i++)
		;
	return i == len || p[i] == ';';
}

/*
 * RFC 8461 §3.1, RFC 8460 §3: discard RRs not of the kind; exactly one
 * must remain.  Its index is stored in *idx.
 */
int
txt_select(const struct mtasts_rr *rrs, size_t n, const char *version,
    const char *what, size_t *idx, char *err, size_t errlen)
{
	size_t i, found = 0;

	if (rrs == NULL && n > 0) {
		util_err(err, errlen, "%s: no RRset", what);
		return MTASTS_EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!txt_is_kind(rrs[i].data, rrs[i].len, version))
			continue;
		if (found++ == 0)
			*idx = i;
	}
	if (found == 0) {
		util_err(err, errlen, "%s: no record begins with \"%s;\"",
		    what, version);
		return MTASTS_ENORECORD;
	}
	if (found > 1) {
		util_err(err, errlen, "%s: %zu records begin with \"%s\"; "
		    "exactly one is allowed", what, found, version);
		return MTASTS_EMULTIPLE;
	}
	return MTASTS_OK;
}
