/*
 * mtasts.c - MTA-STS (RFC 8461) for Exim through ${dlfunc}:
 *
 *   ${dlfunc{/usr/lib/exim4/mtasts.so}{mtasts_mode}{DOMAIN}{[CONF]}}
 *	enforce, testing, none or no-policy
 *   ${dlfunc{...}{mtasts_mx}{DOMAIN}{MXLIST}{[CONF]}}
 *	enforce: the MX hosts the policy allows, in preference order,
 *	colon-separated, for a manualroute router; none allowed: a failed
 *	expansion, which defers the address (§5.1: temporary, never a
 *	bounce); any other mode: forced failure,
 *	so the router declines and dnslookup routes as usual
 *   ${dlfunc{...}{mtasts_record}{DOMAIN}{RESULT}{MXHOST}{MXIP}{[CONF]}}
 *	count one TLS result for TLSRPT (RFC 8460 §4.3)
 *
 * MXLIST is what ${lookup dnsdb{>: mx=DOMAIN}} gives: "PREF HOST" items
 * separated by ':' (or newlines).  Every argument is remote data that
 * came through an expansion: it is checked, never trusted.  The module
 * talks to libmtasts only through <mtasts.h>; the context (cache, DNS,
 * HTTPS) is opened once per process and again in a forked child.
 */
#define DLFUNC_IMPL
#include <local_scan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <mtasts.h>

#define EXPORT		__attribute__((visibility("default")))
#define MX_MAX		1024	/* more MX hosts than this: refuse */
#define LIST_MAX	65536	/* bytes of MXLIST */

exim_dlfunc_t mtasts_mode, mtasts_mx, mtasts_record;

static struct {
	struct mtasts_config	*cfg;
	struct mtasts_ctx	*ctx;
	char			 conf[1024];
	pid_t			 pid;
} mod;

/* Exim's main log is where an admin looks for a delivery's story. */
static void
mod_on_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	if (prio <= LOG_INFO)
		log_write(0, LOG_MAIN, "mtasts: %s", msg);
}

static int
mod_yield(uschar **yield, int rc, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*yield = string_copy((const uschar *)buf);
	return rc;
}

/* The context for conf (NULL: $MTASTS_CONF or the default).  A child
 * Exim forked after the parent opened it gets its own: the parent's
 * sockets and database handles are left alone (not freed: freeing would
 * touch state shared with the parent). */
static int
mod_ctx(const char *conf, char *err, size_t errlen)
{
	const char *path = conf != NULL ? conf : "";

	if (mod.ctx != NULL && mod.pid == getpid() &&
	    strcmp(mod.conf, path) == 0)
		return MTASTS_OK;
	if (mod.ctx != NULL && mod.pid == getpid()) {
		mtasts_ctx_free(mod.ctx);
		mtasts_config_free(mod.cfg);
	}
	mod.ctx = NULL;
	mod.cfg = NULL;
	if (strlen(path) >= sizeof(mod.conf)) {
		snprintf(err, errlen, "configuration path too long");
		return MTASTS_EINVAL;
	}
	mtasts_set_log(mod_on_log, NULL);
	if (mtasts_config_load(conf, &mod.cfg, err, errlen) != MTASTS_OK)
		return MTASTS_EINVAL;
	if (mtasts_ctx_new(NULL, mod.cfg, 0, &mod.ctx, err, errlen) !=
	    MTASTS_OK) {
		mtasts_config_free(mod.cfg);
		mod.cfg = NULL;
		return MTASTS_EIO;
	}
	snprintf(mod.conf, sizeof(mod.conf), "%s", path);
	mod.pid = getpid();
	return MTASTS_OK;
}

/* The optional configuration argument: an absolute path, or nothing. */
static int
mod_conf_arg(int argc, uschar *argv[], int i, const char **conf)
{
	*conf = NULL;
	if (argc <= i || argv[i] == NULL || argv[i][0] == '\0')
		return 0;
	if (argv[i][0] != '/' || argc > i + 1)
		return -1;
	*conf = (const char *)argv[i];
	return 0;
}

/* Decide the policy for DOMAIN; DEFER only when Exim should retry. */
static int
mod_decide(uschar **yield, const char *fn, int argc, uschar *argv[],
    int nargs, struct mtasts_result **res)
{
	char err[MTASTS_ERRLEN];
	const char *conf, *domain;
	int r;

	*res = NULL;
	if (argc < nargs || mod_conf_arg(argc, argv, nargs, &conf) != 0)
		return mod_yield(yield, FAIL, "mtasts: %s: wrong arguments "
		    "(%d)", fn, argc);
	domain = (const char *)argv[0];
	if (mod_ctx(conf, err, sizeof(err)) != MTASTS_OK)
		return mod_yield(yield, DEFER, "mtasts: %s", err);
	r = mtasts_query_wait(mod.ctx, domain, 0, res, err, sizeof(err));
	if (r == MTASTS_OK)
		return OK;
	if (r == MTASTS_EPARSE || r == MTASTS_EINVAL)
		return mod_yield(yield, FAIL, "mtasts: %s: %s", fn, err);
	/* No decision in time: retry later rather than guess (§5.1).  A
	 * failed (not forced) expansion defers the router; DEFER would
	 * also write to the paniclog on every attempt. */
	return mod_yield(yield, FAIL, "mtasts: %s: %s", fn, err);
}

EXPORT int
mtasts_mode(uschar **yield, int argc, uschar *argv[])
{
	struct mtasts_result *res;
	int rc;

	if ((rc = mod_decide(yield, "mtasts_mode", argc, argv, 1, &res)) !=
	    OK)
		return rc;
	rc = mod_yield(yield, OK, "%s", mtasts_result_mode_name(res));
	mtasts_result_free(res);
	return rc;
}

struct mx_item {
	unsigned	 pref;
	size_t		 order;		/* position in MXLIST, for ties */
	char		 host[MTASTS_DOMAIN_MAX + 1];
};

static int
mx_item_cmp(const void *a, const void *b)
{
	const struct mx_item *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* One "PREF HOST" (or "HOST") item; 0 if it is not one. */
static int
mx_item_parse(const char *p, size_t len, struct mx_item *it)
{
	size_t i = 0;
	unsigned long pref = 0;

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

/* Split MXLIST; *n = -1 if it has more than MX_MAX items. */
static struct mx_item *
mx_list_parse(const char *list, const char *domain, long *n)
{
	struct mx_item *v;
	const char *p = list, *end;
	size_t len = strlen(list), k = 0, order = 0;

	*n = 0;
	if ((v = calloc(MX_MAX, sizeof(*v))) == NULL)
		return NULL;
	while (len > 0) {
		end = p;
		while (end < p + len && *end != ':' && *end != '\n')
			end++;
		if (end > p) {
			if (k == MX_MAX) {
				*n = -1;
				return v;
			}
			if (mx_item_parse(p, (size_t)(end - p), &v[k]))
				v[k].order = order, k++;
			order++;
		}
		len -= (size_t)(end - p) + (end < p + len);
		p = end + 1;
	}
	/* No MX at all: the domain itself (RFC 5321 §5.1 implicit MX). */
	if (order == 0 && mx_item_parse(domain, strlen(domain), &v[0]))
		k = 1;
	qsort(v, k, sizeof(*v), mx_item_cmp);
	*n = (long)k;
	return v;
}

/* Was this host listed before (at a better preference)? */
static int
mx_seen(const struct mx_item *v, long i)
{
	long j;

	for (j = 0; j < i; j++)
		if (strcmp(v[j].host, v[i].host) == 0)
			return 1;
	return 0;
}

/* The allowed hosts of v as "h1:h2" in Exim's store, each once. */
static uschar *
mx_allowed_list(const struct mtasts_result *res, struct mx_item *v,
    long n, size_t *count)
{
	size_t size = (size_t)n * (MTASTS_DOMAIN_MAX + 1) + 1, len = 0;
	uschar *out = store_get((int)size, GET_UNTAINTED);
	long i;

	*count = 0;
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (mtasts_result_mx_allowed(res, v[i].host,
		    strlen(v[i].host)) != MTASTS_OK || mx_seen(v, i))
			continue;
		len += (size_t)snprintf((char *)out + len, size - len, "%s%s",
		    len > 0 ? ":" : "", v[i].host);
		(*count)++;
	}
	return out;
}

EXPORT int
mtasts_mx(uschar **yield, int argc, uschar *argv[])
{
	struct mtasts_result *res;
	struct mx_item *v;
	const char *domain = argc > 0 ? (const char *)argv[0] : "";
	size_t count;
	uschar *hosts;
	long n;
	int rc;

	if ((rc = mod_decide(yield, "mtasts_mx", argc, argv, 2, &res)) != OK)
		return rc;
	if (mtasts_result_mode(res) != MTASTS_MODE_ENFORCE ||
	    !mtasts_result_has_policy(res)) {
		mtasts_result_free(res);
		*yield = string_copy((const uschar *)"not enforce");
		return FAIL_FORCED;	/* the router declines */
	}
	if (strnlen((const char *)argv[1], LIST_MAX + 1) > LIST_MAX) {
		mtasts_result_free(res);
		return mod_yield(yield, FAIL, "mtasts: %.253s: MX list longer "
		    "than %d bytes", domain, LIST_MAX);
	}
	if ((v = mx_list_parse((const char *)argv[1], domain, &n)) == NULL) {
		mtasts_result_free(res);
		return mod_yield(yield, DEFER, "mtasts: out of memory");
	}
	if (n < 0) {
		rc = mod_yield(yield, FAIL, "mtasts: %.253s: more than %d MX "
		    "hosts", domain, MX_MAX);
	} else if ((hosts = mx_allowed_list(res, v, n, &count)), count == 0) {
		/* RFC 8461 §5.1: no MX matches an enforce policy: do not
		 * deliver, and do not bounce either.  FAIL: the expansion
		 * fails, so the router defers the address with this text. */
		rc = mod_yield(yield, FAIL, "MTA-STS: %s: policy %s (enforce) "
		    "allows none of the domain's %ld MX hosts",
		    mtasts_result_domain(res), mtasts_result_id(res), n);
	} else {
		*yield = hosts;
		rc = OK;
	}
	free(v);
	mtasts_result_free(res);
	return rc;
}

EXPORT int
mtasts_record(uschar **yield, int argc, uschar *argv[])
{
	char err[MTASTS_ERRLEN];
	const char *conf;

	if (argc < 4 || mod_conf_arg(argc, argv, 4, &conf) != 0)
		return mod_yield(yield, FAIL, "mtasts: mtasts_record: wrong "
		    "arguments (%d)", argc);
	if (mod_ctx(conf, err, sizeof(err)) != MTASTS_OK)
		return mod_yield(yield, DEFER, "mtasts: %s", err);
	if (mtasts_tls_result(mod.ctx, (const char *)argv[0],
	    (const char *)argv[1], (const char *)argv[2],
	    (const char *)argv[3], err, sizeof(err)) != MTASTS_OK)
		return mod_yield(yield, FAIL, "mtasts: mtasts_record: %s",
		    err);
	*yield = string_copy((const uschar *)"");
	return OK;
}
