/*
 * config.c - mtasts.conf: "key = value" lines, "#" comments.
 *
 * One table describes every key: its type, default and bounds.  The
 * parser, the dump and mtasts.conf(5) follow it.  The file is ours, so
 * it is read strictly: an unknown key, a duplicate or a value out of
 * range is an error naming file:line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "redis.h"
#include "util.h"

#define CONFIG_FILE_MAX	(1024 * 1024)
#define CONFIG_LINE_MAX	4096

enum config_type { T_PATH, T_RESOLVER, T_DURATION, T_BOOL, T_LOGLEVEL,
	T_TEXT, T_DANELEVEL, T_SHARED, T_MSEC, T_OPTPATH, T_TLSNAME,
	T_TLSLEVEL };

struct config_key {
	const char	*name;
	enum config_type type;
	const char	*def;		/* default, in file syntax */
	unsigned int	 min, max;	/* T_DURATION bounds, s; T_MSEC, ms */
	size_t		 off;		/* offset in struct mtasts_config */
	size_t		 size;		/* for strings */
};

#define OFF(f)	offsetof(struct mtasts_config, f)
#define SZ(f)	sizeof(((struct mtasts_config *)0)->f)

static const struct config_key config_keys[] = {
	{ "cache_dir", T_PATH, "/var/lib/mtasts", 0, 0, OFF(cache_dir),
	    SZ(cache_dir) },
	{ "resolver", T_RESOLVER, "", 0, 0, OFF(resolver), SZ(resolver) },
	/* RFC 7672 via RFC 8461 §2: whose AD bit we believe. */
	{ "dane_resolver", T_RESOLVER, "", 0, 0, OFF(dane_resolver),
	    SZ(dane_resolver) },
	/* Postfix's TLS level for a DANE-usable domain (mtasts-socketmap):
	 * dane-only never lets an MX host without TLSA go unverified. */
	{ "socketmap_dane", T_DANELEVEL, "dane-only", 0, 0,
	    OFF(socketmap_dane), SZ(socketmap_dane) },
	/* Postfix 3.10's TLSRPT policy attributes in every socketmap
	 * answer, whatever the map name (TLSRPT_README). */
	{ "socketmap_tlsrpt", T_BOOL, "no", 0, 0, OFF(socketmap_tlsrpt), 0 },
	/* The Postfix level of those answers for testing domains and
	 * failed fetches, which replaces smtp_tls_security_level for the
	 * domain: the admin's own level, so that turning the attributes on
	 * never weakens it (encrypt) nor drops DANE (dane). */
	{ "socketmap_tlsrpt_level", T_TLSLEVEL, "may", 0, 0,
	    OFF(socketmap_tlsrpt_level), SZ(socketmap_tlsrpt_level) },
	/* mtasts-tlsrptd: where Postfix's libtlsrpt sends its datagrams
	 * (smtp_tlsrpt_socket_name = run/tlsrpt/tlsrpt.sock, relative to
	 * the queue directory, so it works chrooted or not). */
	{ "tlsrpt_socket", T_PATH, "/var/spool/postfix/run/tlsrpt/tlsrpt.sock",
	    0, 0, OFF(tlsrpt_socket), SZ(tlsrpt_socket) },
	{ "ca_file", T_PATH, "/etc/ssl/certs/ca-certificates.crt", 0, 0,
	    OFF(ca_file), SZ(ca_file) },
	{ "dns_timeout", T_DURATION, "5s", 1, 60, OFF(dns_timeout), 0 },
	{ "connect_timeout", T_DURATION, "5s", 1, 60, OFF(connect_timeout),
	    0 },
	/* §3.3 suggests a minute at most for the whole fetch. */
	{ "fetch_timeout", T_DURATION, "10s", 1, 60, OFF(fetch_timeout), 0 },
	{ "query_timeout", T_DURATION, "15s", 1, 300, OFF(query_timeout),
	    0 },
	/* §3.3: at least five minutes between fetches of a failed id. */
	{ "retry_interval", T_DURATION, "5m", 300, 86400,
	    OFF(retry_interval), 0 },
	{ "refresh_horizon", T_DURATION, "1d", 3600, 30 * 86400,
	    OFF(refresh_horizon), 0 },
	{ "strict_testing", T_BOOL, "no", 0, 0, OFF(strict_testing), 0 },
	{ "log_level", T_LOGLEVEL, "info", 0, 0, OFF(log_level), 0 },
	/* RFC 8460 §4.4 report metadata: who sends the TLS reports. */
	{ "report_organization", T_TEXT, "", 0, 0, OFF(report_org),
	    SZ(report_org) },
	{ "report_contact", T_TEXT, "", 0, 0, OFF(report_contact),
	    SZ(report_contact) },
	{ "report_submitter", T_TEXT, "", 0, 0, OFF(report_submitter),
	    SZ(report_submitter) },
	/* mtasts report send: where reports and their send state live,
	 * the MTA that takes mailto: reports, the first retry delay (it
	 * doubles; §5.5: retries for up to 24 h). */
	{ "report_dir", T_PATH, "/var/lib/mtasts/reports", 0, 0,
	    OFF(report_dir), SZ(report_dir) },
	{ "report_sendmail", T_TEXT, "/usr/sbin/sendmail -t -oi", 0, 0,
	    OFF(report_sendmail), SZ(report_sendmail) },
	{ "report_retry", T_DURATION, "5m", 1, 3600, OFF(report_retry), 0 },
	/* How long TLS results and report files are kept (bounded). */
	{ "report_retention", T_DURATION, "30d", 86400, 3650 * 86400,
	    OFF(report_retention), 0 },
	/* Fleet mode (docs/fleet.md): a Redis or Valkey store behind the
	 * local cache.  Its timeouts are short because a decision waits
	 * on them; a dead store is then skipped for a backoff (redis.c). */
	{ "shared_cache", T_SHARED, "", 0, 0, OFF(shared_cache),
	    SZ(shared_cache) },
	{ "shared_prefix", T_TEXT, "mtasts:", 0, 0, OFF(shared_prefix),
	    SZ(shared_prefix) },
	{ "shared_connect_timeout", T_MSEC, "500ms", 10, 10000,
	    OFF(shared_connect_timeout), 0 },
	{ "shared_command_timeout", T_MSEC, "250ms", 10, 10000,
	    OFF(shared_command_timeout), 0 },
	/* rediss:// (redis_tls.c): a store's private CA is trusted for
	 * the store only, never for policy fetches (ca_file). */
	{ "shared_ca_file", T_OPTPATH, "", 0, 0, OFF(shared_ca_file),
	    SZ(shared_ca_file) },
	{ "shared_tls_name", T_TLSNAME, "", 0, 0, OFF(shared_tls_name),
	    SZ(shared_tls_name) },
};
#define NKEYS	(sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const config_levels[] = {
	"err", "warning", "notice", "info", "debug"
};

/* "30", "30s", "5m", "2h", "1d": digits and one optional unit. */
static int
config_duration(const char *v, size_t len, unsigned int *out)
{
	unsigned long long n = 0, mul = 1;
	size_t i;

	if (len > 0 && !UTIL_IS_DIGIT(v[len - 1])) {
		switch (v[--len]) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
	}
	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < len; i++) {
		if (!UTIL_IS_DIGIT(v[i]))
			return -1;
		n = n * 10 + (unsigned long long)(v[i] - '0');
	}
	if (n * mul > 0xffffffffULL)
		return -1;
	*out = (unsigned int)(n * mul);
	return 0;
}

/* "250ms", "2s", or a number of milliseconds. */
static int
config_msec(const char *v, size_t len, unsigned int *out)
{
	unsigned int mul = 1;

	if (len > 2 && v[len - 2] == 'm' && v[len - 1] == 's')
		len -= 2;
	else if (len > 1 && v[len - 1] == 's') {
		len--;
		mul = 1000;
	}
	if (len == 0 || !UTIL_IS_DIGIT(v[len - 1]) ||
	    config_duration(v, len, out) != 0 || *out > 0xffffffffU / mul)
		return -1;
	*out *= mul;
	return 0;
}

static int
config_port(const char *p, unsigned int *out)
{
	size_t i, len = strlen(p);
	unsigned int n = 0;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!UTIL_IS_DIGIT(p[i]))
			return -1;
		n = n * 10 + (unsigned int)(p[i] - '0');
	}
	if (n == 0 || n > 65535)
		return -1;
	*out = n;
	return 0;
}

/* One "1.2.3.4", "1.2.3.4:53", "::1" or "[::1]:53", into c-ares form. */
static int
config_server(const char *s, size_t len, char *out, size_t size)
{
	char buf[80], *host = buf, *port = NULL, *rb;
	unsigned char a[16];
	unsigned int p = 53;
	int v6, n;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		if ((rb = strchr(buf, ']')) == NULL)
			return -1;
		*rb = '\0';
		host = buf + 1;
		if (rb[1] == ':')
			port = rb + 2;
		else if (rb[1] != '\0')
			return -1;
		v6 = 1;
	} else if ((port = strchr(buf, ':')) != NULL &&
	    strchr(port + 1, ':') == NULL) {
		*port++ = '\0';		/* IPv4:port */
		v6 = 0;
	} else {
		port = NULL;		/* bare IPv4 or IPv6 */
		v6 = strchr(buf, ':') != NULL;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, a) != 1)
		return -1;
	if (port != NULL && config_port(port, &p) != 0)
		return -1;
	n = snprintf(out, size, v6 ? "[%s]:%u" : "%s:%u", host, p);
	return (n < 0 || (size_t)n >= size) ? -1 : 0;
}

/* "addr[:port], ..." into c-ares' CSV; "" keeps resolv.conf. */
static int
config_resolver(const char *v, size_t len, char *out, size_t size)
{
	size_t i = 0, start, end, o = 0;

	out[0] = '\0';
	while (i < len) {
		for (start = i; i < len && v[i] != ','; i++)
			;
		for (end = i; end > start && UTIL_IS_WSP(v[end - 1]); end--)
			;
		while (start < end && UTIL_IS_WSP(v[start]))
			start++;
		if (o > 0) {
			if (o + 1 >= size)
				return -1;
			out[o++] = ',';
		}
		if (config_server(v + start, end - start, out + o, size - o)
		    != 0)
			return -1;
		o += strlen(out + o);
		if (i < len && ++i == len)
			return -1;	/* trailing comma */
	}
	return 0;
}

static int
config_bool(const char *v, size_t len, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (util_memeq(v, len, yes[i]))
			return *out = 1, 0;
		if (util_memeq(v, len, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

static int
config_set(struct mtasts_config *cfg, const struct config_key *k,
    const char *v, size_t len, char *why, size_t whylen)
{
	char *base = (char *)cfg + k->off;
	unsigned int d;
	size_t i;

	switch (k->type) {
	case T_OPTPATH:
	case T_PATH:
		if (len == 0 && k->type == T_OPTPATH) {
			base[0] = '\0';
			return 0;
		}
		if (len == 0 || len >= k->size || v[0] != '/' ||
		    memchr(v, '\0', len) != NULL)
			return util_err(why, whylen, "an absolute path is "
			    "needed"), -1;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case T_RESOLVER:
		if (config_resolver(v, len, base, k->size) != 0)
			return util_err(why, whylen, "expected IP[:port] or "
			    "[IPv6]:port, comma-separated"), -1;
		return 0;
	case T_DURATION:
		if (config_duration(v, len, &d) != 0)
			return util_err(why, whylen, "expected a duration "
			    "such as 30s, 5m, 2h or 1d"), -1;
		if (d < k->min || d > k->max)
			return util_err(why, whylen, "must be between %us and "
			    "%us", k->min, k->max), -1;
		*(unsigned int *)(void *)base = d;
		return 0;
	case T_BOOL:
		if (config_bool(v, len, (int *)(void *)base) != 0)
			return util_err(why, whylen, "expected yes or no"), -1;
		return 0;
	case T_TEXT:
		/* Printable ASCII: it goes into JSON, mail headers and
		 * file names (RFC 8460 §5.1, §5.3). */
		if (len >= k->size)
			return util_err(why, whylen, "longer than %zu bytes",
			    k->size - 1), -1;
		for (i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x20 ||
			    (unsigned char)v[i] > 0x7e || v[i] == '!')
				return util_err(why, whylen, "printable ASCII "
				    "only, no '!'"), -1;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case T_DANELEVEL:
		if (!util_memeq(v, len, "dane-only") &&
		    !util_memeq(v, len, "dane"))
			return util_err(why, whylen, "expected dane-only or "
			    "dane"), -1;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case T_TLSLEVEL:
		if (!util_memeq(v, len, "may") &&
		    !util_memeq(v, len, "encrypt") &&
		    !util_memeq(v, len, "dane"))
			return util_err(why, whylen, "expected may, encrypt "
			    "or dane"), -1;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case T_SHARED: {
		struct redis_url u;

		if (len >= k->size)
			return util_err(why, whylen, "longer than %zu bytes",
			    k->size - 1), -1;
		if (len > 0 && redis_url_parse(v, len, &u, why, whylen) != 0)
			return -1;
		explicit_bzero(&u, sizeof(u));
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	}
	case T_TLSNAME:
		/* A host name or an address, as a certificate names it. */
		if (len >= k->size || len > REDIS_HOST_MAX)
			return util_err(why, whylen, "longer than %d bytes",
			    REDIS_HOST_MAX), -1;
		for (i = 0; i < len; i++)
			if (!UTIL_IS_ALNUM((unsigned char)v[i]) &&
			    v[i] != '.' && v[i] != '-' && v[i] != ':')
				return util_err(why, whylen, "expected a host "
				    "name or an address"), -1;
		memcpy(base, v, len);
		base[len] = '\0';
		return 0;
	case T_MSEC:
		if (config_msec(v, len, &d) != 0)
			return util_err(why, whylen, "expected a time such as "
			    "250ms or 2s"), -1;
		if (d < k->min || d > k->max)
			return util_err(why, whylen, "must be between %ums and "
			    "%ums", k->min, k->max), -1;
		*(unsigned int *)(void *)base = d;
		return 0;
	case T_LOGLEVEL:
		for (i = 0; i < 5; i++)
			if (util_memeq(v, len, config_levels[i]))
				return *(int *)(void *)base = (int)i, 0;
		return util_err(why, whylen, "expected err, warning, notice, "
		    "info or debug"), -1;
	}
	return -1;
}

static const struct config_key *
config_lookup(const char *name, size_t len, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (util_memeq(name, len, config_keys[i].name)) {
			*idx = i;
			return &config_keys[i];
		}
	return NULL;
}

/* One line without its LF: blank, "# comment" or "key = value # c". */
static int
config_line(struct mtasts_config *cfg, const char *p, size_t len,
    unsigned char *seen, const char *name, size_t line, char *err,
    size_t errlen)
{
	const struct config_key *k;
	char why[160], q[64];
	size_t i, klen, v, idx;

	for (i = 0; i < len; i++)
		if (p[i] == '#' && (i == 0 || UTIL_IS_WSP(p[i - 1])))
			len = i;		/* comment */
	while (len > 0 && (UTIL_IS_WSP(p[len - 1]) || p[len - 1] == '\r'))
		len--;
	for (i = 0; i < len && UTIL_IS_WSP(p[i]); i++)
		;
	if (i == len)
		return MTASTS_OK;
	for (klen = 0; i + klen < len && (UTIL_IS_ALNUM((unsigned char)
	    p[i + klen]) || p[i + klen] == '_'); klen++)
		;
	util_quote(q, sizeof(q), p + i, klen ? klen : len - i);
	for (v = i + klen; v < len && UTIL_IS_WSP(p[v]); v++)
		;
	if (klen == 0 || v == len || p[v] != '=') {
		util_err(err, errlen, "%s:%zu: expected \"key = value\"",
		    name, line);
		return MTASTS_EPARSE;
	}
	if ((k = config_lookup(p + i, klen, &idx)) == NULL) {
		util_err(err, errlen, "%s:%zu: unknown key '%s'", name, line,
		    q);
		return MTASTS_EPARSE;
	}
	if (seen[idx]++) {
		util_err(err, errlen, "%s:%zu: '%s' set twice", name, line, q);
		return MTASTS_EPARSE;
	}
	for (v++; v < len && UTIL_IS_WSP(p[v]); v++)
		;
	for (i = v; i < len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t') {
			util_err(err, errlen, "%s:%zu: control character in "
			    "the value of '%s'", name, line, q);
			return MTASTS_EPARSE;
		}
	if (config_set(cfg, k, p + v, len - v, why, sizeof(why)) != 0) {
		util_err(err, errlen, "%s:%zu: %s: %s", name, line, q, why);
		return MTASTS_EPARSE;
	}
	return MTASTS_OK;
}

static int
config_defaults(struct mtasts_config *cfg)
{
	char why[160];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (config_set(cfg, &config_keys[i], config_keys[i].def,
		    strlen(config_keys[i].def), why, sizeof(why)) != 0)
			return MTASTS_EINVAL;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_config_parse(const char *p, size_t len, const char *name,
    struct mtasts_config **out, char *err, size_t errlen)
{
	unsigned char seen[NKEYS] = { 0 };
	struct mtasts_config *cfg;
	const char *lf;
	size_t pos = 0, line = 1, end;
	int r = MTASTS_OK;

	if (out == NULL || (p == NULL && len > 0))
		return MTASTS_EINVAL;
	*out = NULL;
	if ((cfg = util_calloc(1, sizeof(*cfg))) == NULL)
		return MTASTS_ENOMEM;
	if ((r = config_defaults(cfg)) != MTASTS_OK)
		goto done;
	for (; pos < len && r == MTASTS_OK; pos = end + 1, line++) {
		lf = memchr(p + pos, '\n', len - pos);
		end = lf ? (size_t)(lf - p) : len;
		if (end - pos > CONFIG_LINE_MAX) {
			util_err(err, errlen, "%s:%zu: line longer than %d",
			    name, line, CONFIG_LINE_MAX);
			r = MTASTS_EPARSE;
		} else
			r = config_line(cfg, p + pos, end - pos, seen, name,
			    line, err, errlen);
	}
done:
	if (r != MTASTS_OK) {
		util_free(cfg);
		return r;
	}
	*out = cfg;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_config_load(const char *path, struct mtasts_config **out, char *err,
    size_t errlen)
{
	const char *env = getenv("MTASTS_CONF");
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r, optional = 0;

	*out = NULL;		/* on every error, as mtasts_config_parse */
	if (path == NULL && env != NULL && *env != '\0')
		path = env;
	else if (path == NULL) {
		path = MTASTS_CONF_DEFAULT;
		optional = 1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		if (optional && errno == ENOENT)
			return mtasts_config_parse("", 0, path, out, err,
			    errlen);
		util_err(err, errlen, "%s: %s", path, strerror(errno));
		return MTASTS_EINVAL;
	}
	if ((buf = util_malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		fclose(f);
		return MTASTS_ENOMEM;
	}
	len = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || len > CONFIG_FILE_MAX) {
		util_err(err, errlen, "%s: %s", path, ferror(f) ?
		    "read error" : "larger than 1 MiB");
		r = MTASTS_EINVAL;
	} else
		r = mtasts_config_parse(buf, len, path, out, err, errlen);
	fclose(f);
	util_free(buf);
	return r;
}

MTASTS_API void
mtasts_config_free(struct mtasts_config *cfg)
{
	util_free(cfg);
}

/* The store as a dump shows it: the password is a secret, and "config
 * dump" output ends up in bug reports. */
static void
config_shared_dump(const char *url, char *val, size_t size)
{
	struct redis_url u;
	char why[160];

	/* Never the value as written: it was parsed when it was read, and
	 * one that cannot be is shown as nothing rather than in full. */
	if (*url == '\0' || redis_url_parse(url, strlen(url), &u, why,
	    sizeof(why)) != 0)
		snprintf(val, size, "%s", "");
	else
		redis_url_redact(&u, val, size);
	explicit_bzero(&u, sizeof(u));
}

MTASTS_API int
mtasts_config_item(const struct mtasts_config *cfg, size_t i,
    const char **key, char *val, size_t size)
{
	const struct config_key *k;
	const char *base;
	unsigned int d;

	if (i >= NKEYS)
		return MTASTS_ENORECORD;
	if (cfg == NULL || val == NULL || size == 0)
		return MTASTS_EINVAL;
	k = &config_keys[i];
	base = (const char *)cfg + k->off;
	*key = k->name;
	switch (k->type) {
	case T_PATH:
	case T_OPTPATH:
	case T_RESOLVER:
	case T_TEXT:
	case T_DANELEVEL:
	case T_TLSLEVEL:
	case T_TLSNAME:
		snprintf(val, size, "%s", base);
		break;
	case T_DURATION:
		d = *(const unsigned int *)(const void *)base;
		snprintf(val, size, "%us", d);
		break;
	case T_MSEC:
		d = *(const unsigned int *)(const void *)base;
		snprintf(val, size, "%ums", d);
		break;
	case T_SHARED:
		config_shared_dump(base, val, size);
		break;
	case T_BOOL:
		snprintf(val, size, "%s",
		    *(const int *)(const void *)base ? "yes" : "no");
		break;
	case T_LOGLEVEL:
		snprintf(val, size, "%s",
		    config_levels[*(const int *)(const void *)base]);
		break;
	}
	return MTASTS_OK;
}
