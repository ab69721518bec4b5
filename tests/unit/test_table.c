/*
 * test_table.c - table-mtasts (opensmtpd-filter/table/): its imsg
 * framing (wire.c) alone, then the real program (TABLE_BIN) driven
 * over a socketpair on its fd 0, exactly as smtpd 6.8 runs it, with a
 * cache prepared here.  smtpd's lka exits if a table backend dies or
 * answers out of turn, so: every well-framed request gets one reply,
 * malformed ones an error, and only a broken frame ends the program.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
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
#include "../../opensmtpd-filter/table/table.h"

#ifndef TABLE_BIN
#define TABLE_BIN "build/table-mtasts"
#endif

/* A request frame: header, then int service, size_t nparams, key. */
static size_t
frame_key(uint8_t *out, uint32_t type, int32_t service, size_t nparams,
    const char *key, size_t klen)
{
	uint16_t	len = (uint16_t)(TABLE_HDR_SIZE + 4 + sizeof(size_t) +
			    klen);

	memset(out, 0, TABLE_HDR_SIZE);
	memcpy(out, &type, 4);
	memcpy(out + 4, &len, 2);
	memcpy(out + TABLE_HDR_SIZE, &service, 4);
	memcpy(out + TABLE_HDR_SIZE + 4, &nparams, sizeof(size_t));
	memcpy(out + TABLE_HDR_SIZE + 4 + sizeof(size_t), key, klen);
	return len;
}

static size_t
frame_empty(uint8_t *out, uint32_t type)
{
	uint16_t	len = TABLE_HDR_SIZE;

	memset(out, 0, TABLE_HDR_SIZE);
	memcpy(out, &type, 4);
	memcpy(out + 4, &len, 2);
	return len;
}

static void
test_wire_frame(void **state)
{
	uint8_t		buf[64];
	uint16_t	bad;
	size_t		n;

	(void)state;
	n = frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 0, "a.test", 7);
	assert_int_equal(wire_frame(buf, 0), 0);
	assert_int_equal(wire_frame(buf, TABLE_HDR_SIZE - 1), 0);
	assert_int_equal(wire_frame(buf, n - 1), 0);	/* need more */
	assert_int_equal(wire_frame(buf, n), (ssize_t)n);
	assert_int_equal(wire_frame(buf, sizeof(buf)), (ssize_t)n);
	bad = TABLE_HDR_SIZE - 1;			/* impossible */
	memcpy(buf + 4, &bad, 2);
	assert_int_equal(wire_frame(buf, sizeof(buf)), -1);
	bad = TABLE_FRAME_MAX + 1;
	memcpy(buf + 4, &bad, 2);
	assert_int_equal(wire_frame(buf, sizeof(buf)), -1);
}

static void
test_wire_decode(void **state)
{
	static const struct {
		uint32_t	 type;
		size_t		 nparams;
		const char	*key;
		size_t		 klen;
		int		 malformed;
	} rows[] = {
		{ TABLE_CHECK, 0, "example.com", 12, 0 },
		{ TABLE_LOOKUP, 0, "example.com", 12, 0 },
		{ TABLE_CHECK, 1, "example.com", 12, 1 },  /* params */
		{ TABLE_CHECK, 0, "example.com", 11, 1 },  /* no NUL */
		{ TABLE_CHECK, 0, "exa\0mple.com", 13, 1 }, /* two NULs */
		{ TABLE_LOOKUP, 0, "", 0, 1 },		    /* no key */
		{ 99, 0, "example.com", 12, 1 },	    /* unknown type */
	};
	struct table_req	req;
	uint8_t			buf[128];
	size_t			i, n;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = frame_key(buf, rows[i].type, TABLE_K_DOMAIN,
		    rows[i].nparams, rows[i].key, rows[i].klen);
		wire_decode(buf, n, &req);
		assert_int_equal(req.malformed, rows[i].malformed);
		if (!rows[i].malformed)
			assert_string_equal(req.key, rows[i].key);
	}
	n = frame_empty(buf, TABLE_UPDATE);
	wire_decode(buf, n, &req);
	assert_int_equal(req.malformed, 0);
	n = frame_empty(buf, TABLE_OPEN);	/* OPEN needs its 2052 bytes */
	wire_decode(buf, n, &req);
	assert_int_equal(req.malformed, 1);
}

static void
test_wire_reply(void **state)
{
	uint8_t		out[64];
	uint32_t	type;
	uint16_t	len;
	int32_t		r;
	size_t		n;

	(void)state;
	assert_int_equal(wire_reply(out, sizeof(out), 0, 0, NULL),
	    TABLE_HDR_SIZE);
	n = wire_reply(out, sizeof(out), 1, 1, "smtp+tls://mx.a.test");
	assert_int_equal(n, TABLE_HDR_SIZE + 4 + 21);
	memcpy(&type, out, 4);
	memcpy(&len, out + 4, 2);
	memcpy(&r, out + TABLE_HDR_SIZE, 4);
	assert_int_equal(type, TABLE_OK);
	assert_int_equal(len, n);
	assert_int_equal(r, 1);
	assert_string_equal((char *)out + TABLE_HDR_SIZE + 4,
	    "smtp+tls://mx.a.test");
	/* The value goes only with r == 1; too small a buffer: 0. */
	assert_int_equal(wire_reply(out, sizeof(out), 1, 0, "x"),
	    TABLE_HDR_SIZE + 4);
	assert_int_equal(wire_reply(out, TABLE_HDR_SIZE + 3, 1, -1, NULL), 0);
}

/* The program under test, its socket, its directory. */
struct proc {
	pid_t	pid;
	int	fd;
	char	dir[64];
	char	conf[128];
};

static void
cache_add(const char *dir, const char *domain, int mode, int64_t expires)
{
	static char		 text[] = "version: STSv1\nmode: enforce\n"
				    "mx: mx.a.test\nmax_age: 86400\n";
	static char		 mx0[] = "mx.a.test";
	static char		*mx[] = { mx0 };
	struct cache_entry	 e;
	struct cache		*c;
	char			 err[MTASTS_ERRLEN];

	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "%s", domain);
	snprintf(e.id, sizeof(e.id), "id1");
	e.text = text;
	e.text_len = strlen(text);
	e.mode = mode;
	e.max_age = 86400;
	e.mx = mx;
	e.nmx = 1;
	e.fetched_at = e.txt_checked_at = expires - 86400;
	e.expires_at = expires;
	assert_int_equal(cache_open(dir, 0, &c, err, sizeof(err)), MTASTS_OK);
	assert_int_equal(cache_put(c, &e), MTASTS_OK);
	cache_close(c);
}

static void
proc_start(struct proc *p)
{
	FILE	*f;
	int	 sp[2];

	snprintf(p->dir, sizeof(p->dir), "/tmp/mtasts-test-table.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->conf, sizeof(p->conf), "%s/mtasts.conf", p->dir);
	assert_non_null(f = fopen(p->conf, "w"));
	/* Nobody answers DNS on port 9: lookups fail, quickly. */
	fprintf(f, "cache_dir = %s\nresolver = 127.0.0.1:9\n"
	    "dns_timeout = 1s\n", p->dir);
	fclose(f);
	cache_add(p->dir, "enforce.test", MTASTS_MODE_ENFORCE,
	    time(NULL) + 3600);
	cache_add(p->dir, "testing.test", MTASTS_MODE_TESTING,
	    time(NULL) + 3600);
	cache_add(p->dir, "expired.test", MTASTS_MODE_ENFORCE,
	    time(NULL) - 10);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_not_equal(p->pid = fork(), -1);
	if (p->pid == 0) {
		dup2(sp[0], STDIN_FILENO);
		close(sp[0]);
		close(sp[1]);
		execl(TABLE_BIN, "mtasts", p->conf, (char *)NULL);
		_exit(127);
	}
	close(sp[0]);
	p->fd = sp[1];
}

/* Exit status of the program, once it has exited. */
static int
proc_wait(struct proc *p)
{
	char	cmd[128];
	int	st;

	close(p->fd);
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
	assert_int_equal(system(cmd), 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
proc_send(struct proc *p, const uint8_t *buf, size_t len)
{
	assert_int_equal(write(p->fd, buf, len), (ssize_t)len);
}

/* Read one reply within 10 s: its r (INT32_MIN if it carries none) and
 * its value, if any, into val. */
static int32_t
proc_reply(struct proc *p, char *val, size_t size)
{
	uint8_t		buf[TABLE_FRAME_MAX];
	size_t		len = 0;
	ssize_t		flen = 0, n;
	struct pollfd	pfd = { p->fd, POLLIN, 0 };
	int32_t		r = INT32_MIN;

	while ((flen = wire_frame(buf, len)) == 0) {
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		/* One byte at a time: never read into the next reply. */
		assert_int_equal(n = read(p->fd, buf + len, 1), 1);
		len += (size_t)n;
	}
	assert_int_equal(flen, (ssize_t)len);
	if (val != NULL)
		val[0] = '\0';
	if (len >= TABLE_HDR_SIZE + 4)
		memcpy(&r, buf + TABLE_HDR_SIZE, 4);
	if (len > TABLE_HDR_SIZE + 4 && val != NULL)
		snprintf(val, size, "%.*s", (int)(len - TABLE_HDR_SIZE - 5),
		    (char *)buf + TABLE_HDR_SIZE + 4);
	return r;
}

static int32_t
proc_ask(struct proc *p, uint32_t type, int32_t service, const char *key)
{
	uint8_t	buf[512];

	proc_send(p, buf, frame_key(buf, type, service, 0, key,
	    strlen(key) + 1));
	return proc_reply(p, NULL, 0);
}

static void
test_proc_answers(void **state)
{
	struct proc	p;
	uint8_t		buf[TABLE_HDR_SIZE + 4 + TABLE_OPEN_NAME_SIZE];
	uint16_t	len = sizeof(buf);
	uint32_t	type = TABLE_OPEN, version = TABLE_API_VERSION;

	(void)state;
	proc_start(&p);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &type, 4);
	memcpy(buf + 4, &len, 2);
	memcpy(buf + TABLE_HDR_SIZE, &version, 4);
	memcpy(buf + TABLE_HDR_SIZE + 4, "mtasts", 6);
	proc_send(&p, buf, sizeof(buf));
	assert_int_equal(proc_reply(&p, NULL, 0), INT32_MIN);	/* no data */
	assert_int_equal(proc_ask(&p, TABLE_CHECK, TABLE_K_DOMAIN,
	    "enforce.test"), 1);
	assert_int_equal(proc_ask(&p, TABLE_CHECK, TABLE_K_DOMAIN,
	    "testing.test"), 0);
	/* An expired policy is no policy (RFC 8461 §5.1). */
	assert_int_equal(proc_ask(&p, TABLE_CHECK, TABLE_K_DOMAIN,
	    "expired.test"), 0);
	assert_int_equal(proc_ask(&p, TABLE_CHECK, TABLE_K_DOMAIN,
	    "unknown.test"), 0);
	/* DNS does not answer: no relay host, an error (smtpd defers). */
	assert_int_equal(proc_ask(&p, TABLE_LOOKUP, TABLE_K_RELAYHOST,
	    "enforce.test"), -1);
	proc_send(&p, buf, frame_empty(buf, TABLE_UPDATE));
	assert_int_equal(proc_reply(&p, NULL, 0), 1);
	proc_send(&p, buf, frame_empty(buf, TABLE_CLOSE));
	assert_int_equal(proc_wait(&p), 0);
}

static void
test_proc_hostile(void **state)
{
	static const char	 twonul[] = "enforce.test\0x";
	struct proc		 p;
	uint8_t			 buf[1024], two[256];
	size_t			 n, m, i;

	(void)state;
	proc_start(&p);
	/* Malformed data in good frames: one error reply each. */
	proc_send(&p, buf, frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 1,
	    "enforce.test", 13));
	assert_int_equal(proc_reply(&p, NULL, 0), -1);
	proc_send(&p, buf, frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 0,
	    "enforce.test", 12));
	assert_int_equal(proc_reply(&p, NULL, 0), -1);
	proc_send(&p, buf, frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 0,
	    twonul, sizeof(twonul)));
	assert_int_equal(proc_reply(&p, NULL, 0), -1);
	assert_int_equal(proc_ask(&p, TABLE_CHECK, 0x001, "enforce.test"), -1);
	assert_int_equal(proc_ask(&p, TABLE_LOOKUP, 0x004, "a"), -1);
	assert_int_equal(proc_ask(&p, 77, TABLE_K_DOMAIN, "enforce.test"), -1);
	assert_int_equal(proc_ask(&p, TABLE_CHECK, TABLE_K_DOMAIN,
	    "not a domain\n|x"), 0);
	/* One byte per write, then two requests in one write. */
	n = frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 0, "enforce.test", 13);
	for (i = 0; i < n; i++) {
		proc_send(&p, buf + i, 1);
		usleep(1000);
	}
	assert_int_equal(proc_reply(&p, NULL, 0), 1);
	m = frame_key(two, TABLE_CHECK, TABLE_K_DOMAIN, 0, "testing.test", 13);
	memcpy(buf + n, two, m);
	proc_send(&p, buf, n + m);
	assert_int_equal(proc_reply(&p, NULL, 0), 1);
	assert_int_equal(proc_reply(&p, NULL, 0), 0);
	/* A header that cannot be smtpd's: the stream is lost, exit 1. */
	memset(buf, 0xff, TABLE_HDR_SIZE);
	proc_send(&p, buf, TABLE_HDR_SIZE);
	assert_int_equal(proc_wait(&p), 1);
}

static void
test_proc_eof(void **state)
{
	struct proc	p;
	uint8_t		buf[64];

	(void)state;
	proc_start(&p);
	/* smtpd gone in the middle of a frame: a clean exit. */
	proc_send(&p, buf, frame_key(buf, TABLE_CHECK, TABLE_K_DOMAIN, 0,
	    "enforce.test", 13) - 3);
	assert_int_equal(proc_wait(&p), 0);
}

/* One reply line (without its newline) within 10 s. */
static void
proc_line(struct proc *p, char *line, size_t size)
{
	struct pollfd	pfd = { p->fd, POLLIN, 0 };
	size_t		len = 0;
	char		c;

	for (;;) {
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_int_equal(read(p->fd, &c, 1), 1);
		if (c == '\n')
			break;
		assert_true(len + 1 < size);
		line[len++] = c;
	}
	line[len] = '\0';
}

static void
proc_say(struct proc *p, const char *text)
{
	proc_send(p, (const uint8_t *)text, strlen(text));
}

/* OpenSMTPD 7.6+: the same answers over the text protocol. */
static void
test_proc_text(void **state)
{
	static const struct {
		const char	*request;
		const char	*reply;
	} rows[] = {
		{ "table|0.1|1.0|mtasts|check|domain|0a|enforce.test\n",
		    "check-result|0a|found" },
		{ "table|0.1|1.0|mtasts|check|domain|0b|testing.test\n",
		    "check-result|0b|not-found" },
		{ "table|0.1|1.0|mtasts|check|domain|0c|expired.test\n",
		    "check-result|0c|not-found" },
		/* DNS does not answer: an error, smtpd defers. */
		{ "table|0.1|1.0|mtasts|lookup|relayhost|0d|enforce.test\n",
		    "lookup-result|0d|error|no MX host allowed by the MTA-STS "
		    "policy" },
		{ "table|0.1|1.0|mtasts|update|0e\n", "update-result|0e|ok" },
		{ "table|0.2|1.0|mtasts|check|domain|0f|enforce.test\n",
		    "check-result|0f|error|protocol version not understood" },
		{ "table|0.1|1.0|mtasts|lookup|alias|10|x\n",
		    "lookup-result|10|error|not served" },
		/* No usable id: dropped; the next request is answered. */
		{ "table|0.1|1.0|mtasts|check|domain|zz|a.test\n"
		    "garbage\ntable|0.1|1.0|mtasts|check|domain|11|a|b\n",
		    "check-result|11|not-found" },
	};
	struct proc	p;
	char		line[256];
	size_t		i;

	(void)state;
	proc_start(&p);
	proc_say(&p, "config|smtpd-version|7.6.0\nconfig|protocol|0.1\n"
	    "config|tablename|mtasts\nconfig|ready\n");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "register|domain");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "register|relayhost");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "register|ready");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		proc_say(&p, rows[i].request);
		proc_line(&p, line, sizeof(line));
		assert_string_equal(line, rows[i].reply);
	}
	/* Split writes, then two requests in one write. */
	proc_say(&p, "table|0.1|1.0|mt");
	usleep(2000);
	proc_say(&p, "asts|check|domain|12|enforce.test\ntable|0.1|1.0|"
	    "mtasts|check|domain|13|ENFORCE.TEST.\n");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "check-result|12|found");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "check-result|13|found");
	assert_int_equal(proc_wait(&p), 0);	/* end of input */
}

static void
test_proc_text_overlong(void **state)
{
	struct proc	p;
	char		big[TEXT_LINE_MAX + 100];

	(void)state;
	proc_start(&p);
	memset(big, 'x', sizeof(big));
	memcpy(big, "config|", 7);
	proc_send(&p, (const uint8_t *)big, sizeof(big));
	assert_int_equal(proc_wait(&p), 1);
}

/* 500 malformed lines: a handful of log lines, not 500 (issue 20).
 * Its stderr goes to a file here; it logs to syslog too. */
static void
test_proc_text_flood(void **state)
{
	char		 path[] = "/tmp/mtasts-test-table-log.XXXXXX", line[256];
	struct proc	 p;
	FILE		*f;
	size_t		 i, nlines = 0, dropped = 0;
	int		 fd, saved;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	dup2(fd, STDERR_FILENO);
	proc_start(&p);				/* inherits it */
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	proc_say(&p, "config|smtpd-version|7.6.0\nconfig|ready\n");
	for (i = 0; i < 3; i++)
		proc_line(&p, line, sizeof(line));
	for (i = 0; i < 500; i++)
		proc_say(&p, i % 2 ? "garbage\n" :
		    "table|0.1|1.0|mtasts|check|domain|zz|a.test\n");
	/* Still answering, in order. */
	proc_say(&p, "table|0.1|1.0|mtasts|check|domain|0a|enforce.test\n");
	proc_line(&p, line, sizeof(line));
	assert_string_equal(line, "check-result|0a|found");
	assert_int_equal(proc_wait(&p), 0);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		nlines++;
		if (strstr(line, "dropped") != NULL)
			dropped++;
	}
	fclose(f);
	unlink(path);
	print_message("# %zu log lines, %zu about dropped lines\n", nlines,
	    dropped);
	assert_int_equal(dropped, 10);		/* LOGLIMIT_BURST */
	assert_true(nlines <= 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_frame),
		cmocka_unit_test(test_wire_decode),
		cmocka_unit_test(test_wire_reply),
		cmocka_unit_test(test_proc_answers),
		cmocka_unit_test(test_proc_hostile),
		cmocka_unit_test(test_proc_eof),
		cmocka_unit_test(test_proc_text),
		cmocka_unit_test(test_proc_text_overlong),
		cmocka_unit_test(test_proc_text_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
