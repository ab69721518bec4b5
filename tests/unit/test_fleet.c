/*
 * test_fleet.c - TLS results of a fleet (issue 16) with Debian's real
 * redis-server, started and stopped here on a unix socket in a
 * temporary directory (no port: nothing to collide with).  Three
 * "hosts" (own configurations and cache directories, separate
 * processes) record results; the counts one host walks are the fleet's
 * sums, exactly.  The store is killed (SIGKILL) mid-run and restarted
 * from its append-only file: results recorded meanwhile are spooled and
 * merged once, none lost or doubled.  The report lease: one host holds
 * a domain-day, the others are told who.  Skipped without redis-server.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtasts.h"

static char	dir[] = "/tmp/mtasts-test-fleet.XXXXXX";
static pid_t	redis_pid;

static int
redis_up(void)
{
	char sock[128];
	int i;

	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	unlink(sock);
	if ((redis_pid = fork()) == 0) {
		char conf[200];

		snprintf(conf, sizeof(conf), "%s/redis.conf", dir);
		execlp("redis-server", "redis-server", conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (access(sock, F_OK) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

static void
redis_kill(void)
{
	kill(redis_pid, SIGKILL);
	waitpid(redis_pid, NULL, 0);
}

static int
setup(void **state)
{
	char path[200];
	FILE *f;

	(void)state;
	if (system("command -v redis-server >/dev/null 2>&1") != 0)
		return 0;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/redis.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	/* Every write on disk before its reply: a SIGKILL loses none. */
	fprintf(f, "port 0\nunixsocket %s/redis.sock\ndir %s\nsave \"\"\n"
	    "appendonly yes\nappendfsync always\nlogfile %s/redis.log\n",
	    dir, dir, dir);
	fclose(f);
	return redis_up();
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (redis_pid > 0)
		redis_kill();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Host h's context: its own cache directory, the shared store. */
static struct mtasts_ctx *
host(int h, struct mtasts_config **cfg)
{
	char conf[512], err[MTASTS_ERRLEN];
	struct mtasts_ctx *ctx;

	snprintf(conf, sizeof(conf), "cache_dir = %s/host%d\nresolver = "
	    "127.0.0.1:9\nshared_cache = unix:%s/redis.sock\n"
	    "shared_command_timeout = 500ms\n", dir, h, dir);
	if (mtasts_config_parse(conf, strlen(conf), "test", cfg, err,
	    sizeof(err)) != MTASTS_OK || mtasts_ctx_new(NULL, *cfg, 0, &ctx,
	    err, sizeof(err)) != MTASTS_OK)
		fail_msg("host %d: %s", h, err);
	return ctx;
}

/* In a child process, as host h: n results of type for example.net. */
static void
record(int h, const char *type, const char *mx, int n)
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	char err[MTASTS_ERRLEN];
	pid_t pid;
	int i, st;

	if ((pid = fork()) == 0) {
		ctx = host(h, &cfg);
		for (i = 0; i < n; i++)
			if (mtasts_tls_result(ctx, "example.net", type, mx,
			    "192.0.2.1", err, sizeof(err)) != MTASTS_OK)
				_exit(1);
		mtasts_ctx_free(ctx);
		mtasts_config_free(cfg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

struct sums {
	uint64_t	ok, expired, other;
};

static int
on_count(const struct mtasts_tls_count *c, void *arg)
{
	struct sums *s = arg;

	if (strcmp(c->domain, "example.net") != 0)
		s->other += c->count;
	else if (strcmp(c->result, "success") == 0)
		s->ok += c->count;
	else if (strcmp(c->result, "certificate-expired") == 0)
		s->expired += c->count;
	else
		s->other += c->count;
	return 0;
}

static int
walk(int h, struct sums *s)
{
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx = host(h, &cfg);
	int r;

	memset(s, 0, sizeof(*s));
	r = mtasts_tls_count_foreach(ctx, on_count, s);
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	return r;
}

static void
test_sums(void **state)
{
	struct sums s;

	(void)state;
	if (redis_pid <= 0)
		skip();
	record(1, "success", "mx1.example.net", 10);
	record(2, "success", "mx1.example.net", 20);
	record(3, "success", "mx2.example.net", 30);
	record(2, "certificate-expired", "mx2.example.net", 3);
	/* Any host sees the fleet's sums, and again the same. */
	assert_int_equal(walk(1, &s), MTASTS_OK);
	assert_int_equal(s.ok, 60);
	assert_int_equal(s.expired, 3);
	assert_int_equal(s.other, 0);
	assert_int_equal(walk(3, &s), MTASTS_OK);
	assert_int_equal(s.ok, 60);
	assert_int_equal(s.expired, 3);
}

static void
test_store_killed(void **state)
{
	struct sums s;

	(void)state;
	if (redis_pid <= 0)
		skip();
	redis_kill();
	/* Recorded while the store is gone: spooled locally. */
	record(2, "success", "mx1.example.net", 5);
	record(3, "certificate-expired", "mx2.example.net", 2);
	/* No fleet report from one host's counts. */
	assert_int_equal(walk(1, &s), MTASTS_EIO);
	assert_int_equal(redis_up(), 0);
	/* Host 3 records once more: its spool is merged (once). */
	record(3, "success", "mx2.example.net", 1);
	/* Host 2 has recorded nothing since; its spool comes with its next
	 * walk (report run), or its next result. */
	assert_int_equal(walk(2, &s), MTASTS_OK);
	assert_int_equal(s.ok, 66);
	assert_int_equal(s.expired, 5);
	/* Pushed again and again: nothing doubles. */
	assert_int_equal(walk(2, &s), MTASTS_OK);
	assert_int_equal(walk(3, &s), MTASTS_OK);
	assert_int_equal(walk(1, &s), MTASTS_OK);
	assert_int_equal(s.ok, 66);
	assert_int_equal(s.expired, 5);
	assert_int_equal(s.other, 0);
}

static void
test_report_lease(void **state)
{
	struct mtasts_config *c1, *c2;
	struct mtasts_ctx *h1, *h2;
	char who[320];

	(void)state;
	if (redis_pid <= 0)
		skip();
	h1 = host(1, &c1);
	h2 = host(2, &c2);
	assert_int_equal(mtasts_report_claim(h1, "example.net", "2026-12-01",
	    who, sizeof(who)), MTASTS_OK);
	/* Renewed by its holder, refused to the others, with the name. */
	assert_int_equal(mtasts_report_claim(h1, "example.net", "2026-12-01",
	    who, sizeof(who)), MTASTS_OK);
	assert_int_equal(mtasts_report_claim(h2, "example.net", "2026-12-01",
	    who, sizeof(who)), MTASTS_EMULTIPLE);
	assert_non_null(strstr(who, "lease "));
	assert_non_null(strstr(who, "/host1"));
	/* Another domain or day is another lease. */
	assert_int_equal(mtasts_report_claim(h2, "example.org", "2026-12-01",
	    who, sizeof(who)), MTASTS_OK);
	/* Done is done, for every host, the holder too. */
	assert_int_equal(mtasts_report_done(h1, "example.net", "2026-12-01",
	    "delivered"), MTASTS_OK);
	assert_int_equal(mtasts_report_claim(h1, "example.net", "2026-12-01",
	    who, sizeof(who)), MTASTS_EMULTIPLE);
	assert_non_null(strstr(who, "done delivered "));
	/* The store gone: nobody may deliver. */
	redis_kill();
	assert_int_equal(mtasts_report_claim(h2, "example.com", "2026-12-01",
	    who, sizeof(who)), MTASTS_EIO);
	assert_int_equal(redis_up(), 0);
	mtasts_ctx_free(h1);
	mtasts_ctx_free(h2);
	mtasts_config_free(c1);
	mtasts_config_free(c2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_store_killed),
		cmocka_unit_test(test_report_lease),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
