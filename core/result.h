/*
 * result.h - what a query decided, built by decide.c.
 */
#ifndef MTASTS_RESULT_H
#define MTASTS_RESULT_H

#include <stdint.h>

#include "mtasts.h"
#include "util.h"

struct cache_entry;

struct mtasts_result {
	char		 domain[MTASTS_DOMAIN_MAX + 1];
	int		 status;	/* MTASTS_OK, or why it is incomplete */
	int		 has_policy;	/* 0: no policy in force */
	enum mtasts_mode mode;
	char		 id[MTASTS_ID_MAX + 1];
	uint32_t	 max_age;
	struct strlist	 mx;
	char		*text;		/* the policy as fetched, NUL
					 * after text_len; NULL: none */
	size_t		 text_len;
	const char	*failure;	/* static: RFC 8460 type of a
					 * failed fetch, or NULL */
	enum mtasts_source source;
	int64_t		 fetched_at;
	int64_t		 expires_at;
	uint32_t	 fail_count;	/* from the cache entry */
	int64_t		 failed_at;
	struct strlist	 err_types;	/* parallel to err_details */
	struct strlist	 err_details;
	enum mtasts_dane dane;		/* set by dane.c */
	char		 dane_why[MTASTS_DANE_WHY_MAX];
};

struct mtasts_result *result_new(const char *domain);
int	result_set_policy(struct mtasts_result *r, const struct cache_entry *e,
	    enum mtasts_source src);
int	result_add_error(struct mtasts_result *r, const char *type,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void	result_fail(struct mtasts_result *r, int status);
void	result_fill(struct mtasts_result *dst, const struct mtasts_result *src);

#endif /* MTASTS_RESULT_H */
