/*
 * mxlist.c - a domain's MX RRset, as an MTA hands it over in text,
 * filtered through the policy in force (RFC 8461 §4.1): the hosts a
 * sender may use, each once, best preference first.
 *
 * The text is remote data (DNS, through the MTA's expansion language):
 * "PREF HOST" or "HOST" items separated by ':' or newlines, as Exim's
 * ${lookup dnsdb{>: mx=DOMAIN}} gives them.  Items that are not one are
 * skipped: they can never match a policy pattern.
 */
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "util.h"

#define MXLIST_ITEMS_MAX	1024
#define MXLIST_LEN_MAX		65536

struct mxlist_item {
	unsigned	 pref;
	size_t		 order;		/* position in the list, for ties */
	char		 host[MTASTS_DOMAIN_MAX + 1];
};

static int
mxlist_cmp(const void *a, const void *b)
{
	const struct mxlist_item *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* One "PREF HOST" (or "HOST") item; 0 if it is not one. */
static int
mxlist_item(const char *p, size_t len, struct mxlist_item *it)
{
	unsigned long pref = 0;
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	if (i < len && p[i] >= '0' && p[i] <= '9') {
		for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
			if ((pref = pref * 10 + (unsigned)(p[i] - '0')) >
			    65535)
				return 0;
		if (i == len || p[i] != ' ')
			return 0;
		while (i < len && p[i] == ' ')
			i++;
	}
	while (len > i && p[len - 1] == ' ')
		len--;
	if (i == len || mtasts_domain_normalize(p + i, len - i, it->host,
	    sizeof(it->host), NULL, 0) != MTASTS_OK)
		return 0;
	it->pref = (unsigned)pref;
	return 1;
}

/* Split the list into v (MXLIST_ITEMS_MAX slots); *k valid items. */
static int
mxlist_split(const char *p, size_t len, struct mxlist_item *v, size_t *k,
    size_t *order, char *err, size_t errlen)
{
	const char *end, *stop = p + len;

	*k = *order = 0;
	while (p < stop) {
		for (end = p; end < stop && *end != ':' && *end != '\n'; end++)
			;
		if (end > p) {
			if (*order == MXLIST_ITEMS_MAX) {
				util_err(err, errlen, "MX list: more than %d "
				    "MX hosts", MXLIST_ITEMS_MAX);
				return MTASTS_EPARSE;
			}
			if (mxlist_item(p, (size_t)(end - p), &v[*k]))
				v[(*k)++].order = *order;
			(*order)++;
		}
		p = end + 1;
	}
	return MTASTS_OK;
}

/* Join the allowed hosts of v into out, each once. */
static int
mxlist_join(const struct mtasts_result *res, const struct mxlist_item *v,
    size_t k, char *out, size_t size, size_t *nallowed)
{
	size_t i, j, len = 0, hl;

	for (i = 0; i < k; i++) {
		for (j = 0; j < i && strcmp(v[j].host, v[i].host) != 0; j++)
			;
		hl = strlen(v[i].host);
		if (j < i || mtasts_result_mx_allowed(res, v[i].host, hl) !=
		    MTASTS_OK)
			continue;
		if (len + (len > 0) + hl + 1 > size)
			return MTASTS_EINVAL;
		if (len > 0)
			out[len++] = ':';
		memcpy(out + len, v[i].host, hl + 1);
		len += hl;
		(*nallowed)++;
	}
	return MTASTS_OK;
}

MTASTS_API int
mtasts_result_mx_filter(const struct mtasts_result *res, const char *list,
    size_t len, char *out, size_t size, size_t *nallowed, size_t *ntotal,
    char *err, size_t errlen)
{
	struct mxlist_item *v;
	const char *domain;
	size_t k, order;
	int r;

	*nallowed = *ntotal = 0;
	if (size == 0)
		return MTASTS_EINVAL;
	out[0] = '\0';
	if (len > MXLIST_LEN_MAX) {
		util_err(err, errlen, "MX list longer than %d bytes",
		    MXLIST_LEN_MAX);
		return MTASTS_EPARSE;
	}
	if ((v = util_calloc(MXLIST_ITEMS_MAX, sizeof(*v))) == NULL)
		return MTASTS_ENOMEM;
	r = mxlist_split(list, len, v, &k, &order, err, errlen);
	/* No MX at all: the domain itself (RFC 5321 §5.1 implicit MX). */
	domain = mtasts_result_domain(res);
	if (r == MTASTS_OK && order == 0 && mxlist_item(domain,
	    strlen(domain), &v[0]))
		k = order = 1;
	if (r == MTASTS_OK) {
		qsort(v, k, sizeof(*v), mxlist_cmp);
		*ntotal = order;
		if ((r = mxlist_join(res, v, k, out, size, nallowed)) !=
		    MTASTS_OK)
			util_err(err, errlen, "MX list: output buffer too "
			    "small");
	}
	util_free(v);
	return r;
}

/*
 * Why the bound holds: an ASCII item is only lowercased and shortened
 * (preference, spaces, trailing dot), so its host is no longer than the
 * item; the separators and the NUL then fit in len + 1, and the implicit
 * MX (no item at all) is one name of MTASTS_DOMAIN_MAX.  A non-ASCII
 * item becomes A-labels (RFC 5891 §4.4, "xn--" and Punycode), longer
 * than its U-labels, but still one name: at most MTASTS_DOMAIN_MAX and
 * a separator more than the item.
 */
MTASTS_API size_t
mtasts_mx_filter_size(const char *list, size_t len)
{
	size_t i, n = 0, items = 0;
	int high = 0, any = 0;

	if (list == NULL || len > MXLIST_LEN_MAX)
		return MTASTS_DOMAIN_MAX + 3;	/* refused: no output */
	for (i = 0; i <= len && items < MXLIST_ITEMS_MAX; i++) {
		if (i == len || list[i] == ':' || list[i] == '\n') {
			items += any;
			n += high;
			high = any = 0;
		} else {
			any = 1;
			if ((unsigned char)list[i] >= 0x80)
				high = 1;
		}
	}
	return len + MTASTS_DOMAIN_MAX + 3 + n * (MTASTS_DOMAIN_MAX + 1);
}
