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
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <mtasts.h>

#define EXPORT		__attribute__((visibility("default")))
#define LIST_MAX	65536	/* bytes of MXLIST the core accepts */

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

/* Decide the policy for DOMAIN: OK; FAIL_FORCED if DOMAIN is not a
 * domain name; FAIL (a failed expansion: Exim defers and retries) when
 * no decision came in time; DEFER (also in the paniclog) when the
 * configuration or the cache cannot be used at all, or the library
 * could not complete the answer (out of memory): never act on a
 * result that may be weaker than the policy in force (RFC 8461 §5.1). */
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
	if (r == MTASTS_OK && (r = mtasts_result_status(*res)) != MTASTS_OK) {
		mtasts_result_free(*res);
		*res = NULL;
		return mod_yield(yield, DEFER, "mtasts: %s: %s: no complete "
		    "decision: %s", fn, domain, mtasts_strerror(r));
	}
	if (r == MTASTS_OK)
		return OK;
	if (r == MTASTS_ENOMEM)
		return mod_yield(yield, DEFER, "mtasts: %s: %s: %s", fn,
		    domain, mtasts_strerror(r));
	if (r == MTASTS_EPARSE)
		/* Not a domain name: no policy can exist for it; the
		 * caller routes it as usual (Exim decides what it is). */
		return mod_yield(yield, FAIL_FORCED, "mtasts: %s: %s", fn,
		    err);
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

	if ((rc = mod_decide(yield, "mtasts_mode", argc, argv, 1, &res)) ==
	    FAIL_FORCED)
		return mod_yield(yield, OK, "no-policy");	/* not a domain */
	if (rc != OK)
		return rc;
	rc = mod_yield(yield, OK, "%s", mtasts_result_mode_name(res));
	mtasts_result_free(res);
	return rc;
}

EXPORT int
mtasts_mx(uschar **yield, int argc, uschar *argv[])
{
	char err[MTASTS_ERRLEN];
	struct mtasts_result *res;
	const char *list;
	size_t len, size, allowed, total;
	uschar *out;
	int rc;

	if ((rc = mod_decide(yield, "mtasts_mx", argc, argv, 2, &res)) != OK)
		return rc;
	if (mtasts_result_mode(res) != MTASTS_MODE_ENFORCE ||
	    !mtasts_result_has_policy(res)) {
		mtasts_result_free(res);
		*yield = string_copy((const uschar *)"not enforce");
		return FAIL_FORCED;	/* the router declines */
	}
	list = (const char *)argv[1];
	len = strnlen(list, LIST_MAX + 1);
	size = mtasts_mx_filter_size(list, len);
	out = store_get((int)size, GET_UNTAINTED);
	if (mtasts_result_mx_filter(res, list, len, (char *)out, size,
	    &allowed, &total, err, sizeof(err)) != MTASTS_OK)
		rc = mod_yield(yield, FAIL, "mtasts: %s: %s",
		    mtasts_result_domain(res), err);
	else if (allowed == 0)
		/* RFC 8461 §5.1: no MX matches an enforce policy: do not
		 * deliver, and do not bounce either.  FAIL: the expansion
		 * fails, so the router defers the address with this text. */
		rc = mod_yield(yield, FAIL, "MTA-STS: %s: policy %s (enforce) "
		    "allows none of the domain's %zu MX hosts",
		    mtasts_result_domain(res), mtasts_result_id(res), total);
	else {
		*yield = out;
		rc = OK;
	}
	mtasts_result_free(res);
	return rc;
}

EXPORT int
mtasts_record(uschar **yield, int argc, uschar *argv[])
{
	char err[MTASTS_ERRLEN];
	const char *conf;

	/* {domain}{result}{mxhost}{mxip}[{conf}[{sending ip}[{helo}]]]:
	 * conf may be empty when the two after it are given. */
	if (argc < 4 || argc > 7 || mod_conf_arg(argc > 5 ? 5 : argc, argv,
	    4, &conf) != 0)
		return mod_yield(yield, FAIL, "mtasts: mtasts_record: wrong "
		    "arguments (%d)", argc);
	if (mod_ctx(conf, err, sizeof(err)) != MTASTS_OK)
		return mod_yield(yield, DEFER, "mtasts: %s", err);
	if (mtasts_tls_result_ex(mod.ctx, (const char *)argv[0],
	    (const char *)argv[1], (const char *)argv[2],
	    (const char *)argv[3], argc > 5 ? (const char *)argv[5] : NULL,
	    argc > 6 ? (const char *)argv[6] : NULL, err, sizeof(err)) !=
	    MTASTS_OK)
		return mod_yield(yield, FAIL, "mtasts: mtasts_record: %s",
		    err);
	*yield = string_copy((const uschar *)"");
	return OK;
}
