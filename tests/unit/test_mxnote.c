/*
 * test_mxnote.c - MX address notes (core/mxnote.c), which name the
 * policy domain and MX host of an OpenSMTPD session that failed before
 * any recipient was sent (RFC 8460 §4.3 receiving-mx-hostname).  Notes
 * are read back from the shared cache as hostile input: a note that is
 * malformed, stale or from the future names nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"

#include "tmpctx.h"

/* Plant a note as the core would write it (or not). */
static void
plant(const char *key, const char *val)
{
	assert_int_equal(cache_note_put(ctx->cache, key, strlen(key), val,
	    strlen(val)), MTASTS_OK);
}

/* tmpl with its "@" replaced by t. */
static void
expand(char *out, size_t size, const char *tmpl, long long t)
{
	const char *at = strchr(tmpl, '@');

	if (at == NULL)
		snprintf(out, size, "%s", tmpl);
	else
		snprintf(out, size, "%.*s%lld%s", (int)(at - tmpl), tmpl, t,
		    at + 1);
}

static void
test_note_get(void **state)
{
	static const struct {
		const char	*ip;
		const char	*of;
		const char	*val;		/* "@": now + delta */
		long long	 delta;
		int		 r;
		const char	*domain;
		const char	*host;
	} rows[] = {
		{ "192.0.2.1", NULL, "a.test\tmx.a.test\t@", 0, MTASTS_OK,
		    "a.test", "mx.a.test" },
		{ "192.0.2.1", "a.test", "a.test\tmx2.a.test\t@", -60,
		    MTASTS_OK, "a.test", "mx2.a.test" },
		{ "192.0.2.2", NULL, "b.test\tmx.b.test\t@", -8 * 86400,
		    MTASTS_ENORECORD, NULL, NULL },	/* stale */
		{ "192.0.2.8", NULL, "b.test\tmx.b.test\t@", 3600,
		    MTASTS_ENORECORD, NULL, NULL },	/* future */
		{ "192.0.2.3", NULL, "b.test\tmx.b.test\t0", 0,
		    MTASTS_ENORECORD, NULL, NULL },	/* no time */
		{ "192.0.2.4", NULL, "b.test\tmx.b.test\t@x", 0,
		    MTASTS_ENORECORD, NULL, NULL },	/* junk after it */
		{ "192.0.2.5", NULL, "b.test mx.b.test @", 0,
		    MTASTS_EPARSE, NULL, NULL },	/* no tabs */
		{ "192.0.2.6", NULL, "b..test\tmx.b.test\t@", 0,
		    MTASTS_EPARSE, NULL, NULL },	/* not a domain */
		{ "192.0.2.7", NULL, "b.test\tmx/b.test\t@", 0,
		    MTASTS_EPARSE, NULL, NULL },	/* not a host */
		{ "2001:db8::1", NULL, "C.TEST.\tMX.C.test\t@", 0,
		    MTASTS_OK, "c.test", "mx.c.test" },	/* normalised */
	};
	char key[128], val[256], domain[MTASTS_DOMAIN_MAX + 1];
	char host[MTASTS_DOMAIN_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].of != NULL)
			snprintf(key, sizeof(key), "A\t%s\t%s", rows[i].ip,
			    rows[i].of);
		else
			snprintf(key, sizeof(key), "A\t%s", rows[i].ip);
		expand(val, sizeof(val), rows[i].val,
		    (long long)time(NULL) + rows[i].delta);
		plant(key, val);
		assert_int_equal(mtasts_mx_note_get(ctx, rows[i].ip,
		    rows[i].of, domain, sizeof(domain), host, sizeof(host)),
		    rows[i].r);
		if (rows[i].r != MTASTS_OK)
			continue;
		assert_string_equal(domain, rows[i].domain);
		assert_string_equal(host, rows[i].host);
	}
	/* Nothing noted for this address, or for this domain at it. */
	assert_int_equal(mtasts_mx_note_get(ctx, "198.51.100.1", NULL, domain,
	    sizeof(domain), host, sizeof(host)), MTASTS_ENORECORD);
	assert_int_equal(mtasts_mx_note_get(ctx, "192.0.2.1", "z.test",
	    domain, sizeof(domain), host, sizeof(host)), MTASTS_ENORECORD);
	/* Buffers too small for a domain name are refused. */
	assert_int_equal(mtasts_mx_note_get(ctx, "192.0.2.1", NULL, domain,
	    10, host, sizeof(host)), MTASTS_EINVAL);
}

static void
test_note_hostile_args(void **state)
{
	(void)state;
	assert_int_equal(mtasts_mx_note(ctx, "a.test", "mx a.test"),
	    MTASTS_EPARSE);
	assert_int_equal(mtasts_mx_note(ctx, "a..test", "mx.a.test"),
	    MTASTS_EPARSE);
	assert_int_equal(mtasts_mx_note(ctx, NULL, "mx.a.test"),
	    MTASTS_EINVAL);
	/* Accepted; its DNS lookup fails (nobody on port 9): no note. */
	assert_int_equal(mtasts_mx_note(ctx, "d.test", "mx.d.test"),
	    MTASTS_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_get),
		cmocka_unit_test(test_note_hostile_args),
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
