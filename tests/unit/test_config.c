/*
 * test_config.c - mtasts.conf(5): defaults, every key, strict errors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <mtasts.h>

#include "config.h"

static struct mtasts_config *
parse_ok(const char *text)
{
	struct mtasts_config *cfg = NULL;
	char err[MTASTS_ERRLEN] = "";
	int r;

	r = mtasts_config_parse(text, strlen(text), "t.conf", &cfg, err,
	    sizeof(err));
	if (r != MTASTS_OK)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, MTASTS_OK);
	assert_non_null(cfg);
	return cfg;
}

static void
test_defaults(void **state)
{
	struct mtasts_config *cfg = parse_ok("");

	(void)state;
	assert_string_equal(cfg->cache_dir, "/var/lib/mtasts");
	assert_string_equal(cfg->resolver, "");
	assert_string_equal(cfg->ca_file,
	    "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(cfg->dns_timeout, 5);
	assert_int_equal(cfg->fetch_timeout, 10);
	assert_int_equal(cfg->retry_interval, 300);
	assert_int_equal(cfg->refresh_horizon, 86400);
	assert_int_equal(cfg->strict_testing, 0);
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_string_equal(cfg->dane_resolver, "");
	assert_string_equal(cfg->socketmap_dane, "dane-only");
	assert_int_equal(cfg->socketmap_tlsrpt, 0);
	assert_string_equal(cfg->socketmap_tlsrpt_level, "may");
	mtasts_config_free(cfg);
}

static void
test_every_key(void **state)
{
	struct mtasts_config *cfg = parse_ok(
	    "# mtasts.conf\n"
	    "cache_dir     = /tmp/mtasts-cache\n"
	    "resolver      = 127.0.0.1:5353, [::1]:53 , 10.0.0.1 # comment\n"
	    "ca_file=/etc/x.pem\n"
	    "\tdns_timeout = 7\n"
	    "connect_timeout = 3s\r\n"
	    "fetch_timeout = 1m\n"
	    "query_timeout = 20s\n"
	    "retry_interval = 10m\n"
	    "refresh_horizon = 2d\n"
	    "strict_testing = yes\n"
	    "log_level = debug\n"
	    "dane_resolver = 127.0.9.54\n"
	    "socketmap_dane = dane\n"
	    "socketmap_tlsrpt = yes\n"
	    "socketmap_tlsrpt_level = encrypt\n"
	    "\n   \n# end\n");

	(void)state;
	assert_string_equal(cfg->cache_dir, "/tmp/mtasts-cache");
	assert_string_equal(cfg->resolver,
	    "127.0.0.1:5353,[::1]:53,10.0.0.1:53");
	assert_string_equal(cfg->ca_file, "/etc/x.pem");
	assert_int_equal(cfg->dns_timeout, 7);
	assert_int_equal(cfg->connect_timeout, 3);
	assert_int_equal(cfg->fetch_timeout, 60);
	assert_int_equal(cfg->query_timeout, 20);
	assert_int_equal(cfg->retry_interval, 600);
	assert_int_equal(cfg->refresh_horizon, 2 * 86400);
	assert_int_equal(cfg->strict_testing, 1);
	assert_int_equal(cfg->log_level, LOG_LVL_DEBUG);
	assert_string_equal(cfg->dane_resolver, "127.0.9.54:53");
	assert_string_equal(cfg->socketmap_dane, "dane");
	assert_int_equal(cfg->socketmap_tlsrpt, 1);
	assert_string_equal(cfg->socketmap_tlsrpt_level, "encrypt");
	mtasts_config_free(cfg);
}

struct bad {
	const char	*text;
	const char	*msg;		/* substring of the error */
};

static const struct bad bad_rows[] = {
	{ "cache_dri = /x\n", "t.conf:1: unknown key 'cache_dri'" },
	{ "\n\nlog_level = info\nlog_level = debug\n", "t.conf:4: 'log_level' set twice" },
	{ "retry_interval = 4m\n", "t.conf:1: retry_interval: must be between 300s" },
	{ "retry_interval = 299\n", "between 300s" },
	{ "dns_timeout = 0\n", "dns_timeout: must be between" },
	{ "dns_timeout = 5x\n", "expected a duration" },
	{ "dns_timeout = -5\n", "expected a duration" },
	{ "dns_timeout = 99999999999s\n", "expected a duration" },
	{ "dns_timeout =\n", "expected a duration" },
	{ "strict_testing = maybe\n", "expected yes or no" },
	{ "log_level = verbose\n", "expected err, warning" },
	{ "socketmap_dane = secure\n", "expected dane-only or dane" },
	{ "socketmap_tlsrpt = sometimes\n", "expected yes or no" },
	{ "socketmap_tlsrpt_level = none\n", "expected may, encrypt or dane" },
	{ "socketmap_tlsrpt_level = secure\n", "expected may, encrypt" },
	{ "socketmap_tlsrpt_level = mayy\n", "expected may, encrypt" },
	{ "socketmap_dane = dane-onl\n", "expected dane-only or dane" },
	{ "socketmap_dane =\n", "expected dane-only or dane" },
	{ "dane_resolver = unbound.local\n", "expected IP[:port]" },
	{ "cache_dir = relative/path\n", "absolute path" },
	{ "resolver = 127.0.0.1:99999\n", "expected IP[:port]" },
	{ "resolver = 127.0.0.1,\n", "expected IP[:port]" },
	{ "resolver = dns.example.com\n", "expected IP[:port]" },
	{ "resolver = [::1\n", "expected IP[:port]" },
	{ "resolver = 1.2.3.4:53:53\n", "expected IP[:port]" },
	{ "just words\n", "t.conf:1: expected \"key = value\"" },
	{ "= value\n", "expected \"key = value\"" },
	{ "cache_dir /x\n", "expected \"key = value\"" },
	{ "ca_file = /a\001b\n", "control character" },
};

static void
test_bad(void **state)
{
	struct mtasts_config *cfg;
	char err[MTASTS_ERRLEN];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		err[0] = '\0';
		cfg = (struct mtasts_config *)1;
		r = mtasts_config_parse(bad_rows[i].text,
		    strlen(bad_rows[i].text), "t.conf", &cfg, err,
		    sizeof(err));
		if (r != MTASTS_EPARSE || strstr(err, bad_rows[i].msg) ==
		    NULL)
			print_error("row %zu: got %d '%s', want '%s'\n", i,
			    r, err, bad_rows[i].msg);
		assert_int_equal(r, MTASTS_EPARSE);
		assert_non_null(strstr(err, bad_rows[i].msg));
		assert_null(cfg);
	}
}

static void
test_long_line_and_nul(void **state)
{
	struct mtasts_config *cfg;
	char err[MTASTS_ERRLEN], *big;
	static const char nul[] = "cache_dir = /a\0b\n";
	int r;

	(void)state;
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'a', 1 << 20);
	r = mtasts_config_parse(big, 1 << 20, "big", &cfg, err, sizeof(err));
	assert_int_equal(r, MTASTS_EPARSE);
	assert_non_null(strstr(err, "big:1: line longer"));
	free(big);
	r = mtasts_config_parse(nul, sizeof(nul) - 1, "nul", &cfg, err,
	    sizeof(err));
	assert_int_equal(r, MTASTS_EPARSE);
}

static void
test_load(void **state)
{
	char path[] = "/tmp/mtasts-conf-XXXXXX", err[MTASTS_ERRLEN];
	struct mtasts_config *cfg;
	FILE *f;
	int fd, r;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("fetch_timeout = 30s\nbogus = 1\n", f);
	fclose(f);
	r = mtasts_config_load(path, &cfg, err, sizeof(err));
	assert_int_equal(r, MTASTS_EPARSE);
	assert_non_null(strstr(err, ":2: unknown key 'bogus'"));
	assert_non_null(strstr(err, path));
	unlink(path);
	/* An explicit file that does not exist is an error, and *out is
	 * NULL as after any error (libmtasts(3)): a caller may free it. */
	cfg = (struct mtasts_config *)&fd;
	r = mtasts_config_load(path, &cfg, err, sizeof(err));
	assert_int_equal(r, MTASTS_EINVAL);
	assert_non_null(strstr(err, "No such file"));
	assert_null(cfg);
	/* ... and so is $MTASTS_CONF naming one. */
	setenv("MTASTS_CONF", path, 1);
	cfg = (struct mtasts_config *)&fd;
	r = mtasts_config_load(NULL, &cfg, err, sizeof(err));
	assert_int_equal(r, MTASTS_EINVAL);
	assert_null(cfg);
	unsetenv("MTASTS_CONF");
}

static void
test_dump(void **state)
{
	struct mtasts_config *cfg = parse_ok("retry_interval = 1h\n");
	const char *key;
	char val[CONFIG_PATH_MAX];
	size_t i;
	int seen = 0;

	(void)state;
	for (i = 0; mtasts_config_item(cfg, i, &key, val, sizeof(val)) ==
	    MTASTS_OK; i++)
		if (strcmp(key, "retry_interval") == 0) {
			assert_string_equal(val, "3600s");
			seen = 1;
		}
	assert_true(seen);
	assert_true(i >= 10);
	mtasts_config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_dump),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
