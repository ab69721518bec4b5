/*
 * lint.c - mtasts lint record|policy|tlsrpt: strict checks of what a
 * domain publishes, saying which line or column is wrong and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#include "cli.h"

const char usage_lint[] =
    "usage: mtasts lint record [--json] RR... | --file FILE...\n"
    "       mtasts lint policy [--json] FILE|-\n"
    "       mtasts lint tlsrpt [--json] RR... | --file FILE...\n"
    "Each RR argument is one TXT record, its strings concatenated; with\n"
    "--file each FILE holds one record's exact bytes.  Several RRs are one\n"
    "RRset.  Exit status: 0 valid, 1 invalid, 2 usage error or unreadable\n"
    "input.\n";

/* An RRset from arguments or files; the caller frees with rrset_free. */
struct rrset {
	struct mtasts_rr	*rr;
	char			**bufs;		/* file contents, owned */
	size_t			 n;
};

static void
rrset_free(struct rrset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->bufs[i]);
	free(s->bufs);
	free(s->rr);
}

static int
rrset_load(const struct cli_args *a, struct rrset *s)
{
	int i;

	s->n = 0;
	s->rr = calloc((size_t)a->npos + 1, sizeof(*s->rr));
	s->bufs = calloc((size_t)a->npos + 1, sizeof(*s->bufs));
	if (s->rr == NULL || s->bufs == NULL) {
		fprintf(stderr, "mtasts: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (i = 0; i < a->npos; i++, s->n++) {
		if (!a->files) {
			s->rr[i].data = a->pos[i];
			s->rr[i].len = strlen(a->pos[i]);
		} else if (cli_read(a->pos[i], &s->bufs[i], &s->rr[i].len)
		    != 0)
			return -1;
		else
			s->rr[i].data = s->bufs[i];
	}
	return 0;
}

static int
lint_invalid(const struct cli_args *a, const char *err)
{
	json_t *o;

	if (a->json) {
		o = json_object();
		json_object_set_new(o, "valid", json_false());
		json_object_set_new(o, "error", cli_jstr(err));
		cli_json_print(o);
	} else
		printf("invalid: %s\n", err);
	return EXIT_INVALID;
}

static int
lint_record(const struct cli_args *a, const struct rrset *s)
{
	char id[MTASTS_ID_MAX + 1], err[MTASTS_ERRLEN] = "";
	json_t *o;

	if (mtasts_record_select(s->rr, s->n, id, err, sizeof(err))
	    != MTASTS_OK)
		return lint_invalid(a, err);
	if (a->json) {
		o = json_object();
		json_object_set_new(o, "valid", json_true());
		json_object_set_new(o, "id", cli_jstr(id));
		cli_json_print(o);
	} else
		printf("valid id=%s\n", id);
	return EXIT_VALID;
}

static int
lint_tlsrpt(const struct cli_args *a, const struct rrset *s)
{
	char err[MTASTS_ERRLEN] = "";
	struct mtasts_tlsrpt *t;
	json_t *o, *rua, *w;
	size_t i;

	if (mtasts_tlsrpt_select(s->rr, s->n, &t, err, sizeof(err))
	    != MTASTS_OK)
		return lint_invalid(a, err);
	if (a->json) {
		o = json_object();
		rua = json_array();
		w = json_array();
		for (i = 0; i < mtasts_tlsrpt_rua_count(t); i++)
			json_array_append_new(rua,
			    cli_jstr(mtasts_tlsrpt_rua(t, i)));
		for (i = 0; i < mtasts_tlsrpt_warning_count(t); i++)
			json_array_append_new(w,
			    cli_jstr(mtasts_tlsrpt_warning(t, i)));
		json_object_set_new(o, "valid", json_true());
		json_object_set_new(o, "rua", rua);
		json_object_set_new(o, "warnings", w);
		cli_json_print(o);
	} else {
		printf("valid\n");
		for (i = 0; i < mtasts_tlsrpt_rua_count(t); i++)
			printf("rua: %s\n", mtasts_tlsrpt_rua(t, i));
		for (i = 0; i < mtasts_tlsrpt_warning_count(t); i++)
			printf("warning: %s\n", mtasts_tlsrpt_warning(t, i));
	}
	mtasts_tlsrpt_free(t);
	return EXIT_VALID;
}

static void
lint_policy_print(const struct cli_args *a, const struct mtasts_policy *p)
{
	json_t *o, *mx, *w;
	size_t i;

	if (!a->json) {
		printf("valid\nmode: %s\nmax_age: %u\n",
		    mtasts_mode_name(mtasts_policy_mode(p)),
		    mtasts_policy_max_age(p));
		for (i = 0; i < mtasts_policy_mx_count(p); i++)
			printf("mx: %s\n", mtasts_policy_mx(p, i));
		for (i = 0; i < mtasts_policy_warning_count(p); i++)
			printf("warning: %s\n", mtasts_policy_warning(p, i));
		return;
	}
	o = json_object();
	mx = json_array();
	w = json_array();
	for (i = 0; i < mtasts_policy_mx_count(p); i++)
		json_array_append_new(mx, cli_jstr(mtasts_policy_mx(p, i)));
	for (i = 0; i < mtasts_policy_warning_count(p); i++)
		json_array_append_new(w, cli_jstr(mtasts_policy_warning(p, i)));
	json_object_set_new(o, "valid", json_true());
	json_object_set_new(o, "mode",
	    cli_jstr(mtasts_mode_name(mtasts_policy_mode(p))));
	json_object_set_new(o, "max_age",
	    json_integer((json_int_t)mtasts_policy_max_age(p)));
	json_object_set_new(o, "mx", mx);
	json_object_set_new(o, "warnings", w);
	cli_json_print(o);
}

static int
lint_policy(const struct cli_args *a)
{
	char err[MTASTS_ERRLEN] = "", *body;
	struct mtasts_policy *p;
	size_t len;
	int r;

	if (a->npos != 1)
		return cli_usage_error(usage_lint, "lint policy needs one "
		    "FILE or -");
	if (cli_read(a->pos[0], &body, &len) != 0)
		return EXIT_USAGE;
	r = mtasts_policy_parse(body, len, &p, err, sizeof(err));
	free(body);
	if (r != MTASTS_OK)
		return lint_invalid(a, err);
	lint_policy_print(a, p);
	mtasts_policy_free(p);
	return EXIT_VALID;
}

static int
lint_run(const char *what, const struct cli_args *a)
{
	struct rrset s;
	int r;

	if (a->help) {
		fputs(usage_lint, stdout);
		return 0;
	}
	if (strcmp(what, "policy") == 0)
		return lint_policy(a);
	if (a->npos == 0)
		return cli_usage_error(usage_lint, "lint %s needs at least "
		    "one RR%s", what, a->files ? " file" : "");
	if (rrset_load(a, &s) != 0)
		r = EXIT_USAGE;
	else if (strcmp(what, "record") == 0)
		r = lint_record(a, &s);
	else
		r = lint_tlsrpt(a, &s);
	rrset_free(&s);
	return r;
}

int
cmd_lint(int argc, char **argv)
{
	struct cli_args a;
	const char *what;
	int r, policy;

	if (argc < 1)
		return cli_usage_error(usage_lint, "lint what?");
	what = argv[0];
	if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
		fputs(usage_lint, stdout);
		return 0;
	}
	policy = strcmp(what, "policy") == 0;
	if (!policy && strcmp(what, "record") != 0 &&
	    strcmp(what, "tlsrpt") != 0)
		return cli_usage_error(usage_lint, "cannot lint '%s'", what);
	if (cli_parse_args(argc - 1, argv + 1, policy ? 0 : CLI_OPT_FILE, &a) != 0)
		r = cli_usage_error(usage_lint, "bad arguments");
	else
		r = lint_run(what, &a);
	free(a.pos);
	return r;
}
