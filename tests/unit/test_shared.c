/*
 * test_shared.c - fleet mode's pieces (issue 16): the shared_cache URL,
 * the shared_* keys, the bounded Redis reply reader, the stored policy
 * codec, and the client against fake servers on an ephemeral loopback
 * port (garbage, silence, a slow drip, a refused AUTH): each fails in
 * bounded time, logged once naming the store, and "back" once.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#ifdef MTASTS_REDIS_TLS
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

#include "mtasts.h"
#include "cache.h"
#include "redis.h"
#include "shared.h"

static char	logbuf[8192];
static int	nlog;

static void
on_log(int prio, const char *msg, void *arg)
{
	size_t n = strlen(logbuf);

	(void)prio;
	(void)arg;
	nlog++;
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", msg);
}

static void
log_reset(void)
{
	logbuf[0] = '\0';
	nlog = 0;
}

static const struct {
	const char	*url;
	int		 ok;
	const char	*host, *path, *user, *pass;
	unsigned int	 port, db;
	const char	*name;
} urls[] = {
	{ "redis://127.0.0.1:6379/0", 1, "127.0.0.1", "", "", "", 6379, 0,
	    "redis://127.0.0.1:6379/0" },
	{ "redis://10.0.0.5", 1, "10.0.0.5", "", "", "", 6379, 0,
	    "redis://10.0.0.5:6379/0" },
	{ "redis://:s3cret@10.0.0.5:7000/2", 1, "10.0.0.5", "", "", "s3cret",
	    7000, 2, "redis://10.0.0.5:7000/2" },
	{ "redis://mta:p:w@d@[::1]:6380/15", 1, "::1", "", "mta", "p:w@d",
	    6380, 15, "redis://[::1]:6380/15" },
	{ "redis://cache.example.net:6379/1", 1, "cache.example.net", "", "",
	    "", 6379, 1, "redis://cache.example.net:6379/1" },
	{ "unix:/run/redis/redis.sock", 1, "", "/run/redis/redis.sock", "",
	    "", 0, 0, "unix:/run/redis/redis.sock" },
	{ "unix:mta:s3c@r@/run/r.sock", 1, "", "/run/r.sock", "mta",
	    "s3c@r", 0, 0, "unix:/run/r.sock" },
	{ "unix::pw@/run/r.sock", 1, "", "/run/r.sock", "", "pw", 0, 0,
	    "unix:/run/r.sock" },
#ifdef MTASTS_REDIS_TLS
	{ "rediss://mta:pw@10.0.0.5:6380/1", 1, "10.0.0.5", "", "mta", "pw",
	    6380, 1, "rediss://10.0.0.5:6380/1" },
	{ "rediss://[::1]", 1, "::1", "", "", "", 6379, 0,
	    "rediss://[::1]:6379/0" },
#else
	{ "rediss://10.0.0.5:6379/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
#endif
	{ "unix:pw@/run/r.sock", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "unix::pw@run/r.sock", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "unix::@/run/r.sock", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "rediss://", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "rediss:/h/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "http://10.0.0.5/", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://h:0/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://h:65536/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://h:6379/", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://h:6379/x", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://pw@h/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://u:@h/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://u:p w@h/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://::1/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://[::1/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "redis://h;x/0", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "unix:relative", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
	{ "unix:", 0, NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static void
test_url(void **state)
{
	struct redis_url u;
	char why[160];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		r = redis_url_parse(urls[i].url, strlen(urls[i].url), &u, why,
		    sizeof(why));
		if (r != (urls[i].ok ? 0 : -1))
			fail_msg("%s: %d (%s)", urls[i].url, r, why);
		if (!urls[i].ok)
			continue;
		assert_string_equal(u.host, urls[i].host);
		assert_string_equal(u.path, urls[i].path);
		assert_string_equal(u.user, urls[i].user);
		assert_string_equal(u.pass, urls[i].pass);
		assert_int_equal(u.port, urls[i].port);
		assert_int_equal(u.db, urls[i].db);
		assert_string_equal(u.name, urls[i].name);
	}
#ifndef MTASTS_REDIS_TLS
	/* Without libhiredis_ssl (Debian 12) TLS is refused with a reason,
	 * never sent in clear. */
	assert_int_equal(redis_url_parse("rediss://h/0", 12, &u, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "libhiredis_ssl"));
#else
	assert_int_equal(redis_url_parse("rediss://h/0", 12, &u, why,
	    sizeof(why)), 0);
	assert_int_equal(u.tls, 1);
#endif
	/* An embedded NUL ends nothing early. */
	assert_int_equal(redis_url_parse("redis://h\0x/0", 13, &u, why,
	    sizeof(why)), -1);
}

static const char *
dump(const struct mtasts_config *c, const char *key, char *val,
    size_t size)
{
	const char *k;
	size_t i;

	for (i = 0; mtasts_config_item(c, i, &k, val, size) == MTASTS_OK;
	    i++)
		if (strcmp(k, key) == 0)
			return val;
	return NULL;
}

static void
test_config(void **state)
{
	static const char *const bad[] = {
#ifndef MTASTS_REDIS_TLS
		"shared_cache = rediss://h/0\n",
#endif
		"shared_ca_file = relative.pem\n",
		"shared_tls_name = a b\n",
		"shared_tls_name = a/b\n",
		"shared_cache = redis://h:99999/0\n",
		"shared_command_timeout = 5\n",		/* < 10 ms */
		"shared_command_timeout = 11s\n",
		"shared_connect_timeout = 100mms\n",
		"shared_connect_timeout = 1m\n",
		"shared_prefix = a\001b\n",
	};
	struct mtasts_config *c;
	char err[MTASTS_ERRLEN], val[600];
	const char *conf = "shared_cache = redis://fleet:pw0rd@10.1.2.3/4\n"
	    "shared_prefix = eu1:\nshared_connect_timeout = 2s\n"
	    "shared_command_timeout = 75ms\n";
	size_t i;

	(void)state;
	assert_int_equal(mtasts_config_parse("", 0, "t", &c, err,
	    sizeof(err)), MTASTS_OK);
	assert_string_equal(dump(c, "shared_cache", val, sizeof(val)), "");
	assert_string_equal(dump(c, "shared_prefix", val, sizeof(val)),
	    "mtasts:");
	assert_string_equal(dump(c, "shared_connect_timeout", val,
	    sizeof(val)), "500ms");
	assert_string_equal(dump(c, "shared_command_timeout", val,
	    sizeof(val)), "250ms");
	mtasts_config_free(c);
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t", &c, err,
	    sizeof(err)), MTASTS_OK);
	/* The dump never shows the password. */
	assert_string_equal(dump(c, "shared_cache", val, sizeof(val)),
	    "redis://fleet:****@10.1.2.3:6379/4");
	assert_string_equal(dump(c, "shared_prefix", val, sizeof(val)),
	    "eu1:");
	assert_string_equal(dump(c, "shared_connect_timeout", val,
	    sizeof(val)), "2000ms");
	assert_string_equal(dump(c, "shared_command_timeout", val,
	    sizeof(val)), "75ms");
	assert_string_equal(dump(c, "shared_ca_file", val, sizeof(val)), "");
	assert_string_equal(dump(c, "shared_tls_name", val, sizeof(val)), "");
	mtasts_config_free(c);
	conf = "shared_ca_file = /etc/mtasts/store-ca.pem\n"
	    "shared_tls_name = store.fleet.example\n";
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t", &c, err,
	    sizeof(err)), MTASTS_OK);
	assert_string_equal(dump(c, "shared_ca_file", val, sizeof(val)),
	    "/etc/mtasts/store-ca.pem");
	assert_string_equal(dump(c, "shared_tls_name", val, sizeof(val)),
	    "store.fleet.example");
	mtasts_config_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mtasts_config_parse(bad[i], strlen(bad[i]), "t", &c, err,
		    sizeof(err)) != MTASTS_EPARSE)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err, "t:1: "));
	}
}

/* The effective value of shared_cache never shows the password,
 * whatever the form of the URL; a bad one's error does not echo it. */
static void
test_redact(void **state)
{
	static const struct {
		const char	*url;
		const char	*shown;
	} cases[] = {
		{ "redis://:Pw1-x@10.0.0.5:7000/2",
		    "redis://:****@10.0.0.5:7000/2" },
		{ "redis://mta:Pw1-x@[::1]/3", "redis://mta:****@[::1]:6379/3" },
		{ "unix:mta:Pw1-x@/run/r.sock", "unix:mta:****@/run/r.sock" },
		{ "unix::Pw1-x@/run/r.sock", "unix::****@/run/r.sock" },
		{ "unix:/run/r.sock", "unix:/run/r.sock" },
#ifdef MTASTS_REDIS_TLS
		{ "rediss://mta:Pw1-x@10.0.0.5/0",
		    "rediss://mta:****@10.0.0.5:6379/0" },
#endif
	};
	struct mtasts_config *c;
	char conf[200], err[MTASTS_ERRLEN], val[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(conf, sizeof(conf), "shared_cache = %s\n",
		    cases[i].url);
		if (mtasts_config_parse(conf, strlen(conf), "t", &c, err,
		    sizeof(err)) != MTASTS_OK)
			fail_msg("%s: %s", cases[i].url, err);
		assert_string_equal(dump(c, "shared_cache", val, sizeof(val)),
		    cases[i].shown);
		mtasts_config_free(c);
	}
	snprintf(conf, sizeof(conf), "shared_cache = redis://:Pw1-x@h:x/0\n");
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t", &c, err,
	    sizeof(err)), MTASTS_EPARSE);
	assert_null(strstr(err, "Pw1-x"));
	snprintf(conf, sizeof(conf), "shared_cache = unix::Pw1 x@/r.sock\n");
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "t", &c, err,
	    sizeof(err)), MTASTS_EPARSE);
	assert_null(strstr(err, "Pw1"));
}

static const struct {
	const char	*in;
	size_t		 len;		/* 0: strlen */
	int		 r;		/* redis_reply_parse */
	int		 type;
} replies[] = {
	{ "+OK\r\n", 0, 1, REDIS_REPLY_STATUS },
	{ "-ERR no\r\n", 0, 1, REDIS_REPLY_ERROR },
	{ ":42\r\n", 0, 1, REDIS_REPLY_INTEGER },
	{ "$3\r\nabc\r\n", 0, 1, REDIS_REPLY_STRING },
	{ "$-1\r\n", 0, 1, REDIS_REPLY_NIL },
	{ "*2\r\n$1\r\na\r\n:1\r\n", 0, 1, REDIS_REPLY_ARRAY },
	{ "*0\r\n", 0, 1, REDIS_REPLY_ARRAY },
	{ "$3\r\na\0c\r\n", 9, 1, REDIS_REPLY_STRING },
	{ "$3\r\nab", 0, 0, 0 },			/* incomplete */
	{ "*3\r\n:1\r\n", 0, 0, 0 },
	{ "@garbage\r\n", 0, -1, 0 },
	{ "*2147483647\r\n", 0, -1, 0 },		/* refused count */
	{ "*65537\r\n", 0, -1, 0 },
	{ "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0,
	    -1, 0 },					/* too deep */
	{ "$x\r\n", 0, -1, 0 },
};

static void
test_replies(void **state)
{
	redisReply *rp;
	size_t i, len;
	int r;

	(void)state;
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		len = replies[i].len ? replies[i].len : strlen(replies[i].in);
		r = redis_reply_parse(replies[i].in, len, &rp);
		if (r != replies[i].r)
			fail_msg("reply %zu: %d, expected %d", i, r,
			    replies[i].r);
		if (r == 1)
			assert_int_equal(rp->type, replies[i].type);
		else
			assert_null(rp);
		redis_reply_free(rp);
	}
}

static const char pol[] = "version: STSv1\r\nmode: enforce\r\n"
    "mx: mx1.example.net\r\nmx: *.example.net\r\nmax_age: 86400\r\n";

static void
test_codec(void **state)
{
	struct cache_entry e, d;
	char *val, buf[512], err[MTASTS_ERRLEN];
	size_t len;
	int64_t now = 1800000000;
	int n;

	(void)state;
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc123\n%lld\n%s",
	    (long long)now - 100, pol);
	assert_int_equal(shared_policy_decode(buf, (size_t)n, "example.net",
	    now, &e, err, sizeof(err)), MTASTS_OK);
	assert_string_equal(e.id, "abc123");
	assert_string_equal(e.domain, "example.net");
	assert_int_equal(e.mode, MTASTS_MODE_ENFORCE);
	assert_int_equal(e.max_age, 86400);
	assert_int_equal(e.nmx, 2);
	assert_int_equal(e.expires_at, now - 100 + 86400);
	/* Round trip: encode, decode, same bytes. */
	assert_int_equal(shared_policy_encode(&e, &val, &len), MTASTS_OK);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(val, buf, len);
	assert_int_equal(shared_policy_decode(val, len, "example.net", now,
	    &d, err, sizeof(err)), MTASTS_OK);
	assert_string_equal(d.text, e.text);
	free(val);
	cache_entry_clear(&d);
	cache_entry_clear(&e);
	/* Hostile values: each refused with a reason. */
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc-123\n1\n%s",
	    pol);
	assert_int_equal(shared_policy_decode(buf, (size_t)n, "x.net", now,
	    &e, err, sizeof(err)), MTASTS_EPARSE);
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc\n%lld\n%s",
	    (long long)now + 3600, pol);		/* from the future */
	assert_int_equal(shared_policy_decode(buf, (size_t)n, "x.net", now,
	    &e, err, sizeof(err)), MTASTS_EPARSE);
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc\n%lld\n%s",
	    (long long)now - 86400, pol);		/* expired */
	assert_int_equal(shared_policy_decode(buf, (size_t)n, "x.net", now,
	    &e, err, sizeof(err)), MTASTS_ENORECORD);
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc\n1\nmode: none");
	assert_int_not_equal(shared_policy_decode(buf, (size_t)n, "x.net",
	    now, &e, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(shared_policy_decode("mtasts-policy 2\n", 16,
	    "x.net", now, &e, err, sizeof(err)), MTASTS_EPARSE);
	assert_int_equal(shared_policy_decode("mtasts-policy 1\nabc", 19,
	    "x.net", now, &e, err, sizeof(err)), MTASTS_EPARSE);
	assert_int_equal(shared_policy_decode("mtasts-policy 1\nabc\n"
	    "1234567890123456789\n", 40, "x.net", now, &e, err, sizeof(err)),
	    MTASTS_EPARSE);
}

#ifdef MTASTS_ALLOC_TEST
void	util_alloc_fail_at(unsigned long n);

/* Every allocation of the reply reader and the stored policy codec
 * failing in turn: an error each time, nothing leaked (ASan). */
static void
test_alloc_fail(void **state)
{
	static const char rep[] = "*3\r\n$3\r\nabc\r\n*1\r\n:1\r\n$-1\r\n";
	struct cache_entry e;
	char buf[512], err[MTASTS_ERRLEN];
	redisReply *rp;
	unsigned long i;
	int n, r, ok = 0;

	(void)state;
	n = snprintf(buf, sizeof(buf), "mtasts-policy 1\nabc\n1799999000\n%s",
	    pol);
	for (i = 1; i < 200 && ok < 2; i++) {
		ok = 0;
		util_alloc_fail_at(i);
		r = redis_reply_parse(rep, sizeof(rep) - 1, &rp);
		util_alloc_fail_at(0);
		if (r == 1) {
			assert_int_equal(rp->elements, 3);
			ok++;
		} else
			assert_null(rp);
		redis_reply_free(rp);
		util_alloc_fail_at(i);
		r = shared_policy_decode(buf, (size_t)n, "x.net", 1800000000,
		    &e, err, sizeof(err));
		util_alloc_fail_at(0);
		if (r == MTASTS_OK) {
			assert_int_equal(e.nmx, 2);
			cache_entry_clear(&e);
			ok++;
		} else
			assert_int_equal(r, MTASTS_ENOMEM);
	}
	assert_int_equal(ok, 2);	/* both got through in the end */
}
#endif

/* A fake store on an ephemeral loopback port: each connection gets
 * what(conn) written, then the socket stays open for hold_ms. */
struct fake {
	pid_t		pid;
	unsigned int	port;
};

static void
fake_start(struct fake *f, const char *const *answers, size_t n,
    unsigned int hold_ms, int drip)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char buf[512];
	size_t i, k;
	int s, c, one = 1;

	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	f->port = ntohs(sin.sin_port);
	if ((f->pid = fork()) != 0) {
		close(s);
		return;
	}
	alarm(20);
	for (i = 0; (c = accept(s, NULL, NULL)) >= 0; i++) {
		const char *a = answers[i < n ? i : n - 1];

		(void)!read(c, buf, sizeof(buf));	/* the command */
		if (drip)
			for (k = 0; a[k] != '\0'; k++) {
				(void)!write(c, a + k, 1);
				usleep(30000);
			}
		else
			(void)!write(c, a, strlen(a));
		usleep(hold_ms * 1000);
		close(c);
	}
	_exit(0);
}

static void
fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One GET against the fake: the reply, and how long it took. */
static redisReply *
fake_get(struct redis *r, int64_t *ms)
{
	const char *argv[2] = { "GET", "k" };
	size_t argvlen[2] = { 3, 1 };
	int64_t t0 = now_ms();
	redisReply *rp;

	rp = redis_cmd(r, REDIS_WANT(REDIS_REPLY_STRING) |
	    REDIS_WANT(REDIS_REPLY_NIL), 2, argv, argvlen);
	*ms = now_ms() - t0;
	return rp;
}

static void
test_hostile_store(void **state)
{
	static const struct {
		const char	*answer;
		int		 drip;
		const char	*logged;
	} cases[] = {
		{ "@garbage\r\n", 0, "garbage from the server" },
		{ "*2147483647\r\n", 0, "garbage from the server" },
		{ ":42\r\n", 0, "unusable answer: GET: reply of type 3" },
		{ "$-1\r\n+OK\r\n", 0, "garbage from the server: GET: "
		    "unsolicited bytes" },
		{ "-NOAUTH Authentication required.\r\n", 0,
		    "unusable answer: GET: error reply: NOAUTH" },
		{ "", 0, "unreachable: GET: no answer within 200 ms" },
		/* A byte every 30 ms: one deadline, not one per byte. */
		{ "$20\r\nabcdefghijklmnopqrst\r\n", 1,
		    "unreachable: GET: no answer within 200 ms" },
	};
	char url[64], want[160];
	struct fake f;
	struct redis *r;
	redisReply *rp;
	int64_t ms;
	size_t i;

	(void)state;
	mtasts_set_log(on_log, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *a[1] = { cases[i].answer };

		fake_start(&f, a, 1, 1000, cases[i].drip);
		snprintf(url, sizeof(url), "redis://127.0.0.1:%u/0", f.port);
		assert_int_equal(redis_new(url, NULL, 200, 200, &r), MTASTS_OK);
		log_reset();
		rp = fake_get(r, &ms);
		assert_null(rp);
		if (ms > 400)
			fail_msg("case %zu took %lld ms", i, (long long)ms);
		snprintf(want, sizeof(want), "shared cache %s: %s", url + 0,
		    cases[i].logged);
		if (strstr(logbuf, want) == NULL)
			fail_msg("case %zu: logged '%s', want '%s'", i, logbuf,
			    want);
		/* Backing off: the next call fails at once, silently. */
		log_reset();
		rp = fake_get(r, &ms);
		assert_null(rp);
		assert_true(ms < 20);
		assert_int_equal(nlog, 0);
		redis_free(r);
		fake_stop(&f);
	}
	mtasts_set_log(NULL, NULL);
}

static void
test_down_and_back(void **state)
{
	const char *a[] = { "-ERR invalid password\r\n", "+OK\r\n",
	    "$-1\r\n" };
	struct fake f;
	struct redis *r;
	redisReply *rp;
	char url[80];
	int64_t ms;

	(void)state;
	mtasts_set_log(on_log, NULL);
	/* The first connection's AUTH is refused, the second's taken. */
	fake_start(&f, a, 3, 0, 0);
	snprintf(url, sizeof(url), "redis://:pw@127.0.0.1:%u/0", f.port);
	assert_int_equal(redis_new(url, NULL, 200, 200, &r), MTASTS_OK);
	log_reset();
	assert_null(fake_get(r, &ms));
	assert_int_equal(nlog, 1);
	assert_non_null(strstr(logbuf, "unreachable: AUTH refused: "
	    "ERR invalid password"));
	assert_null(strstr(logbuf, "pw@"));
	fake_stop(&f);
	/* After the backoff a working store is used again: "back". */
	fake_start(&f, a + 1, 2, 0, 0);
	redis_free(r);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u/0", f.port);
	assert_int_equal(redis_new(url, NULL, 200, 200, &r), MTASTS_OK);
	log_reset();
	assert_null(fake_get(r, &ms));		/* "+OK" is not a GET reply */
	usleep(1100 * 1000);
	log_reset();
	assert_non_null(rp = fake_get(r, &ms));
	assert_int_equal(rp->type, REDIS_REPLY_NIL);
	redis_reply_free(rp);
	assert_non_null(strstr(logbuf, ": back"));
	assert_int_equal(nlog, 1);
	redis_free(r);
	fake_stop(&f);
	mtasts_set_log(NULL, NULL);
}

#ifdef MTASTS_REDIS_TLS
/*
 * rediss:// against a fake TLS store: a self-signed certificate for
 * "store.test", trusted through shared_ca_file.  The server answers
 * each GET with one TLS record, whole or a byte at a time: a record
 * that drips must not hold the command past its deadline (a blocking
 * SSL_read would wait for the whole record).
 */
static EVP_PKEY	*tls_key;
static X509	*tls_cert;
static char	 tls_ca[64];

static void
tls_setup(void)
{
	X509_NAME *n;
	FILE *f;
	int fd;

	assert_non_null(tls_key = EVP_EC_gen("P-256"));
	assert_non_null(tls_cert = X509_new());
	X509_set_version(tls_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(tls_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(tls_cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(tls_cert), 3600);
	X509_set_pubkey(tls_cert, tls_key);
	n = X509_get_subject_name(tls_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"store.test", -1, -1, 0);
	X509_set_issuer_name(tls_cert, n);
	assert_true(X509_sign(tls_cert, tls_key, EVP_sha256()) > 0);
	snprintf(tls_ca, sizeof(tls_ca), "/tmp/test_shared.XXXXXX");
	assert_true((fd = mkstemp(tls_ca)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	PEM_write_X509(f, tls_cert);
	fclose(f);
}

/* The server: handshake, read a command, answer a, hold, next. */
static void
tls_fake_start(struct fake *f, const char *a, int drip)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *mem;
	char buf[512], *rec;
	long len, k;
	int s, c, one = 1;

	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 8), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	f->port = ntohs(sin.sin_port);
	if ((f->pid = fork()) != 0) {
		close(s);
		return;
	}
	alarm(20);
	ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, tls_cert);
	SSL_CTX_use_PrivateKey(ctx, tls_key);
	SSL_CTX_set_num_tickets(ctx, 0);
	while ((c = accept(s, NULL, NULL)) >= 0) {
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1 && SSL_read(ssl, buf, sizeof(buf)) >
		    0) {
			/* The record into memory, then to the socket. */
			mem = BIO_new(BIO_s_mem());
			SSL_set0_wbio(ssl, mem);
			SSL_write(ssl, a, (int)strlen(a));
			len = BIO_get_mem_data(mem, &rec);
			for (k = 0; k < len; k += drip ? 1 : len) {
				(void)!write(c, rec + k, drip ? 1 :
				    (size_t)len);
				if (drip)
					usleep(30000);
			}
			usleep(500000);
		}
		SSL_free(ssl);
		close(c);
	}
	_exit(0);
}

static void
test_tls(void **state)
{
	struct redis_tls_opts o = { tls_ca, "store.test" };
	struct fake f;
	struct redis *r;
	redisReply *rp;
	char url[64];
	int64_t ms;

	(void)state;
	tls_setup();
	mtasts_set_log(on_log, NULL);
	/* A verified store answers. */
	tls_fake_start(&f, "$2\r\nok\r\n", 0);
	snprintf(url, sizeof(url), "rediss://127.0.0.1:%u/0", f.port);
	assert_int_equal(redis_new(url, &o, 1000, 200, &r), MTASTS_OK);
	log_reset();
	if ((rp = fake_get(r, &ms)) == NULL)
		fail_msg("no reply over TLS: %s", logbuf);
	assert_string_equal(rp->str, "ok");
	redis_reply_free(rp);
	redis_free(r);
	fake_stop(&f);
	/* One record a byte every 30 ms: the deadline holds. */
	tls_fake_start(&f, "$20\r\nabcdefghijklmnopqrst\r\n", 1);
	snprintf(url, sizeof(url), "rediss://127.0.0.1:%u/0", f.port);
	assert_int_equal(redis_new(url, &o, 1000, 200, &r), MTASTS_OK);
	log_reset();
	assert_null(fake_get(r, &ms));
	if (ms > 400)
		fail_msg("a dripping TLS record took %lld ms", (long long)ms);
	assert_non_null(strstr(logbuf, "unreachable: GET: no answer within "
	    "200 ms"));
	redis_free(r);
	fake_stop(&f);
	/* Another name, or no CA file (the system's store): no store. */
	tls_fake_start(&f, "$2\r\nok\r\n", 0);
	snprintf(url, sizeof(url), "rediss://127.0.0.1:%u/0", f.port);
	o.name = "other.test";
	assert_int_equal(redis_new(url, &o, 1000, 200, &r), MTASTS_OK);
	log_reset();
	assert_null(fake_get(r, &ms));
	assert_non_null(strstr(logbuf, "unreachable: TLS: server certificate "
	    "not verified: hostname mismatch"));
	redis_free(r);
	o.name = "store.test";
	o.ca_file = "";
	assert_int_equal(redis_new(url, &o, 1000, 200, &r), MTASTS_OK);
	log_reset();
	assert_null(fake_get(r, &ms));
	assert_non_null(strstr(logbuf, "unreachable: TLS: server certificate "
	    "not verified: "));
	redis_free(r);
	fake_stop(&f);
	mtasts_set_log(NULL, NULL);
	unlink(tls_ca);
	X509_free(tls_cert);
	EVP_PKEY_free(tls_key);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_codec),
#ifdef MTASTS_ALLOC_TEST
		cmocka_unit_test(test_alloc_fail),
#endif
		cmocka_unit_test(test_hostile_store),
		cmocka_unit_test(test_down_and_back),
#ifdef MTASTS_REDIS_TLS
		cmocka_unit_test(test_tls),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
