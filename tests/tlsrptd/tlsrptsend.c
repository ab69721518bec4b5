/*
 * tlsrptsend.c - send datagrams to a TLSRPT collector socket as
 * libtlsrpt 0.5 writes them, byte for byte, for the tests and the
 * bench where no libtlsrpt is installed (Debian 12).  Written from the
 * format (tlsrptd/tlsrptd.h), not from libtlsrpt's code.
 *
 * usage: tlsrptsend [-V dpv] [-n count] [-r] SOCKET [DOMAIN RECORD
 *            POLICY...]
 *   POLICY is  TYPE PDOMAIN FINAL [s:STRING | m:PATTERN |
 *              f:CODE|SIP|MX|HELO|RIP|INFO|REASON]...  ";"
 *   TYPE: tlsa, sts or none (1, 2, 9); PDOMAIN "-" for none; FINAL 0/1;
 *   in f:, an empty field is left out, as libtlsrpt does with NULL.
 *   -V dpv   the "dpv" value ("-": none, as libtlsrpt 0.5.0rc1; default)
 *   -n count send it count times (blocking) and print datagrams/s
 *   -D n     with -n: DOMAIN becomes d0.DOMAIN ... d(n-1).DOMAIN in turn
 *            (n distinct sessions; the bench's worst case for the sums)
 *   -r       send standard input as one datagram, as it is
 *   -p       print the datagram instead of sending it
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_MAX	(1024 * 1024)

struct sb {
	char	 p[OUT_MAX];
	size_t	 len;
};

/* The datagram, and the lists of the policy being built (libtlsrpt
 * builds them apart and appends them when the policy ends). */
static struct sb	 dgram, ps, mx, fd;
static struct sb	*w = &dgram;	/* where put() writes */

static void
put(const char *s, size_t n)
{
	if (w->len + n > OUT_MAX) {
		fprintf(stderr, "tlsrptsend: datagram too long\n");
		exit(2);
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

/* libtlsrpt's escaping: \b \f \n \r \t \\ \", other bytes below 0x20
 * and 0x7f as \u00XX, bytes from 0x80 raw. */
static void
put_escaped(const char *s)
{
	char	 e[8];

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\b': puts_("\\b"); break;
		case '\f': puts_("\\f"); break;
		case '\n': puts_("\\n"); break;
		case '\r': puts_("\\r"); break;
		case '\t': puts_("\\t"); break;
		case '\\': puts_("\\\\"); break;
		case '"': puts_("\\\""); break;
		default:
			if ((unsigned char)*s < 0x20 || *s == 0x7f) {
				snprintf(e, sizeof(e), "\\u%04x",
				    (unsigned char)*s);
				puts_(e);
			} else
				put(s, 1);
		}
	}
}

/* ,"name": "value" (first: no comma), as libtlsrpt's attributes. */
static void
attr(int first, const char *name, const char *value)
{
	if (!first)
		puts_(",");
	puts_("\"");
	puts_(name);
	puts_("\": \"");
	put_escaped(value);
	puts_("\"");
}

static int
policy_type(const char *t)
{
	if (strcmp(t, "tlsa") == 0)
		return 1;
	if (strcmp(t, "sts") == 0)
		return 2;
	if (strcmp(t, "none") == 0)
		return 9;
	return atoi(t);
}

/* One failure: "CODE|SIP|MX|HELO|RIP|INFO|REASON". */
static void
failure(const char *spec, int first)
{
	static const char *const keys[] = { "s", "n", "h", "r", "a", "f" };
	char	 buf[8192], *f[7], *p;
	char	 num[32];
	int	 i;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (p = buf, i = 0; i < 7; i++) {
		f[i] = p;
		if (p != NULL && (p = strchr(p, '|')) != NULL)
			*p++ = '\0';
	}
	if (!first)
		puts_(",");
	snprintf(num, sizeof(num), "{\"c\":%d", atoi(f[0]));
	puts_(num);
	for (i = 1; i < 7; i++)
		if (f[i] != NULL && *f[i] != '\0')
			attr(0, keys[i - 1], f[i]);
	puts_("}");
}

/* One policy from argv at *i up to ";"; appends its JSON. */
static void
policy(int argc, char **argv, int *i, int first)
{
	char	 num[64];
	int	 type, final, nfail = 0;
	char	*a;

	if (*i + 3 > argc) {
		fprintf(stderr, "tlsrptsend: policy needs TYPE PDOMAIN "
		    "FINAL\n");
		exit(2);
	}
	type = policy_type(argv[(*i)++]);
	a = argv[(*i)++];
	final = atoi(argv[(*i)++]);
	puts_(first ? ",\"policies\":[{" : ",{");
	snprintf(num, sizeof(num), "\"policy-type\":%d", type);
	puts_(num);
	if (strcmp(a, "-") != 0)
		attr(0, "policy-domain", a);
	ps.len = mx.len = fd.len = 0;
	for (; *i < argc && strcmp(argv[*i], ";") != 0; (*i)++) {
		a = argv[*i];
		if (strncmp(a, "s:", 2) == 0 || strncmp(a, "m:", 2) == 0) {
			w = a[0] == 's' ? &ps : &mx;
			puts_(w->len > 0 ? ",\"" : "\"");
			put_escaped(a + 2);
			puts_("\"");
		} else if (strncmp(a, "f:", 2) == 0) {
			w = &fd;
			failure(a + 2, fd.len == 0);
			nfail++;
		} else {
			fprintf(stderr, "tlsrptsend: %s: s:, m: or f:\n", a);
			exit(2);
		}
		w = &dgram;
	}
	if (*i < argc)
		(*i)++;
	if (ps.len > 0) {
		puts_(",\"policy-string\":[");
		put(ps.p, ps.len);
		puts_("]");
	}
	if (mx.len > 0) {
		puts_(",\"mx-host\":[");
		put(mx.p, mx.len);
		puts_("]");
	}
	if (fd.len > 0) {
		puts_(",\"failure-details\":[");
		put(fd.p, fd.len);
		puts_("]");
	}
	snprintf(num, sizeof(num), ",\"t\":%d,\"f\":%d}", nfail, final);
	puts_(num);
}

/* The whole datagram for DOMAIN into dgram. */
static void
build(int argc, char **argv, const char *dpv, const char *domain)
{
	int	 i;

	puts_("{");
	if (strcmp(dpv, "-") != 0) {
		attr(1, "dpv", dpv);
		attr(0, "d", domain);
	} else
		attr(1, "d", domain);
	attr(0, "pr", argv[2]);
	for (i = 3; i < argc;)
		policy(argc, argv, &i, i == 3);
	puts_("]}");
}

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	const char		*dpv = "-";
	unsigned long		 count = 1, k, distinct = 0;
	char			 dom[300];
	double			 t0, t;
	int			 ch, sock, raw = 0, print = 0;
	ssize_t			 n;

	while ((ch = getopt(argc, argv, "D:V:n:pr")) != -1) {
		switch (ch) {
		case 'D':
			distinct = strtoul(optarg, NULL, 10);
			break;
		case 'V':
			dpv = optarg;
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			print = 1;
			break;
		case 'r':
			raw = 1;
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || (!raw && argc < 4)) {
		fprintf(stderr, "usage: tlsrptsend [-pr] [-V dpv] [-n count] "
		    "SOCKET [DOMAIN RECORD POLICY...]\n");
		return 2;
	}
	if (raw) {
		while ((n = read(0, dgram.p + dgram.len, OUT_MAX -
		    dgram.len)) > 0)
			dgram.len += (size_t)n;
	} else
		build(argc, argv, dpv, argv[1]);
	if (print) {
		fwrite(dgram.p, 1, dgram.len, stdout);
		putchar('\n');
		return 0;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", argv[0]);
	if ((sock = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1) {
		perror("socket");
		return 1;
	}
	t0 = now();
	for (k = 0; k < count; k++) {
		if (distinct > 0) {
			snprintf(dom, sizeof(dom), "d%lu.%s", k % distinct,
			    argv[1]);
			dgram.len = 0;
			build(argc, argv, dpv, dom);
		}
		if (sendto(sock, dgram.p, dgram.len, 0,
		    (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			fprintf(stderr, "tlsrptsend: sendto: %s\n",
			    strerror(errno));
			return 1;
		}
	}
	t = now() - t0;
	if (count > 1)
		printf("%lu datagrams of %zu bytes in %.3f s: %.0f/s\n", count,
		    dgram.len, t, (double)count / t);
	return 0;
}
