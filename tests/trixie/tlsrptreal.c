/*
 * tlsrptreal.c - tests/tlsrptd/tlsrptsend's arguments, sent through
 * the real libtlsrpt (Debian 13's libtlsrpt0-dev) as Postfix 3.10 calls
 * it, for tests/integration/tlsrptd.sh in the Debian 13 root: the
 * collector must read what the library itself writes.
 *
 * usage: tlsrptreal [-V ignored] [-n count] SOCKET DOMAIN RECORD
 *            POLICY...   (POLICY as tlsrptsend's; -r and -p are not
 *            supported: the library writes only well-formed datagrams)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlsrpt.h>

static int
policy_type(const char *t)
{
	if (strcmp(t, "tlsa") == 0)
		return TLSRPT_POLICY_TLSA;
	if (strcmp(t, "sts") == 0)
		return TLSRPT_POLICY_STS;
	return TLSRPT_NO_POLICY_FOUND;
}

/* "CODE|SIP|MX|HELO|RIP|INFO|REASON", empty fields NULL. */
static int
failure(struct tlsrpt_dr_t *dr, const char *spec)
{
	char	 buf[8192], *f[7], *p;
	int	 i;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (p = buf, i = 0; i < 7; i++) {
		f[i] = p;
		if (p != NULL && (p = strchr(p, '|')) != NULL)
			*p++ = '\0';
		if (f[i] != NULL && *f[i] == '\0')
			f[i] = NULL;
	}
	return tlsrpt_add_delivery_request_failure(dr,
	    (tlsrpt_failure_t)atoi(f[0] != NULL ? f[0] : "0"), f[1], f[2],
	    f[3], f[4], f[5], f[6]);
}

static int
request(struct tlsrpt_connection_t *con, int argc, char **argv)
{
	struct tlsrpt_dr_t	*dr;
	const char		*pd;
	int			 i, r, type, final;

	if ((r = tlsrpt_init_delivery_request(&dr, con, argv[1],
	    argv[2])) != 0)
		return r;
	for (i = 3; r == 0 && i + 3 <= argc;) {
		type = policy_type(argv[i++]);
		pd = argv[i++];
		final = atoi(argv[i++]);
		r = tlsrpt_init_policy(dr, (tlsrpt_policy_type_t)type,
		    strcmp(pd, "-") != 0 ? pd : NULL);
		for (; r == 0 && i < argc && strcmp(argv[i], ";") != 0; i++) {
			if (strncmp(argv[i], "s:", 2) == 0)
				r = tlsrpt_add_policy_string(dr, argv[i] + 2);
			else if (strncmp(argv[i], "m:", 2) == 0)
				r = tlsrpt_add_mx_host_pattern(dr,
				    argv[i] + 2);
			else if (strncmp(argv[i], "f:", 2) == 0)
				r = failure(dr, argv[i] + 2);
		}
		if (i < argc)
			i++;
		if (r == 0)
			r = tlsrpt_finish_policy(dr, final ?
			    TLSRPT_FINAL_FAILURE : TLSRPT_FINAL_SUCCESS);
	}
	if (r != 0) {
		(void)tlsrpt_cancel_delivery_request(&dr);
		return r;
	}
	return tlsrpt_finish_delivery_request(&dr);
}

int
main(int argc, char *argv[])
{
	struct tlsrpt_connection_t	*con;
	unsigned long			 count = 1, k;
	int				 ch, r;

	while ((ch = getopt(argc, argv, "V:n:")) != -1) {
		switch (ch) {
		case 'V':
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 4) {
		fprintf(stderr, "usage: tlsrptreal [-n count] SOCKET DOMAIN "
		    "RECORD POLICY...\n");
		return 2;
	}
	/* Postfix sends without waiting; a test that sends many waits. */
	if (count > 1)
		tlsrpt_set_blocking();
	if ((r = tlsrpt_open(&con, argv[0])) != 0) {
		fprintf(stderr, "tlsrptreal: %s\n", tlsrpt_strerror(r));
		return 1;
	}
	for (k = 0; k < count; k++)
		if ((r = request(con, argc, argv)) != 0) {
			fprintf(stderr, "tlsrptreal: %s (%d)\n",
			    tlsrpt_strerror(r), r);
			return 1;
		}
	(void)tlsrpt_close(&con);
	return 0;
}
