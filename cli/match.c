/*
 * match.c - mtasts match: an MX pattern or a certificate against a host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cli.h"

const char usage_match[] =
    "usage: mtasts match [--json] PATTERN HOST\n"
    "       mtasts match --cert FILE.pem [--json] HOST\n"
    "Exit status: 0 match, 1 no match or invalid pattern, 2 usage error.\n";

static int
match_report(const struct cli_args *a, int r, const char *err)
{
	json_t *o;

	if (a->json) {
		o = json_object();
		json_object_set_new(o, "match", json_boolean(r == MTASTS_OK));
		if (r != MTASTS_OK && r != MTASTS_ENOMATCH)
			json_object_set_new(o, "error", cli_jstr(err));
		else if (r == MTASTS_ENOMATCH && a->cert != NULL)
			json_object_set_new(o, "reason", cli_jstr(err));
		cli_json_print(o);
	} else if (r == MTASTS_OK)
		printf("match\n");
	else if (r == MTASTS_ENOMATCH)
		printf("no match\n");
	else
		printf("invalid: %s\n", err);
	return r == MTASTS_OK ? EXIT_VALID : EXIT_INVALID;
}

static int
match_cert(const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "", *pem;
	const char *host = a->pos[0];
	size_t len;
	int r;

	if (cli_read(a->cert, &pem, &len) != 0)
		return EXIT_USAGE;
	r = mtasts_cert_match_pem(pem, len, host, strlen(host), err,
	    sizeof(err));
	free(pem);
	if (r == MTASTS_EPARSE) {
		fprintf(stderr, "mtasts: %s: %s\n", a->cert, err);
		return EXIT_USAGE;
	}
	return match_report(a, r, err);
}

static int
match_run(const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "", host[MTASTS_DOMAIN_MAX + 1];
	int r;

	if (a->help) {
		fputs(usage_match, stdout);
		return 0;
	}
	if (a->cert != NULL) {
		if (a->npos != 1)
			return cli_usage_error(usage_match, "--cert needs "
			    "exactly one HOST");
		return match_cert(a);
	}
	if (a->npos != 2)
		return cli_usage_error(usage_match, "need PATTERN and HOST");
	/* The host may be given as a U-label; patterns must be A-labels. */
	r = mtasts_mx_pattern_check(a->pos[0], strlen(a->pos[0]), err,
	    sizeof(err));
	if (r == MTASTS_OK)
		r = mtasts_domain_normalize(a->pos[1], strlen(a->pos[1]), host,
		    sizeof(host), err, sizeof(err));
	if (r == MTASTS_OK)
		r = mtasts_mx_match(a->pos[0], strlen(a->pos[0]), host,
		    strlen(host), err, sizeof(err));
	return match_report(a, r, err);
}

int
cmd_match(int argc, char **argv)
{
	struct cli_args a;
	int r;

	if (cli_parse_args(argc, argv, CLI_OPT_CERT, &a) != 0)
		r = cli_usage_error(usage_match, "bad arguments");
	else
		r = match_run(&a);
	free(a.pos);
	return r;
}
