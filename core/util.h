/*
 * util.h - small private helpers shared by the core's parsers.
 */
#ifndef MTASTS_UTIL_H
#define MTASTS_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#define UTIL_IS_ALPHA(c)	((((c) | 0x20) >= 'a') && (((c) | 0x20) <= 'z'))
#define UTIL_IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define UTIL_IS_ALNUM(c)	(UTIL_IS_ALPHA(c) || UTIL_IS_DIGIT(c))
#define UTIL_IS_WSP(c)		((c) == ' ' || (c) == '\t')
#define UTIL_LOWER(c)		(((c) >= 'A' && (c) <= 'Z') ? (c) | 0x20 : (c))

/* A growable list of NUL-terminated strings with a hard maximum. */
struct strlist {
	char	**v;		/* the strings, owned */
	size_t	  n;		/* number in use */
	size_t	  size;		/* allocated slots */
};

void	 util_err(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 util_verr(char *err, size_t errlen, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));
size_t	 util_quote(char *out, size_t size, const char *p, size_t len);
int	 util_memeq(const char *p, size_t len, const char *s);
int	 util_casememeq(const char *a, const char *b, size_t len);
size_t	 util_utf8_seq(const unsigned char *p, size_t len);

void	*util_malloc(size_t size);
void	*util_calloc(size_t n, size_t size);
void	*util_reallocarray(void *p, size_t n, size_t size);
char	*util_strndup(const char *p, size_t len);
void	 util_free(void *p);
/* Descriptors must not leak into programs the MTA executes (Exim's pipe
 * transports, smtpd's mda): mark one close-on-exec, or every descriptor
 * opened since a snapshot (for libraries that open their own). */
void	 util_cloexec(int fd);
#define UTIL_FD_SCAN	1024
struct util_fds {
	unsigned char	open[UTIL_FD_SCAN / 8];
};
void	 util_fds_snapshot(struct util_fds *s);
void	 util_fds_cloexec_new(const struct util_fds *s);

int	 strlist_add(struct strlist *l, const char *p, size_t len);
int	 strlist_addf(struct strlist *l, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 strlist_clear(struct strlist *l);

/* Hard cap on list lengths: a 64 KiB policy cannot hold more lines. */
#define STRLIST_MAX	16384

#ifdef MTASTS_ALLOC_TEST
/* Test builds: fail the Nth allocation from now (0 = never); how many
 * allocations were asked for since. */
void	 util_alloc_fail_at(unsigned long n);
unsigned long util_alloc_count(void);
#endif

#endif /* MTASTS_UTIL_H */
