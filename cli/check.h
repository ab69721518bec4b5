/*
 * check.h - mtasts check: shared by check.c (the domain's records and
 * policy) and check_mx.c (its MX hosts).
 */
#ifndef MTASTS_CHECK_H
#define MTASTS_CHECK_H

#include <stddef.h>

#include <jansson.h>
#include <mtasts.h>

#define CHECK_MX_MAX		8	/* MX hosts examined, best first */
#define CHECK_ADDR_MAX		2	/* addresses tried per MX host */
#define CHECK_EXPIRY_WARN	(14 * 86400)	/* seconds */
#define CHECK_REASON_MAX	1024

enum check_verdict { V_PASS = 0, V_WARN, V_FAIL, V_SKIP };

struct check {
	struct event_base	*base;
	struct mtasts_ctx	*ctx;
	int			 json;
	unsigned int		 port;		/* SMTP port, 25 */
	unsigned int		 timeout;	/* connect_timeout, seconds */
	char			 ca_file[1024];	/* as the fetcher's */
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	json_t			*items;
	unsigned int		 count[4];	/* per verdict */
	int			 pending;	/* callbacks outstanding */
	char			*body;		/* fetched policy, or NULL */
	size_t			 body_len;
	struct mtasts_policy	*pol;		/* parsed, or NULL */
	char			*mx[CHECK_MX_MAX];	/* owned */
	size_t			 nmx;
	size_t			 nmx_all;	/* before the bound */
	int			 mx_implicit;	/* no MX: the domain (§5.1) */
	int			 mx_failed;	/* MX lookup failed */
};

/* Add one item; extra (may be NULL) is stolen.  Prints it unless
 * --json. */
void	check_item(struct check *c, const char *name, const char *host,
	    enum check_verdict v, json_t *extra, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* Run the loop until every started look-up has called back. */
void	check_wait(struct check *c);

void	check_mx(struct check *c);
void	check_smtp(struct check *c);
void	check_dane(struct check *c);
void	check_apply(struct check *c);

#endif /* MTASTS_CHECK_H */
