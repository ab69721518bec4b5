/*
 * util.c - error buffers, quoting of hostile bytes, allocation, lists.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "util.h"

MTASTS_API const char *
mtasts_strerror(int status)
{
	switch (status) {
	case MTASTS_OK:
		return "success";
	case MTASTS_ENOMEM:
		return "out of memory";
	case MTASTS_EINVAL:
		return "invalid argument";
	case MTASTS_EPARSE:
		return "syntax error";
	case MTASTS_ENORECORD:
		return "no record";
	case MTASTS_EMULTIPLE:
		return "more than one record";
	case MTASTS_ENOMATCH:
		return "no match";
	case MTASTS_ETIMEOUT:
		return "timed out";
	case MTASTS_EIO:
		return "I/O error";
	}
	return "unknown status";
}

void
util_verr(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err == NULL || errlen == 0)
		return;
	/* Truncation is fine here: the message is for humans. */
	if (vsnprintf(err, errlen, fmt, ap) < 0)
		err[0] = '\0';
}

void
util_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_verr(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copy hostile bytes into a message: printable ASCII as is, everything
 * else as \xHH, cut with "..." when it does not fit.  The result is
 * always ASCII, so it is safe for logs, terminals and JSON.
 */
size_t
util_quote(char *out, size_t size, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (size == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > size) {	/* keep room for "...\0" */
			if (size >= 4) {
				if (o > size - 4)
					o = size - 4;
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1)
			out[o++] = (char)c;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	out[o] = '\0';
	return o;
}

/* Does p[0..len) equal the string s exactly? */
int
util_memeq(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

/* ASCII case-insensitive equality of two byte ranges of length len. */
int
util_casememeq(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (UTIL_LOWER((unsigned char)a[i]) !=
		    UTIL_LOWER((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629 §4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
size_t
util_utf8_seq(const unsigned char *p, size_t len)
{
	size_t n, i;
	uint32_t cp;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

#ifdef MTASTS_ALLOC_TEST
#include <ares.h>
#include <event2/event.h>

static unsigned long alloc_countdown;	/* fail when it reaches 0 */
static unsigned long alloc_seen;	/* allocations counted */
static unsigned long alloc_failed;	/* failures injected */
static int alloc_env_done;

void
util_alloc_fail_at(unsigned long n)
{
	alloc_countdown = n;
	alloc_seen = alloc_failed = 0;
	alloc_env_done = 1;		/* the caller drives it, not $ENV */
}

unsigned long
util_alloc_count(void)
{
	return alloc_seen;
}

static void
alloc_report(void)
{
	const char *path = getenv("MTASTS_ALLOC_REPORT");
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "allocations %lu failed %lu\n", alloc_seen, alloc_failed);
	fclose(f);
}

/*
 * Whole programs built with the hook (build/asan/) are tortured from a
 * script (tests/integration/torture.sh): MTASTS_ALLOC_FAIL_AT=n fails
 * the process's n-th allocation through util.c; MTASTS_ALLOC_REPORT
 * names a file that gets, at exit, how many allocations were made and
 * whether the failure was injected.
 */
static void *
alloc_lib_malloc(size_t size)
{
	return util_malloc(size);
}

static void *
alloc_lib_realloc(void *p, size_t size)
{
	return util_reallocarray(p, size, 1);
}

static void
alloc_env(void)
{
	const char *s;
	char *end;

	alloc_env_done = 1;
	if ((s = getenv("MTASTS_ALLOC_FAIL_AT")) == NULL)
		return;
	alloc_countdown = strtoul(s, &end, 10);
	if (*end != '\0')
		alloc_countdown = 0;
	/* libevent's and c-ares' allocations count too (curl's, Berkeley
	 * DB's and libc's do not).  Plain malloc underneath, so memory
	 * they took before this point is freed as usual. */
	event_set_mem_functions(alloc_lib_malloc, alloc_lib_realloc, free);
	ares_library_init_mem(ARES_LIB_INIT_ALL, alloc_lib_malloc, free,
	    alloc_lib_realloc);
	if (getenv("MTASTS_ALLOC_REPORT") != NULL)
		atexit(alloc_report);
}

static int
alloc_should_fail(void)
{
	if (!alloc_env_done)
		alloc_env();
	alloc_seen++;
	if (alloc_countdown == 0 || --alloc_countdown != 0)
		return 0;
	alloc_failed++;
	return 1;
}
#else
#define alloc_should_fail()	0
#endif

void *
util_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(size);
}

void *
util_calloc(size_t n, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(n, size);
}

void *
util_reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n * size);
}

char *
util_strndup(const char *p, size_t len)
{
	char *s;

	if (len == SIZE_MAX || (s = util_malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

void
util_free(void *p)
{
	free(p);
}

int
strlist_add(struct strlist *l, const char *p, size_t len)
{
	char **v, *s;
	size_t size;

	if (l->n >= STRLIST_MAX)
		return MTASTS_ENOMEM;
	if (l->n == l->size) {
		size = l->size ? l->size * 2 : 4;
		if ((v = util_reallocarray(l->v, size, sizeof(*v))) == NULL)
			return MTASTS_ENOMEM;
		l->v = v;
		l->size = size;
	}
	if ((s = util_strndup(p, len)) == NULL)
		return MTASTS_ENOMEM;
	l->v[l->n++] = s;
	return MTASTS_OK;
}

int
strlist_addf(struct strlist *l, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return MTASTS_EINVAL;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;	/* a truncated warning is still useful */
	return strlist_add(l, buf, (size_t)n);
}

void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		util_free(l->v[i]);
	util_free(l->v);
	l->v = NULL;
	l->n = l->size = 0;
}

void
util_cloexec(int fd)
{
	int fl;

	if (fd >= 0 && (fl = fcntl(fd, F_GETFD)) != -1 && !(fl & FD_CLOEXEC))
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

void
util_fds_snapshot(struct util_fds *s)
{
	int fd;

	memset(s, 0, sizeof(*s));
	for (fd = 3; fd < UTIL_FD_SCAN; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			s->open[fd / 8] |= (unsigned char)(1u << (fd % 8));
}

void
util_fds_cloexec_new(const struct util_fds *s)
{
	int fd;

	for (fd = 3; fd < UTIL_FD_SCAN; fd++)
		if (!(s->open[fd / 8] & (1u << (fd % 8))))
			util_cloexec(fd);
}
