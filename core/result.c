/*
 * result.c - the answer of a query: the policy in force and why.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cache.h"
#include "result.h"

struct mtasts_result *
result_new(const char *domain)
{
	struct mtasts_result *r;

	if ((r = util_calloc(1, sizeof(*r))) == NULL)
		return NULL;
	snprintf(r->domain, sizeof(r->domain), "%s", domain);
	return r;
}

/*
 * The policy first, its MX patterns last: a result whose list could not
 * be completed still holds the policy and its mode, never less (an
 * incomplete list allows fewer hosts, not more), and says it is
 * incomplete (mtasts_result_status): fail closed, RFC 8461 §5.1.
 */
int
result_set_policy(struct mtasts_result *r, const struct cache_entry *e,
    enum mtasts_source src)
{
	size_t i;
	int rc;

	r->has_policy = 1;
	r->mode = (enum mtasts_mode)e->mode;
	memcpy(r->id, e->id, sizeof(r->id));
	r->max_age = e->max_age;
	r->source = src;
	r->fetched_at = e->fetched_at;
	r->expires_at = e->expires_at;
	strlist_clear(&r->mx);
	util_free(r->text);
	r->text = NULL;
	r->text_len = 0;
	for (i = 0; i < e->nmx; i++)
		if ((rc = strlist_add(&r->mx, e->mx[i], strlen(e->mx[i])))
		    != MTASTS_OK) {
			result_fail(r, rc);
			return rc;
		}
	/* The text (RFC 8460 §4.3 policy-string) last: without it the
	 * decision stands, only marked incomplete. */
	if (e->text != NULL) {
		if ((r->text = util_malloc(e->text_len + 1)) == NULL) {
			result_fail(r, MTASTS_ENOMEM);
			return MTASTS_ENOMEM;
		}
		memcpy(r->text, e->text, e->text_len);
		r->text[e->text_len] = '\0';
		r->text_len = e->text_len;
	}
	return MTASTS_OK;
}

/* The answer is incomplete: the first reason is kept. */
void
result_fail(struct mtasts_result *r, int status)
{
	if (r->status == MTASTS_OK)
		r->status = status;
}

int
result_add_error(struct mtasts_result *r, const char *type,
    const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	util_verr(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* A lost error would hide why (say, "cancelled"): incomplete. */
	if (strlist_add(&r->err_types, type, strlen(type)) != MTASTS_OK) {
		result_fail(r, MTASTS_ENOMEM);
		return MTASTS_ENOMEM;
	}
	if (strlist_add(&r->err_details, buf, strlen(buf)) != MTASTS_OK) {
		util_free(r->err_types.v[--r->err_types.n]);
		result_fail(r, MTASTS_ENOMEM);
		return MTASTS_ENOMEM;
	}
	return MTASTS_OK;
}

static int
result_copy_list(struct strlist *dst, const struct strlist *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		if (strlist_add(dst, src->v[i], strlen(src->v[i])) !=
		    MTASTS_OK)
			return MTASTS_ENOMEM;
	return MTASTS_OK;
}

/*
 * Copy src into the shell dst, which a waiter got when it started
 * (decide.c): the callback never waits on an allocation.  A list that
 * cannot be copied marks dst incomplete; the policy itself is never
 * lost, as in result_set_policy().
 */
void
result_fill(struct mtasts_result *dst, const struct mtasts_result *src)
{
	strlist_clear(&dst->mx);
	strlist_clear(&dst->err_types);
	strlist_clear(&dst->err_details);
	util_free(dst->text);
	*dst = *src;
	dst->text = NULL;
	dst->text_len = 0;
	if (src->text != NULL) {
		if ((dst->text = util_malloc(src->text_len + 1)) != NULL) {
			memcpy(dst->text, src->text, src->text_len + 1);
			dst->text_len = src->text_len;
		} else
			result_fail(dst, MTASTS_ENOMEM);
	}
	memset(&dst->mx, 0, sizeof(dst->mx));
	memset(&dst->err_types, 0, sizeof(dst->err_types));
	memset(&dst->err_details, 0, sizeof(dst->err_details));
	if (result_copy_list(&dst->mx, &src->mx) != MTASTS_OK)
		result_fail(dst, MTASTS_ENOMEM);
	if (result_copy_list(&dst->err_types, &src->err_types) != MTASTS_OK ||
	    result_copy_list(&dst->err_details, &src->err_details) !=
	    MTASTS_OK) {
		/* The two lists stay parallel: both or neither. */
		strlist_clear(&dst->err_types);
		strlist_clear(&dst->err_details);
		result_fail(dst, MTASTS_ENOMEM);
	}
}

MTASTS_API void
mtasts_result_free(struct mtasts_result *r)
{
	if (r == NULL)
		return;
	strlist_clear(&r->mx);
	strlist_clear(&r->err_types);
	strlist_clear(&r->err_details);
	util_free(r->text);
	util_free(r);
}

MTASTS_API int
mtasts_result_status(const struct mtasts_result *r)
{
	return r->status;
}

MTASTS_API const char *
mtasts_result_domain(const struct mtasts_result *r)
{
	return r->domain;
}

MTASTS_API int
mtasts_result_has_policy(const struct mtasts_result *r)
{
	return r->has_policy;
}

MTASTS_API enum mtasts_mode
mtasts_result_mode(const struct mtasts_result *r)
{
	return r->mode;
}

MTASTS_API const char *
mtasts_result_mode_name(const struct mtasts_result *r)
{
	return r->has_policy ? mtasts_mode_name(r->mode) : "no-policy";
}

MTASTS_API const char *
mtasts_result_id(const struct mtasts_result *r)
{
	return r->id;
}

MTASTS_API uint32_t
mtasts_result_max_age(const struct mtasts_result *r)
{
	return r->max_age;
}

MTASTS_API size_t
mtasts_result_mx_count(const struct mtasts_result *r)
{
	return r->mx.n;
}

MTASTS_API const char *
mtasts_result_mx(const struct mtasts_result *r, size_t i)
{
	return i < r->mx.n ? r->mx.v[i] : NULL;
}

MTASTS_API int
mtasts_result_mx_allowed(const struct mtasts_result *r, const char *host,
    size_t len)
{
	size_t i;

	if (!r->has_policy || r->mode == MTASTS_MODE_NONE)
		return MTASTS_OK;
	for (i = 0; i < r->mx.n; i++)
		if (mtasts_mx_match(r->mx.v[i], strlen(r->mx.v[i]), host, len,
		    NULL, 0) == MTASTS_OK)
			return MTASTS_OK;
	return MTASTS_ENOMATCH;
}

MTASTS_API enum mtasts_source
mtasts_result_source(const struct mtasts_result *r)
{
	return r->source;
}

MTASTS_API int64_t
mtasts_result_fetched_at(const struct mtasts_result *r)
{
	return r->fetched_at;
}

MTASTS_API int64_t
mtasts_result_expires_at(const struct mtasts_result *r)
{
	return r->expires_at;
}

MTASTS_API size_t
mtasts_result_error_count(const struct mtasts_result *r)
{
	return r->err_types.n;
}

MTASTS_API const char *
mtasts_result_error_type(const struct mtasts_result *r, size_t i)
{
	return i < r->err_types.n ? r->err_types.v[i] : NULL;
}

MTASTS_API const char *
mtasts_result_error_detail(const struct mtasts_result *r, size_t i)
{
	return i < r->err_details.n ? r->err_details.v[i] : NULL;
}

MTASTS_API uint32_t
mtasts_result_fail_count(const struct mtasts_result *r)
{
	return r->fail_count;
}

MTASTS_API int64_t
mtasts_result_failed_at(const struct mtasts_result *r)
{
	return r->failed_at;
}

MTASTS_API const char *
mtasts_result_policy_text(const struct mtasts_result *r, size_t *len)
{
	if (!r->has_policy || r->text == NULL) {
		*len = 0;
		return NULL;
	}
	*len = r->text_len;
	return r->text;
}

MTASTS_API const char *
mtasts_result_policy_failure(const struct mtasts_result *r)
{
	return r->has_policy ? NULL : r->failure;
}
