/*
 * cert.c - is a certificate valid for a host by name?
 *
 * RFC 8461 §3.3 and §4.2 want a DNS-ID (SAN dNSName) matching the host,
 * per RFC 6125.  D11: no partial-label wildcards; D12: never the subject
 * CN.  OpenSSL's own rules add that "*" covers exactly one whole label
 * and never a public-suffix-like single label ("*.com").
 */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "mtasts.h"
#include "name.h"
#include "util.h"

MTASTS_API int
mtasts_cert_match(struct x509_st *cert, const char *host, size_t len,
    char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	int r;

	if (cert == NULL) {
		util_err(err, errlen, "certificate: none");
		return MTASTS_EINVAL;
	}
	r = mtasts_domain_normalize(host, len, name, sizeof(name), err,
	    errlen);
	if (r != MTASTS_OK)
		return r == MTASTS_EPARSE ? MTASTS_ENOMATCH : r;
	/* OpenSSL would compare "1.2.3.4" with a dNSName "1.2.3.4" or
	 * "*.2.3.4"; a DNS-ID never names an IP address (RFC 6125 §6.2.1,
	 * as curl and Go refuse). */
	if (name_is_ip(name, strlen(name))) {
		util_err(err, errlen, "certificate: %s is an IP address, "
		    "which no DNS name matches", name);
		return MTASTS_ENOMATCH;
	}
	r = X509_check_host(cert, name, strlen(name),
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL);
	if (r == 1)
		return MTASTS_OK;
	ERR_clear_error();
	/* Fail closed: an internal error (r < 0) is not a match either. */
	util_err(err, errlen, "certificate: no subjectAltName DNS name "
	    "matches %s%s", name, r < 0 ? " (check failed)" : "");
	return MTASTS_ENOMATCH;
}

MTASTS_API int
mtasts_cert_match_pem(const char *pem, size_t pemlen, const char *host,
    size_t len, char *err, size_t errlen)
{
	BIO *bio;
	X509 *cert;
	int r;

	if (pem == NULL || pemlen == 0 || pemlen > INT_MAX) {
		util_err(err, errlen, "certificate: empty or too large");
		return MTASTS_EPARSE;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)pemlen)) == NULL)
		return MTASTS_ENOMEM;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (cert == NULL) {
		ERR_clear_error();
		util_err(err, errlen, "certificate: no PEM certificate found");
		return MTASTS_EPARSE;
	}
	r = mtasts_cert_match(cert, host, len, err, errlen);
	X509_free(cert);
	return r;
}
