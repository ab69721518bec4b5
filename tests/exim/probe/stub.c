/*
 * tests/exim/probe/stub.c - a stand-in for exim-dlfunc/mtasts.so, to prove
 * the harness's Exim plumbing (sender.conf.in with -DHARNESS_MTASTS) and
 * to record how Exim 4.96 calls ${dlfunc}.  NOT an MTA-STS
 * implementation: mtasts_mode and mtasts_mx answer from the fixed table
 * of the fixture's Exim scenario domains (tests/fixture/README.md).
 *
 * Built by tests/exim/selftest:
 *   cc -shared -fPIC -I BUILDDIR/exim/root/usr/include/exim4 -o stub.so stub.c
 *
 * Functions (exim_dlfunc_t: int f(uschar **yield, int argc, uschar *argv[])):
 *   mtasts_mode DOMAIN [CONF]   enforce | testing | none | no-policy
 *   mtasts_mx DOMAIN [MXLIST [CONF]]   (the real module's arguments;
 *                        only DOMAIN is used) enforce: the policy-matching
 *                        MX hosts, colon-separated, or FAIL with a message
 *                        when there is none; other modes: FAIL_FORCED
 *   probe_args ARGS...   "argc=N [arg0][arg1]..."
 *   probe_status CODE    returns OK, FAIL, FAIL_FORCED, DEFER or ERROR
 *                        (CODE ok|fail|forced|defer|error), message "probe CODE"
 *   probe_echo ARG       ARG itself: the caller's (tainted) pointer
 *   probe_uid            "uid=U euid=E" of the calling process
 */
#define DLFUNC_IMPL
#include <local_scan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *domain, *mode, *mx;
} table[] = {
	{ "exgood.test", "enforce", "mx.exgood.test" },
	{ "exbadcert.test", "enforce", "mx.exbadcert.test" },
	{ "exselfsigned.test", "enforce", "mx.exselfsigned.test" },
	{ "exnotls.test", "enforce", "mx.exnotls.test" },
	{ "exmixed.test", "enforce", "mx2.exmixed.test" },
	{ "exnomatch.test", "enforce", "" },
	{ "extesting.test", "testing", "mx.extesting.test" },
	{ "exnone.test", "none", "" },
	{ "exdynamic.test", "enforce", "mx.exdynamic.test" },
};

static int find(const uschar *d)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcasecmp((const char *)d, table[i].domain) == 0)
			return (int)i;
	return -1;
}

int mtasts_mode(uschar **yield, int argc, uschar *argv[])
{
	int i;

	if (argc < 1 || argc > 2) {
		*yield = US"mtasts_mode: DOMAIN [CONF]";
		return FAIL;
	}
	i = find(argv[0]);
	*yield = US(i < 0 ? "no-policy" : table[i].mode);
	return OK;
}

int mtasts_mx(uschar **yield, int argc, uschar *argv[])
{
	int i;

	if (argc < 1 || argc > 3) {
		*yield = US"mtasts_mx: DOMAIN [MXLIST [CONF]]";
		return FAIL;
	}
	i = find(argv[0]);
	if (i < 0 || strcmp(table[i].mode, "enforce") != 0) {
		*yield = US"not enforce";
		return FAIL_FORCED;
	}
	if (table[i].mx[0] == '\0') {
		*yield = US"MTA-STS: no MX host matches the policy";
		return FAIL;
	}
	*yield = US table[i].mx;
	return OK;
}

int probe_args(uschar **yield, int argc, uschar *argv[])
{
	static char buf[4096];
	size_t n = (size_t)snprintf(buf, sizeof buf, "argc=%d ", argc);

	for (int i = 0; i < argc && n < sizeof buf; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "[%s]", argv[i]);
	*yield = US buf;
	return OK;
}

int probe_status(uschar **yield, int argc, uschar *argv[])
{
	const char *c = argc > 0 ? (const char *)argv[0] : "";

	*yield = US"probe message";
	if (strcmp(c, "ok") == 0)
		return OK;
	if (strcmp(c, "fail") == 0)
		return FAIL;
	if (strcmp(c, "forced") == 0)
		return FAIL_FORCED;
	if (strcmp(c, "defer") == 0)
		return DEFER;
	return ERROR;
}

int probe_echo(uschar **yield, int argc, uschar *argv[])
{
	*yield = argc > 0 ? argv[0] : NULL;
	return OK;
}

#include <unistd.h>

/* probe_uid: "uid=U euid=E" of the calling process. */
int probe_uid(uschar **yield, int argc, uschar *argv[])
{
	static char buf[64];

	(void)argc;
	(void)argv;
	snprintf(buf, sizeof buf, "uid=%ld euid=%ld", (long)getuid(),
	    (long)geteuid());
	*yield = US buf;
	return OK;
}
