/*
 * metrics.c - operational counters and their Prometheus text
 * (exposition format 0.0.4, docs/operations.md).
 *
 * Counters live in results.db under "M\tNAME\tLABELS", because the
 * processes that count are short-lived (Exim forks one per delivery,
 * the CLI runs once): only the shared store sees them all.  Each
 * context sums its increments and writes them in a few transactions a
 * second at most, so the hot path (a cached decision) pays a memory
 * update.  Gauges are computed from the cache when the text is made.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define METRICS_PENDING		32	/* series between two writes */
#define METRICS_KEY_MAX		192
#define METRICS_VALUE_MAX	32	/* a label value from the host */
#define METRICS_SERIES_MAX	4096	/* series read back */
#define METRICS_TEXT_MAX	(4u * 1024 * 1024)
#define METRICS_LAPSE_WINDOW	86400	/* "expires within 24 h" */

struct metrics_pend {
	char		 key[METRICS_KEY_MAX];
	size_t		 len;
	uint64_t	 n;
};

struct metrics {
	struct metrics_pend	 pend[METRICS_PENDING];
	size_t			 npend;
	struct event		*timer;		/* writes pend[] */
};

/* The counters: label sets listed are always shown (0 before the first
 * count), so that rate() and absent() work from the start. */
struct metrics_def {
	const char		*name;
	const char		*help;
	const char		*label;		/* set by mtasts_metric_add() */
	const char *const	*known;	/* rendered label sets */
};

static const char *const metrics_fetch_known[] = {
	"result=\"success\"", "result=\"sts-policy-fetch-error\"",
	"result=\"sts-policy-invalid\"", "result=\"sts-webpki-invalid\"",
	"result=\"dns-temporary\"", NULL
};
static const char *const metrics_decision_known[] = {
	"mode=\"enforce\",source=\"cache\"",
	"mode=\"enforce\",source=\"network\"",
	"mode=\"testing\",source=\"cache\"",
	"mode=\"testing\",source=\"network\"",
	"mode=\"none\",source=\"cache\"", "mode=\"none\",source=\"network\"",
	"mode=\"no-policy\",source=\"none\"", NULL
};
static const char *const metrics_tls_known[] = {
	"result=\"success\"", "result=\"starttls-not-supported\"",
	"result=\"certificate-host-mismatch\"",
	"result=\"certificate-expired\"",
	"result=\"certificate-not-trusted\"", "result=\"validation-failure\"",
	NULL
};
static const char *const metrics_rcpt_known[] = {
	"decision=\"proceed\"", "decision=\"defer\"", "decision=\"timeout\"",
	NULL
};
static const char *const metrics_dgram_known[] = {
	"result=\"counted\"", "result=\"malformed\"",
	"result=\"unknown-version\"", "result=\"oversized\"",
	"result=\"lost\"", NULL
};
static const char *const metrics_none_known[] = { "", NULL };

static const struct metrics_def metrics_defs[] = {
	{ "mtasts_policy_fetches_total", "Policy discoveries that reached "
	    "an end, by RFC 8460 result type (success: a policy fetched; "
	    "dns-temporary: the TXT lookup failed).", "result",
	    metrics_fetch_known },
	{ "mtasts_decisions_total", "Policy decisions handed to the MTA, "
	    "by mode in force and where the policy came from.", NULL,
	    metrics_decision_known },
	{ "mtasts_tls_results_total", "TLS session results recorded for "
	    "TLSRPT (RFC 8460 section 4.3), by result type.", "result",
	    metrics_tls_known },
	{ "mtasts_reports_generated_total", "TLSRPT reports written (one "
	    "per policy domain and day).", NULL, metrics_none_known },
	{ "mtasts_reports_sent_total", "TLSRPT reports delivered to a rua "
	    "of the policy domain.", NULL, metrics_none_known },
	{ "mtasts_reports_failed_total", "TLSRPT report delivery attempts "
	    "that failed (retried later).", NULL, metrics_none_known },
	{ "mtasts_filter_rcpts_total", "Recipients the OpenSMTPD filter "
	    "answered, by answer (defer: 451, never a bounce).", "decision",
	    metrics_rcpt_known },
	{ "mtasts_tlsrptd_datagrams_total", "libtlsrpt datagrams "
	    "mtasts-tlsrptd received, by outcome (counted; malformed, "
	    "unknown-version, oversized: refused; lost: sessions not "
	    "counted, the results store being down too long).", "result",
	    metrics_dgram_known },
	{ NULL, NULL, NULL, NULL }
};

static const struct metrics_def *
metrics_def_find(const char *name)
{
	const struct metrics_def *d;

	for (d = metrics_defs; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

static void
metrics_flush(struct mtasts_ctx *ctx)
{
	struct metrics *m = ctx->metrics;
	size_t i;
	int r;

	for (i = 0; i < m->npend; i++)
		if ((r = cache_counter_add(ctx->cache, m->pend[i].key,
		    m->pend[i].len, m->pend[i].n)) != MTASTS_OK)
			log_msg(LOG_DEBUG, "metrics: %s: count lost: %s",
			    m->pend[i].key + 2, mtasts_strerror(r));
	m->npend = 0;
}

static void
metrics_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	metrics_flush(arg);
}

static struct metrics *
metrics_get(struct mtasts_ctx *ctx)
{
	if (ctx->metrics == NULL)
		ctx->metrics = util_calloc(1, sizeof(*ctx->metrics));
	return ctx->metrics;
}

void
metrics_count(struct mtasts_ctx *ctx, const char *name, const char *labels,
    uint64_t n)
{
	struct timeval tv = { 1, 0 };
	struct metrics_pend *p;
	struct metrics *m;
	char key[METRICS_KEY_MAX];
	size_t i;
	int len;

	if (ctx == NULL || ctx->cache == NULL ||
	    (ctx->flags & MTASTS_CTX_RDONLY) || (m = metrics_get(ctx)) ==
	    NULL)
		return;
	len = snprintf(key, sizeof(key), "M\t%s\t%s", name, labels);
	if (len < 0 || (size_t)len >= sizeof(key))
		return;
	for (i = 0; i < m->npend; i++)
		if (m->pend[i].len == (size_t)len &&
		    memcmp(m->pend[i].key, key, (size_t)len) == 0)
			break;
	if (i == METRICS_PENDING) {
		metrics_flush(ctx);
		i = 0;
	}
	p = &m->pend[i];
	if (i == m->npend) {
		memcpy(p->key, key, (size_t)len + 1);
		p->len = (size_t)len;
		p->n = 0;
		m->npend++;
	}
	p->n += n;
	/* Nobody runs a private loop between calls: write now. */
	if (ctx->own_base || ctx->closing) {
		metrics_flush(ctx);
		return;
	}
	if (m->timer == NULL && (m->timer = evtimer_new(ctx->base,
	    metrics_on_timer, ctx)) == NULL) {
		metrics_flush(ctx);
		return;
	}
	if (!evtimer_pending(m->timer, NULL))
		evtimer_add(m->timer, &tv);
}

void
metrics_fetch(struct mtasts_ctx *ctx, const char *result)
{
	char l[64];

	if (snprintf(l, sizeof(l), "result=\"%s\"", result) < (int)sizeof(l))
		metrics_count(ctx, "mtasts_policy_fetches_total", l, 1);
}

void
metrics_decision(struct mtasts_ctx *ctx, const struct mtasts_result *res)
{
	static const char *const src[] = { "none", "cache", "network" };
	enum mtasts_source s;
	char l[64];

	if (res == NULL)
		return;
	s = mtasts_result_source(res);
	if (snprintf(l, sizeof(l), "mode=\"%s\",source=\"%s\"",
	    mtasts_result_mode_name(res), (unsigned)s < 3 ? src[s] : "none") <
	    (int)sizeof(l))
		metrics_count(ctx, "mtasts_decisions_total", l, 1);
}

void
metrics_tls_result(struct mtasts_ctx *ctx, const char *type, uint64_t n)
{
	char l[64];

	if (snprintf(l, sizeof(l), "result=\"%s\"", type) < (int)sizeof(l))
		metrics_count(ctx, "mtasts_tls_results_total", l, n);
}

void
metrics_free(struct mtasts_ctx *ctx)
{
	if (ctx->metrics == NULL)
		return;
	if (ctx->cache != NULL)
		metrics_flush(ctx);
	if (ctx->metrics->timer != NULL)
		event_free(ctx->metrics->timer);
	util_free(ctx->metrics);
	ctx->metrics = NULL;
}

/* A label value from the host: [a-z0-9_.-], 1 to 32 bytes.  It goes
 * into the store and the exposition unescaped. */
static int
metrics_value_ok(const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if (i >= METRICS_VALUE_MAX || !(UTIL_IS_DIGIT(v[i]) ||
		    (v[i] >= 'a' && v[i] <= 'z') || v[i] == '_' ||
		    v[i] == '.' || v[i] == '-'))
			return 0;
	return i > 0;
}

MTASTS_API int
mtasts_metric_add(struct mtasts_ctx *ctx, const char *name,
    const char *value, uint64_t n)
{
	const struct metrics_def *d;
	char l[METRICS_VALUE_MAX + 32];

	if (ctx == NULL || name == NULL || (d = metrics_def_find(name)) ==
	    NULL)
		return MTASTS_EINVAL;
	if (d->label == NULL && value == NULL && d->known == metrics_none_known)
		l[0] = '\0';
	else if (d->label == NULL || value == NULL || !metrics_value_ok(value))
		return MTASTS_EINVAL;
	else
		snprintf(l, sizeof(l), "%s=\"%s\"", d->label, value);
	metrics_count(ctx, name, l, n);
	return MTASTS_OK;
}

/*
 * The text.
 */
struct metrics_text {
	char		*p;
	size_t		 len, size;
	int		 err;		/* MTASTS_ENOMEM, sticky */
};

static void
metrics_printf(struct metrics_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct metrics_text *t, const char *fmt, ...)
{
	va_list ap;
	size_t size;
	char *np;
	int n;

	while (t->err == MTASTS_OK) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->size - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = MTASTS_EINVAL;
			return;
		}
		if ((size_t)n < t->size - t->len) {
			t->len += (size_t)n;
			return;
		}
		size = t->size * 2 + (size_t)n;
		if (size > METRICS_TEXT_MAX || (np = util_reallocarray(t->p,
		    size, 1)) == NULL) {
			t->err = MTASTS_ENOMEM;
			return;
		}
		t->p = np;
		t->size = size;
	}
}

/* The counters read back: "NAME\tLABELS" and their values. */
struct metrics_read {
	struct strlist	 keys;
	uint64_t	*n;
	size_t		 size;
};

/* A label set as we write it -- name="value" pairs joined by ',',
 * names [a-z_], values [a-z0-9_.-] -- or "".  Anything else in the
 * store (damage) would break the exposition: skipped. */
static int
metrics_labels_ok(const char *p)
{
	while (*p != '\0') {
		if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return 0;
		while ((*p >= 'a' && *p <= 'z') || *p == '_')
			p++;
		if (p[0] != '=' || p[1] != '"')
			return 0;
		for (p += 2; *p != '"'; p++)
			if (!(UTIL_IS_DIGIT(*p) || (*p >= 'a' && *p <= 'z') ||
			    *p == '_' || *p == '.' || *p == '-'))
				return 0;
		if (*++p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return 0;
	}
	return 1;
}

static int
metrics_on_counter(const char *key, size_t len, uint64_t n, void *arg)
{
	struct metrics_read *rd = arg;
	uint64_t *v;

	if (len < 2 || memcmp(key, "M\t", 2) != 0)
		return 1;		/* past the range */
	if (rd->keys.n >= METRICS_SERIES_MAX || strchr(key + 2, '\t') ==
	    NULL || !metrics_labels_ok(strchr(key + 2, '\t') + 1))
		return 0;
	if (rd->keys.n == rd->size) {
		if ((v = util_reallocarray(rd->n, rd->size * 2 + 16,
		    sizeof(*v))) == NULL)
			return 1;
		rd->n = v;
		rd->size = rd->size * 2 + 16;
	}
	if (strlist_add(&rd->keys, key + 2, len - 2) != MTASTS_OK)
		return 1;
	rd->n[rd->keys.n - 1] = n;
	return 0;
}

/* The stored value of name{labels}, or -1. */
static int64_t
metrics_lookup(const struct metrics_read *rd, const char *name,
    const char *labels)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < rd->keys.n; i++)
		if (strncmp(rd->keys.v[i], name, nl) == 0 &&
		    rd->keys.v[i][nl] == '\t' &&
		    strcmp(rd->keys.v[i] + nl + 1, labels) == 0)
			return (int64_t)(rd->n[i] & INT64_MAX);
	return -1;
}

static int
metrics_known(const struct metrics_def *d, const char *labels)
{
	size_t i;

	for (i = 0; d->known[i] != NULL; i++)
		if (strcmp(d->known[i], labels) == 0)
			return 1;
	return 0;
}

static void
metrics_series(struct metrics_text *t, const char *name, const char *l,
    uint64_t v)
{
	if (*l == '\0')
		metrics_printf(t, "%s %llu\n", name, (unsigned long long)v);
	else
		metrics_printf(t, "%s{%s} %llu\n", name, l,
		    (unsigned long long)v);
}

static void
metrics_counters(struct metrics_text *t, const struct metrics_read *rd)
{
	const struct metrics_def *d;
	size_t i, nl;
	int64_t v;

	for (d = metrics_defs; d->name != NULL; d++) {
		metrics_printf(t, "# HELP %s %s\n# TYPE %s counter\n", d->name,
		    d->help, d->name);
		for (i = 0; d->known[i] != NULL; i++) {
			v = metrics_lookup(rd, d->name, d->known[i]);
			metrics_series(t, d->name, d->known[i],
			    v < 0 ? 0 : (uint64_t)v);
		}
		nl = strlen(d->name);
		for (i = 0; i < rd->keys.n; i++)
			if (strncmp(rd->keys.v[i], d->name, nl) == 0 &&
			    rd->keys.v[i][nl] == '\t' &&
			    !metrics_known(d, rd->keys.v[i] + nl + 1))
				metrics_series(t, d->name,
				    rd->keys.v[i] + nl + 1, rd->n[i]);
	}
}

/* Gauges from the cache entries. */
struct metrics_gauges {
	int64_t		 now;
	uint64_t	 entries;
	uint64_t	 mode[3];	/* by enum mtasts_mode, unexpired */
	uint64_t	 expired;	/* policy text kept past max_age */
	uint64_t	 lapsing[3];	/* see metrics_gauges_text */
	int64_t		 oldest;	/* smallest fetched_at, 0 none */
};

static int
metrics_on_entry(const struct cache_entry *e, void *arg)
{
	struct metrics_gauges *g = arg;
	int mode = e->mode >= 0 && e->mode <= 2 ? e->mode : 0;

	g->entries++;
	if (e->text == NULL)
		return 0;
	if (e->expires_at <= g->now) {
		g->expired++;
		return 0;
	}
	g->mode[mode]++;
	if (g->oldest == 0 || e->fetched_at < g->oldest)
		g->oldest = e->fetched_at;
	/* RFC 8461 §10.2: protection ends silently when a policy expires
	 * unrefreshed.  A failure recorded at or after the last successful
	 * fetch (which clears it) means the refreshes since have failed. */
	if (e->expires_at - g->now <= METRICS_LAPSE_WINDOW &&
	    e->failed_at != 0 && e->failed_at >= e->fetched_at)
		g->lapsing[mode]++;
	return 0;
}

static void
metrics_gauges_text(struct metrics_text *t, const struct metrics_gauges *g)
{
	static const char *const modes[] = { "none", "testing", "enforce" };
	int i;

	metrics_printf(t, "# HELP mtasts_policies Cached policies in force "
	    "(not expired), by mode.\n# TYPE mtasts_policies gauge\n");
	for (i = 2; i >= 0; i--)
		metrics_printf(t, "mtasts_policies{mode=\"%s\"} %llu\n",
		    modes[i], (unsigned long long)g->mode[i]);
	metrics_printf(t, "# HELP mtasts_policies_expired Cached policies "
	    "past max_age (no longer applied).\n"
	    "# TYPE mtasts_policies_expired gauge\n"
	    "mtasts_policies_expired %llu\n", (unsigned long long)g->expired);
	metrics_printf(t, "# HELP mtasts_cache_entries Domains in the "
	    "policy cache, with or without a policy.\n"
	    "# TYPE mtasts_cache_entries gauge\nmtasts_cache_entries %llu\n",
	    (unsigned long long)g->entries);
	metrics_printf(t, "# HELP mtasts_policy_oldest_age_seconds Age of "
	    "the least recently fetched policy in force.\n"
	    "# TYPE mtasts_policy_oldest_age_seconds gauge\n"
	    "mtasts_policy_oldest_age_seconds %lld\n", g->oldest == 0 ? 0LL :
	    (long long)(g->now - g->oldest));
	metrics_printf(t, "# HELP mtasts_policies_lapsing Policies that "
	    "expire within 24 h and whose refresh failed since their last "
	    "successful fetch, by mode.\n"
	    "# TYPE mtasts_policies_lapsing gauge\n");
	for (i = 2; i >= 1; i--)
		metrics_printf(t, "mtasts_policies_lapsing{mode=\"%s\"} %llu\n",
		    modes[i], (unsigned long long)g->lapsing[i]);
}

MTASTS_API int
mtasts_metrics_text(struct mtasts_ctx *ctx, char **out, size_t *len)
{
	struct metrics_text t = { NULL, 0, 0, MTASTS_OK };
	struct metrics_read rd;
	struct metrics_gauges g;
	int r;

	if (out == NULL || len == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	*len = 0;
	if (ctx == NULL || ctx->cache == NULL)
		return MTASTS_EINVAL;
	if (ctx->metrics != NULL)
		metrics_flush(ctx);	/* our own counts too */
	memset(&rd, 0, sizeof(rd));
	memset(&g, 0, sizeof(g));
	g.now = (int64_t)time(NULL);
	if ((r = cache_counter_foreach_from(ctx->cache, "M\t", 2,
	    metrics_on_counter, &rd)) != MTASTS_OK ||
	    (r = cache_foreach(ctx->cache, metrics_on_entry, &g)) !=
	    MTASTS_OK)
		goto done;
	if ((t.p = util_malloc(t.size = 4096)) == NULL) {
		r = MTASTS_ENOMEM;
		goto done;
	}
	t.p[0] = '\0';
	metrics_printf(&t, "# HELP mtasts_build_info Version of libmtasts.\n"
	    "# TYPE mtasts_build_info gauge\n"
	    "mtasts_build_info{version=\"%s\"} 1\n", MTASTS_VERSION);
	metrics_counters(&t, &rd);
	metrics_gauges_text(&t, &g);
	if ((r = t.err) == MTASTS_OK) {
		*out = t.p;
		*len = t.len;
		t.p = NULL;
	}
done:
	strlist_clear(&rd.keys);
	util_free(rd.n);
	util_free(t.p);
	return r;
}
