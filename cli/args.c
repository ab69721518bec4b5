/*
 * args.c - option parsing, input files and JSON output for mtasts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * Options may appear anywhere before "--": --json, --help, and where the
 * subcommand allows them --file and --cert FILE.
 */
int
cli_parse_args(int argc, char **argv, int allowed, struct cli_args *a)
{
	int i, opts = 1;

	memset(a, 0, sizeof(*a));
	if ((a->pos = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		fprintf(stderr, "mtasts: out of memory\n");
		exit(EXIT_USAGE);
	}
	for (i = 0; i < argc; i++) {
		char *s = argv[i];

		if (!opts || s[0] != '-' || strcmp(s, "-") == 0)
			a->pos[a->npos++] = s;
		else if (strcmp(s, "--") == 0)
			opts = 0;
		else if (strcmp(s, "--json") == 0)
			a->json = 1;
		else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
			a->help = 1;
		else if ((allowed & CLI_OPT_FILE) && strcmp(s, "--file") == 0)
			a->files = 1;
		else if ((allowed & CLI_OPT_NOCACHE) &&
		    strcmp(s, "--no-cache") == 0)
			a->nocache = 1;
		else if ((allowed & CLI_OPT_ALL) && strcmp(s, "--all") == 0)
			a->all = 1;
		else if ((allowed & CLI_OPT_JOBS) && strcmp(s, "--jobs") == 0) {
			char *end;
			long n;

			if (i + 1 == argc || (n = strtol(argv[i + 1], &end,
			    10)) < 1 || n > 256 || *end != '\0') {
				fprintf(stderr, "mtasts: --jobs needs a number "
				    "from 1 to 256\n");
				return -1;
			}
			a->jobs = (int)n;
			i++;
		} else if ((allowed & CLI_OPT_PROCS) &&
		    strcmp(s, "--procs") == 0) {
			char *end;
			long n;

			if (i + 1 == argc || (n = strtol(argv[i + 1], &end,
			    10)) < 1 || n > 64 || *end != '\0') {
				fprintf(stderr, "mtasts: --procs needs a number "
				    "from 1 to 64\n");
				return -1;
			}
			a->procs = (int)n;
			i++;
		} else if ((allowed & CLI_OPT_PORT) &&
		    strcmp(s, "--port") == 0) {
			char *end;
			long n;

			if (i + 1 == argc || (n = strtol(argv[i + 1], &end,
			    10)) < 1 || n > 65535 || *end != '\0') {
				fprintf(stderr, "mtasts: --port needs a number "
				    "from 1 to 65535\n");
				return -1;
			}
			a->port = (int)n;
			i++;
		} else if ((allowed & CLI_OPT_REPORT) &&
		    (strcmp(s, "--date") == 0 || strcmp(s, "--out") == 0)) {
			if (i + 1 == argc) {
				fprintf(stderr, "mtasts: %s needs a value\n",
				    s);
				return -1;
			}
			if (s[2] == 'd')
				a->date = argv[++i];
			else
				a->out = argv[++i];
		} else if ((allowed & CLI_OPT_JITTER) &&
		    strcmp(s, "--jitter") == 0) {
			char *end;
			long n;

			if (i + 1 == argc || (n = strtol(argv[i + 1], &end,
			    10)) < 0 || n > 86400 || *end != '\0') {
				fprintf(stderr, "mtasts: --jitter needs seconds "
				    "from 0 to 86400\n");
				return -1;
			}
			a->jitter = (int)n;
			i++;
		} else if ((allowed & CLI_OPT_OUTPUT) &&
		    strcmp(s, "--output") == 0) {
			if (i + 1 == argc || argv[i + 1][0] == '\0') {
				fprintf(stderr, "mtasts: --output needs a "
				    "file\n");
				return -1;
			}
			a->output = argv[++i];
		} else if ((allowed & CLI_OPT_CERT) &&
		    strcmp(s, "--cert") == 0) {
			if (i + 1 == argc) {
				fprintf(stderr, "mtasts: --cert needs a "
				    "file\n");
				return -1;
			}
			a->cert = argv[++i];
		} else {
			fprintf(stderr, "mtasts: unknown option %s\n", s);
			return -1;
		}
	}
	return 0;
}

/*
 * Read a whole file ("-" is standard input), at most CLI_INPUT_MAX
 * bytes.  The buffer gets a NUL after len bytes for convenience only:
 * the input may hold NULs of its own.  Prints why on failure.
 */
int
cli_read(const char *path, char **buf, size_t *len)
{
	FILE *f;
	char *b;
	size_t n;
	int stdin_ = strcmp(path, "-") == 0;

	*buf = NULL;
	*len = 0;
	if ((f = stdin_ ? stdin : fopen(path, "rb")) == NULL) {
		fprintf(stderr, "mtasts: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((b = malloc(CLI_INPUT_MAX + 1)) == NULL) {
		fprintf(stderr, "mtasts: out of memory\n");
		exit(EXIT_USAGE);
	}
	n = fread(b, 1, CLI_INPUT_MAX + 1, f);
	if (ferror(f) || n > CLI_INPUT_MAX) {
		if (ferror(f))
			fprintf(stderr, "mtasts: %s: %s\n", path,
			    strerror(errno));
		else
			fprintf(stderr, "mtasts: %s: larger than %u bytes\n",
			    path, CLI_INPUT_MAX);
		free(b);
		if (!stdin_)
			fclose(f);
		return -1;
	}
	if (!stdin_)
		fclose(f);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mtasts: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

/* A JSON string; our messages are ASCII or UTF-8, but never trust it. */
json_t *
cli_jstr(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_string("(not valid UTF-8)");
}

void
cli_json_print(json_t *obj)
{
	if (obj == NULL || json_dumpf(obj, stdout, JSON_COMPACT) != 0) {
		fprintf(stderr, "mtasts: cannot write JSON\n");
		exit(EXIT_USAGE);
	}
	putchar('\n');
	json_decref(obj);
}
