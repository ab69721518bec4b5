/*
 * test_cloexec.c - a context's descriptors (libevent, c-ares, curl's
 * multi wakeup socketpair, the Berkeley DB files) never leak into a
 * program the MTA executes later: Exim runs pipe transports from the
 * process that called the module, smtpd its mda.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtasts.h"

static void
test_no_fd_without_cloexec(void **state)
{
	char dir[] = "/tmp/mtasts-test-cloexec.XXXXXX", conf[256], cmd[300];
	char err[MTASTS_ERRLEN], before[1024];
	struct mtasts_config *cfg;
	struct mtasts_result *res;
	struct mtasts_ctx *ctx;
	int fd, leaks = 0;

	(void)state;
	for (fd = 0; fd < 1024; fd++)
		before[fd] = fcntl(fd, F_GETFD) != -1;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\ndns_timeout = 1s\n", dir);
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "test", &cfg,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(NULL, cfg, 0, &ctx, err, sizeof(err)),
	    MTASTS_OK);
	/* Nobody answers on port 9: a quick, failed discovery. */
	assert_int_equal(mtasts_query_wait(ctx, "example.com", 0, &res, err,
	    sizeof(err)), MTASTS_OK);
	mtasts_result_free(res);
	for (fd = 3; fd < 1024; fd++)
		if (!before[fd] && fcntl(fd, F_GETFD) != -1 &&
		    !(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
			fprintf(stderr, "fd %d open without FD_CLOEXEC\n", fd);
			leaks++;
		}
	assert_int_equal(leaks, 0);
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_fd_without_cloexec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
