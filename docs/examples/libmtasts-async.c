/*
 * libmtasts-async: ask for the MTA-STS policy of a domain on the
 * program's own libevent loop, and apply it to one MX host as a sending
 * MTA would (RFC 8461 sections 4 and 5).  See libmtasts(3).
 *
 *	cc libmtasts-async.c $(pkg-config --cflags --libs mtasts libevent)
 *	./a.out example.com mail.example.com
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>
#include <mtasts.h>

#define EX_TEMPFAIL	75	/* defer, try again later */

struct delivery {
	struct event_base	*base;
	const char		*mx;	/* the MX host we would connect to */
	int			 rc;	/* exit status */
};

static void
on_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	if (prio <= LOG_WARNING)
		fprintf(stderr, "mtasts: %s\n", msg);
}

/* Runs once, from event_base_dispatch(): never from mtasts_query(). */
static void
on_policy(struct mtasts_result *res, void *arg)
{
	struct delivery *d = arg;
	const char *dom = mtasts_result_domain(res);
	int enforce = mtasts_result_mode(res) == MTASTS_MODE_ENFORCE;

	if (mtasts_result_status(res) != MTASTS_OK) {
		/* An answer the library could not complete: defer. */
		printf("%s: %s: defer\n", dom,
		    mtasts_strerror(mtasts_result_status(res)));
		d->rc = EX_TEMPFAIL;
	} else if (!mtasts_result_has_policy(res) ||
	    mtasts_result_mode(res) == MTASTS_MODE_NONE)
		printf("%s: %s: deliver as usual\n", dom,
		    mtasts_result_mode_name(res));
	else if (mtasts_result_mx_allowed(res, d->mx, strlen(d->mx)) !=
	    MTASTS_OK && enforce) {
		/* Section 4.1: never this MX; defer if no other is left. */
		printf("%s: %s is not in policy %s: skip it\n", dom, d->mx,
		    mtasts_result_id(res));
		d->rc = EX_TEMPFAIL;
	} else if (enforce)
		printf("%s: %s: STARTTLS with a certificate valid for %s, "
		    "or defer\n", dom, d->mx, d->mx);
	else
		printf("%s: testing: deliver as usual, report failures\n",
		    dom);
	mtasts_result_free(res);		/* ours */
	event_base_loopexit(d->base, NULL);
}

int
main(int argc, char *argv[])
{
	struct delivery d = { NULL, NULL, 0 };
	struct mtasts_config *cfg;
	struct mtasts_ctx *ctx;
	char err[MTASTS_ERRLEN] = "";
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s domain mx-host\n", argv[0]);
		return 64;
	}
	d.mx = argv[2];
	mtasts_set_log(on_log, NULL);
	if ((d.base = event_base_new()) == NULL)
		return EX_TEMPFAIL;
	if (mtasts_config_load(NULL, &cfg, err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		return 78;
	}
	if (mtasts_ctx_new(d.base, cfg, 0, &ctx, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		mtasts_config_free(cfg);
		return EX_TEMPFAIL;
	}
	if ((r = mtasts_query(ctx, argv[1], 0, on_policy, &d, err,
	    sizeof(err))) != MTASTS_OK) {
		/* No callback will come. */
		fprintf(stderr, "%s: %s (%s)\n", argv[1], mtasts_strerror(r),
		    err);
		d.rc = r == MTASTS_EPARSE ? 65 : EX_TEMPFAIL;
	} else
		event_base_dispatch(d.base);	/* the MTA's own loop */
	mtasts_ctx_free(ctx);
	mtasts_config_free(cfg);
	event_base_free(d.base);
	return d.rc;
}
