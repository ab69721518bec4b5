/*
 * test_cache.c - the shared Berkeley DB cache (checklist A7): the entry
 * codec against damaged bytes, the basic operations, atomic
 * read-modify-write across 8 processes, a writer killed with SIGKILL in
 * the middle of a transaction, use after fork(), and a corrupt database
 * file being set aside and rebuilt.
 */
#include <sys/stat.h>
#include <sys/types.h>
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

#include "cache.h"

#define NPROC	8
#define NITER	200

static char dir[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mtasts-test-cache.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A policy entry as decide.c would store it. */
static void
entry_make(struct cache_entry *e, const char *domain, const char *id)
{
	static const char text[] = "version: STSv1\nmode: enforce\n"
	    "mx: mx1.example.com\nmx: *.example.net\nmax_age: 86400\n";

	memset(e, 0, sizeof(*e));
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	snprintf(e->id, sizeof(e->id), "%s", id);
	e->text = strdup(text);
	e->text_len = sizeof(text) - 1;
	e->mode = MTASTS_MODE_ENFORCE;
	e->max_age = 86400;
	e->mx = calloc(2, sizeof(char *));
	e->mx[0] = strdup("mx1.example.com");
	e->mx[1] = strdup("*.example.net");
	e->nmx = 2;
	e->fetched_at = 1700000000;
	e->expires_at = e->fetched_at + e->max_age;
	e->fail_count = 3;
	e->fail_kind = CACHE_FAIL_WEBPKI;
	snprintf(e->failed_id, sizeof(e->failed_id), "%s", "old1");
	e->next_fetch_at = -5;	/* negative times survive too */
	e->lease_pid = 4242;
}

static void
entry_equal(const struct cache_entry *a, const struct cache_entry *b)
{
	size_t i;

	assert_string_equal(a->domain, b->domain);
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->text_len, b->text_len);
	assert_memory_equal(a->text, b->text, a->text_len);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->max_age, b->max_age);
	assert_int_equal(a->nmx, b->nmx);
	for (i = 0; i < a->nmx; i++)
		assert_string_equal(a->mx[i], b->mx[i]);
	assert_int_equal(a->fetched_at, b->fetched_at);
	assert_int_equal(a->expires_at, b->expires_at);
	assert_int_equal(a->fail_count, b->fail_count);
	assert_int_equal(a->fail_kind, b->fail_kind);
	assert_string_equal(a->failed_id, b->failed_id);
	assert_int_equal(a->next_fetch_at, b->next_fetch_at);
	assert_int_equal(a->lease_pid, b->lease_pid);
}

/* Every byte flip and every truncation is caught, never trusted. */
static void
test_codec_damage(void **state)
{
	struct cache_entry e, d;
	unsigned char *p;
	size_t len, i;

	(void)state;
	entry_make(&e, "example.com", "id20240101");
	assert_int_equal(cache_encode(&e, &p, &len), MTASTS_OK);
	assert_int_equal(cache_decode(p, len, &d), MTASTS_OK);
	entry_equal(&e, &d);
	cache_entry_clear(&d);
	for (i = 0; i < len; i++) {
		p[i] ^= 0x20;
		assert_int_not_equal(cache_decode(p, len, &d), MTASTS_OK);
		p[i] ^= 0x20;
		assert_int_not_equal(cache_decode(p, i, &d), MTASTS_OK);
	}
	free(p);
	cache_entry_clear(&e);
}

/* A checksum-valid entry that breaks the rules is still refused. */
static void
test_codec_rules(void **state)
{
	struct cache_entry e, d;
	unsigned char *p;
	size_t len;

	(void)state;
	entry_make(&e, "example.com", "id1");
	free(e.mx[1]);
	e.mx[1] = strdup("mx*.example.net");	/* no partial wildcard */
	assert_int_equal(cache_encode(&e, &p, &len), MTASTS_OK);
	assert_int_equal(cache_decode(p, len, &d), MTASTS_EPARSE);
	free(p);
	cache_entry_clear(&e);

	entry_make(&e, "example.com", "");	/* a policy needs an id */
	assert_int_equal(cache_encode(&e, &p, &len), MTASTS_OK);
	assert_int_equal(cache_decode(p, len, &d), MTASTS_EPARSE);
	free(p);
	cache_entry_clear(&e);
}

static void
test_basic(void **state)
{
	struct cache_entry e, g;
	struct cache_stats st;
	struct cache *c;
	char err[MTASTS_ERRLEN];
	struct stat sb;
	char path[300];

	(void)state;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_get(c, "example.com", &g), MTASTS_ENORECORD);
	entry_make(&e, "example.com", "id1");
	assert_int_equal(cache_put(c, &e), MTASTS_OK);
	assert_int_equal(cache_get(c, "example.com", &g), MTASTS_OK);
	entry_equal(&e, &g);
	cache_entry_clear(&g);
	assert_int_equal(cache_stats(c, &st), MTASTS_OK);
	assert_int_equal(st.entries, 1);
	assert_int_equal(cache_del(c, "example.com"), MTASTS_OK);
	assert_int_equal(cache_del(c, "example.com"), MTASTS_ENORECORD);
	assert_int_equal(cache_get(c, "example.com", &g), MTASTS_ENORECORD);
	cache_entry_clear(&e);
	cache_close(c);
	/* Shared through a group: 0660 whatever the umask. */
	snprintf(path, sizeof(path), "%s/policies.db", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0660);
}

static int
bump(struct cache_entry *e, int exists, void *arg)
{
	(void)exists;
	(void)arg;
	e->fail_count++;
	return 1;
}

static int
refuse(struct cache_entry *e, int exists, void *arg)
{
	(void)e;
	(void)exists;
	(void)arg;
	return -MTASTS_ENOMATCH;
}

static void
test_update(void **state)
{
	struct cache_entry g;
	struct cache *c;
	char err[MTASTS_ERRLEN];

	(void)state;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_update(c, "a.example", bump, NULL), MTASTS_OK);
	assert_int_equal(cache_update(c, "a.example", bump, NULL), MTASTS_OK);
	assert_int_equal(cache_update(c, "a.example", refuse, NULL),
	    MTASTS_ENOMATCH);
	assert_int_equal(cache_get(c, "a.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, 2);
	assert_null(g.text);
	cache_entry_clear(&g);
	cache_close(c);

	assert_int_equal(cache_open(dir, CACHE_RDONLY, &c, err, sizeof(err)),
	    MTASTS_OK);
	assert_int_not_equal(cache_update(c, "a.example", bump, NULL),
	    MTASTS_OK);
	cache_close(c);
}

static int
walk_count(const struct cache_entry *e, void *arg)
{
	struct { size_t n; char last[300]; } *w = arg;

	assert_true(strcmp(w->last, e->domain) < 0);	/* key order */
	snprintf(w->last, sizeof(w->last), "%s", e->domain);
	w->n++;
	return 0;
}

/* More entries than one batch, and fn writing while walking. */
static int
walk_write(const struct cache_entry *e, void *arg)
{
	struct cache *c = arg;

	return cache_update(c, e->domain, bump, NULL) != MTASTS_OK;
}

static void
test_foreach(void **state)
{
	struct { size_t n; char last[300]; } w;
	struct cache_entry e;
	struct cache *c;
	char err[MTASTS_ERRLEN], name[64];
	int i;

	(void)state;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	for (i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "d%04d.example", i);
		entry_make(&e, name, "id1");
		assert_int_equal(cache_put(c, &e), MTASTS_OK);
		cache_entry_clear(&e);
	}
	memset(&w, 0, sizeof(w));
	assert_int_equal(cache_foreach(c, walk_count, &w), MTASTS_OK);
	assert_int_equal(w.n, 600);
	assert_int_equal(cache_foreach(c, walk_write, c), MTASTS_OK);
	assert_int_equal(cache_get(c, "d0599.example", &e), MTASTS_OK);
	assert_int_equal(e.fail_count, 4);
	cache_entry_clear(&e);
	cache_close(c);
}

/* 8 processes x 200 read-modify-write transactions on one key and one
 * key each: no update lost, no error (issue 4: many MTA processes). */
static void
test_multiprocess(void **state)
{
	struct cache_entry g;
	struct cache *c;
	char err[MTASTS_ERRLEN], name[64];
	int i, j, status;
	pid_t pid[NPROC];

	(void)state;
	for (i = 0; i < NPROC; i++) {
		if ((pid[i] = fork()) != 0)
			continue;
		if (cache_open(dir, 0, &c, err, sizeof(err)) != MTASTS_OK)
			_exit(10);
		snprintf(name, sizeof(name), "p%d.example", i);
		for (j = 0; j < NITER; j++)
			if (cache_update(c, "shared.example", bump, NULL) !=
			    MTASTS_OK || cache_update(c, name, bump, NULL) !=
			    MTASTS_OK)
				_exit(11);
		cache_close(c);
		_exit(0);
	}
	for (i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_get(c, "shared.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, NPROC * NITER);
	cache_entry_clear(&g);
	assert_int_equal(cache_get(c, "p7.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, NITER);
	cache_entry_clear(&g);
	cache_close(c);
}

static int
die_inside(struct cache_entry *e, int exists, void *arg)
{
	(void)e;
	(void)exists;
	(void)arg;
	kill(getpid(), SIGKILL);	/* holding the write lock */
	return 1;
}

static int
verify_clean(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "db5.3_verify -q -h '%s' policies.db",
	    dir);
	return system(cmd);
}

/* A writer killed mid-transaction must not wedge anyone: the next
 * opener recovers (DB_REGISTER), a process already open reopens after
 * DB_RUNRECOVERY, the half-done write is rolled back. */
static void
test_sigkill(void **state)
{
	struct cache_entry g;
	struct cache *c, *early;
	char err[MTASTS_ERRLEN];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(cache_open(dir, 0, &early, err, sizeof(err)),
	    MTASTS_OK);
	assert_int_equal(cache_update(early, "k.example", bump, NULL),
	    MTASTS_OK);
	if ((pid = fork()) == 0) {
		if (cache_open(dir, 0, &c, err, sizeof(err)) != MTASTS_OK)
			_exit(10);
		cache_update(c, "k.example", die_inside, NULL);
		_exit(12);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_update(c, "k.example", bump, NULL), MTASTS_OK);
	assert_int_equal(cache_get(c, "k.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, 2);
	cache_entry_clear(&g);
	cache_close(c);
	/* The handle opened before the recovery still works. */
	assert_int_equal(cache_update(early, "k.example", bump, NULL),
	    MTASTS_OK);
	assert_int_equal(cache_get(early, "k.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, 3);
	cache_entry_clear(&g);
	cache_close(early);
	assert_int_equal(verify_clean(), 0);
}

/* A handle opened before fork() works in the child (fresh handles). */
static void
test_fork(void **state)
{
	struct cache_entry g;
	struct cache *c;
	char err[MTASTS_ERRLEN];
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	if ((pid = fork()) == 0)
		_exit(cache_update(c, "f.example", bump, NULL) == MTASTS_OK &&
		    cache_update(c, "f.example", bump, NULL) == MTASTS_OK ?
		    0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(cache_get(c, "f.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, 2);
	cache_entry_clear(&g);
	cache_close(c);
}

static void
garbage(void)
{
	char path[300], junk[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/policies.db", dir);
	assert_non_null(f = fopen(path, "w"));
	memset(junk, 'Z', sizeof(junk));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
}

/* Garbage in place of the whole database: recovery rebuilds it from
 * the logs while they reach back far enough; without them it is set
 * aside and started again (what can be salvaged is, see
 * test_cache_faults.c). */
static void
test_corrupt(void **state)
{
	struct cache_entry g;
	struct cache *c;
	char err[MTASTS_ERRLEN] = "", path[300];

	(void)state;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_update(c, "x.example", bump, NULL), MTASTS_OK);
	cache_close(c);
	garbage();
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_get(c, "x.example", &g), MTASTS_OK);
	assert_int_equal(g.fail_count, 1);
	cache_entry_clear(&g);
	cache_close(c);

	garbage();
	snprintf(path, sizeof(path), "rm -f '%s'/log.*", dir);
	assert_int_equal(system(path), 0);
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_get(c, "x.example", &g), MTASTS_ENORECORD);
	assert_int_equal(cache_update(c, "x.example", bump, NULL), MTASTS_OK);
	cache_close(c);
	snprintf(path, sizeof(path), "%s/policies.db.corrupt", dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(verify_clean(), 0);
}

static void
on_log(int prio, const char *msg, void *arg)
{
	(void)prio;
	(void)arg;
	fprintf(stderr, "log: %s\n", msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_damage),
		cmocka_unit_test(test_codec_rules),
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiprocess, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sigkill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
	};

	umask(022);
	mtasts_set_log(on_log, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
