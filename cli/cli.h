/*
 * cli.h - the mtasts command: shared declarations.
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes of the contract in mtasts(1). */
#define EXIT_VALID	0
#define EXIT_INVALID	1
#define EXIT_USAGE	2

/* Largest input file or standard input we read. */
#define CLI_INPUT_MAX	(4u * 1024 * 1024)

/* Options and positional arguments of one subcommand. */
struct cli_args {
	int	  json;		/* --json */
	int	  files;	/* --file: positional arguments are files */
	int	  help;		/* --help or -h */
	int	  nocache;	/* --no-cache */
	int	  all;		/* --all */
	int	  jobs;		/* --jobs N */
	int	  procs;	/* --procs N */
	int	  port;		/* --port N */
	char	 *cert;		/* --cert FILE */
	char	 *date;		/* --date YYYY-MM-DD */
	char	 *out;		/* --out DIR */
	char	 *output;	/* --output FILE */
	int	  jitter;	/* --jitter SECONDS */
	char	**pos;		/* positional arguments */
	int	  npos;
};

/* Options a subcommand accepts besides --json and --help. */
#define CLI_OPT_FILE	0x1
#define CLI_OPT_CERT	0x2
#define CLI_OPT_NOCACHE	0x4
#define CLI_OPT_ALL	0x8
#define CLI_OPT_JOBS	0x10
#define CLI_OPT_REPORT	0x20	/* --date D, --out DIR */
#define CLI_OPT_PORT	0x40	/* --port N */
#define CLI_OPT_OUTPUT	0x80	/* --output FILE */
#define CLI_OPT_JITTER	0x100	/* --jitter SECONDS */
#define CLI_OPT_PROCS	0x200	/* --procs N */

struct mtasts_config;

/* Options before the command. */
struct cli_global {
	const char		*conf;		/* -c FILE */
	int			 verbose;	/* -v: log to stderr */
	struct mtasts_config	*cfg;		/* loaded on demand */
};

int	 cli_parse_args(int argc, char **argv, int allowed,
	    struct cli_args *a);
int	 cli_read(const char *path, char **buf, size_t *len);
int	 cli_usage_error(const char *usage, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
json_t	*cli_jstr(const char *s);
void	 cli_json_print(json_t *obj);

int	 cmd_lint(int argc, char **argv);
int	 cmd_match(int argc, char **argv);
int	 cmd_query(const struct cli_global *g, int argc, char **argv);
int	 cmd_refresh(const struct cli_global *g, int argc, char **argv);
int	 cmd_cache(const struct cli_global *g, int argc, char **argv);
int	 cmd_report(const struct cli_global *g, int argc, char **argv);
int	 cmd_check(const struct cli_global *g, int argc, char **argv);
int	 cmd_metrics(const struct cli_global *g, int argc, char **argv);

/* RFC 8460 §4.4 report metadata. */
struct tlsrpt_meta {
	const char	*date;		/* YYYY-MM-DD, UTC */
	const char	*org;
	const char	*contact;
	const char	*submitter;
};
struct mtasts_ctx;
json_t	*tlsrpt_reports(struct mtasts_ctx *ctx, const struct tlsrpt_meta *m);
int	 report_date_ok(const char *d);
int	 report_generate(const struct cli_global *g, struct mtasts_ctx *ctx,
	    const char *date, const char *dir, int keep);
int	 report_send(const struct cli_global *g, struct mtasts_ctx *ctx,
	    const char *date, const char *dir);
/* main.c: the effective value of a mtasts.conf(5) key as text; 0, or
 * -1 and "" if none. */
int	 cli_config_value(const struct cli_global *g, const char *key,
	    char *val, size_t size);

struct mtasts_result;
void	 cli_time(int64_t t, char *buf, size_t size);
json_t	*cli_result_json(const struct mtasts_result *r);
void	 cli_result_text(const struct mtasts_result *r);

extern const char usage_lint[];
extern const char usage_match[];
extern const char usage_check[];

#endif /* MTASTS_CLI_H */
