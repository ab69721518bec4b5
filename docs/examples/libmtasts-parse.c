/*
 * libmtasts-parse: parse an MTA-STS policy (RFC 8461 section 3.2) and
 * check MX host names against it (section 4.1).  See libmtasts(3).
 *
 *	cc libmtasts-parse.c $(pkg-config --cflags --libs mtasts)
 *	./a.out mail.example.com a.backup.example.net
 */
#include <stdio.h>
#include <string.h>

#include <mtasts.h>

/* The exact bytes served at /.well-known/mta-sts.txt. */
static const char policy[] =
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.backup.example.net\r\n"
    "max_age: 604800\r\n";

int
main(int argc, char *argv[])
{
	struct mtasts_policy *pol;
	char err[MTASTS_ERRLEN];
	size_t i;
	int a, rc = 0;

	if (mtasts_policy_parse(policy, strlen(policy), &pol, err,
	    sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "policy: %s\n", err);
		return 2;
	}
	printf("mode %s, max_age %u\n",
	    mtasts_mode_name(mtasts_policy_mode(pol)),
	    (unsigned int)mtasts_policy_max_age(pol));
	for (i = 0; i < mtasts_policy_mx_count(pol); i++)
		printf("mx %s\n", mtasts_policy_mx(pol, i));
	for (a = 1; a < argc; a++) {
		if (mtasts_policy_match(pol, argv[a], strlen(argv[a])) ==
		    MTASTS_OK)
			printf("%s: allowed\n", argv[a]);
		else {
			printf("%s: not allowed\n", argv[a]);
			rc = 1;
		}
	}
	mtasts_policy_free(pol);
	return rc;
}
