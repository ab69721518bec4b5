/*
 * tlsprobe.c - the TLS result (RFC 8460 §4.3) an MTA-STS sender would
 * meet at an MX host right now: for MTAs that deliver a "testing"
 * domain's mail over TLS without verifying it and do not say whether
 * verification would have passed (OpenSMTPD 6.8's opportunistic relay).
 * One SMTP session (smtp.c): STARTTLS, the chain against ca_file, the
 * name against the MX host (RFC 8461 §4.2), expiry.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "mtasts.h"
#include "config.h"
#include "ctx.h"
#include "smtp.h"
#include "util.h"

/* The RFC 8460 result type of a finished probe, NULL for none (no
 * connection, no answer: not a TLS result). */
static const char *
tlsprobe_type(int rc, const struct mtasts_smtp_result *r)
{
	if (rc != 0) {
		if (r->stage == MTASTS_SMTP_ST_STARTTLS && !r->starttls)
			return "starttls-not-supported";
		if (r->stage >= MTASTS_SMTP_ST_STARTTLS)
			return "validation-failure";	/* TLS refused */
		return NULL;
	}
	if (r->verify == X509_V_ERR_CERT_HAS_EXPIRED)
		return "certificate-expired";
	if (r->verify != X509_V_OK)
		return "certificate-not-trusted";
	if (!r->name_ok)
		return "certificate-host-mismatch";
	return "success";
}

MTASTS_API int
mtasts_tls_probe(struct mtasts_ctx *ctx, const char *host, const char *ip,
    unsigned int port, const char **type, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 1], helo[MTASTS_DOMAIN_MAX + 1];
	struct mtasts_smtp_probe in;
	struct mtasts_smtp_result r;
	int rc;

	*type = NULL;
	if (ctx == NULL || ip == NULL || port == 0 || port > 65535)
		return MTASTS_EINVAL;
	if (host == NULL || mtasts_domain_normalize(host, strlen(host), name,
	    sizeof(name), err, errlen) != MTASTS_OK)
		return MTASTS_EPARSE;
	mtasts_smtp_helo_name(helo, sizeof(helo));
	memset(&in, 0, sizeof(in));
	in.host = name;
	in.addr = ip;
	in.port = port;
	in.timeout = ctx->cfg->connect_timeout;
	in.ca_file = ctx->cfg->ca_file;
	in.helo = helo;
	rc = mtasts_smtp_probe(&in, &r);
	if ((*type = tlsprobe_type(rc, &r)) == NULL)
		return util_err(err, errlen, "%s [%s]:%u: %s", name, ip, port,
		    r.error), MTASTS_ETIMEOUT;
	if (rc != 0)
		util_err(err, errlen, "%s [%s]:%u: %s", name, ip, port,
		    r.error);
	else if (strcmp(*type, "success") != 0)
		util_err(err, errlen, "%s [%s]:%u: %s", name, ip, port,
		    r.verify != X509_V_OK ? r.verify_text : r.name_err);
	return MTASTS_OK;
}
