/*
 * test_cert.c - certificate identity by name (RFC 8461 §3.3, §4.2):
 * SAN DNS-IDs only, no CN fallback (checklist A3.25, A5.39, D12), "*"
 * only as the whole left-most label matching one label, no partial
 * wildcards (A3 matrix, D11).  Certificates are made in-process with a
 * throwaway EC key; rows cite the checklist items.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mtasts.h>

#define S(s)		s, sizeof(s) - 1
#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

#define OK	MTASTS_OK
#define NO	MTASTS_ENOMATCH

static EVP_PKEY *key;		/* signs every test certificate */

static int
setup(void **state)
{
	(void)state;
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key);
	return 0;
}

/* A self-signed certificate; cn and san (OpenSSL syntax) may be NULL. */
static X509 *
mkcert(const char *cn, const char *san)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	X509_NAME *name;
	X509 *x;

	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	name = X509_get_subject_name(x);
	if (cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN",
		    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (san != NULL) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		ext = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

struct row {
	const char	*cn;
	const char	*san;
	const char	*host;
	size_t		 len;
	int		 status;
	const char	*item;
};

static const struct row rows[] = {
	{ NULL, "DNS:mail.example.com", S("mail.example.com"), OK,
	    "A5.39 SAN DNS-ID" },
	{ NULL, "DNS:mail.example.com", S("MAIL.Example.COM"), OK,
	    "A5.38 RFC 6125 §6.4.1 case" },
	{ NULL, "DNS:MAIL.EXAMPLE.COM", S("mail.example.com"), OK,
	    "A5.38 RFC 6125 §6.4.1 case" },
	{ NULL, "DNS:mail.example.com", S("mail.example.com."), OK,
	    "D10 the MX name's trailing dot is ignored" },
	{ NULL, "DNS:a.example.com,DNS:mail.example.net",
	    S("mail.example.net"), OK, "A5.39 any DNS-ID" },
	{ NULL, "DNS:mail.xn--bcher-kva.example",
	    S("MAIL.XN--BCHER-KVA.EXAMPLE"), OK, "A2.19 A-labels" },
	{ NULL, "DNS:mail.example.com", S("other.example.com"), NO, "A5.39" },
	{ NULL, "DNS:mail.example.com", S("example.com"), NO, "A5.39" },
	{ NULL, "DNS:example.com", S("mail.example.com"), NO, "A5.39" },
	{ NULL, "DNS:*.example.com", S("a.example.com"), OK, "A3.25" },
	{ NULL, "DNS:*.example.com", S("mta-sts.example.com"), OK,
	    "A3 matrix *.example.com for mta-sts" },
	{ NULL, "DNS:*.example.com", S("a.b.example.com"), NO,
	    "A3.25 one label" },
	{ NULL, "DNS:*.example.com", S("example.com"), NO, "A3.25" },
	{ NULL, "DNS:*.example.com", S("*.example.com"), NO, "A11.63" },
	{ NULL, "DNS:*.*.example.com", S("a.b.example.com"), NO, "A3.25" },
	{ NULL, "DNS:mail.*.com", S("mail.example.com"), NO,
	    "A3.25 left-most only" },
	{ NULL, "DNS:f*.example.com", S("foo.example.com"), NO, "D11" },
	{ NULL, "DNS:*o.example.com", S("foo.example.com"), NO, "D11" },
	{ NULL, "DNS:f*o.example.com", S("foo.example.com"), NO, "D11" },
	{ NULL, "DNS:mta-sts*.example.com", S("mta-sts1.example.com"), NO,
	    "A3 matrix partial-label wildcard, D11" },
	{ "mail.example.com", NULL, S("mail.example.com"), NO,
	    "A3 matrix CN-only, D12" },
	{ "mail.example.com", "DNS:other.example.com", S("mail.example.com"),
	    NO, "D12 CN never checked" },
	{ "mail.example.com", "IP:192.0.2.1", S("mail.example.com"), NO,
	    "D12 no CN fallback without a dNSName" },
	{ NULL, "IP:192.0.2.1", S("192.0.2.1"), NO, "A3.25 DNS-IDs only" },
	{ NULL, "IP:192.0.2.1", S("mail.example.com"), NO, "A3.25" },
	{ NULL, "email:postmaster@mail.example.com", S("mail.example.com"),
	    NO, "A3.25 DNS-IDs only" },
	{ NULL, "URI:https://mail.example.com/", S("mail.example.com"), NO,
	    "A3.25 DNS-IDs only" },
	{ NULL, "DNS:mail.example.com", S("mail.example.com\0.evil.net"), NO,
	    "NUL in host" },
	{ NULL, "DNS:mail.example.com", S(""), NO, "empty host" },
	/* A DNS-ID never matches an IP reference identifier (RFC 6125
	 * §6.2.1; curl and Go refuse too), wildcard or not. */
	{ NULL, "DNS:1.2.3.4", S("1.2.3.4"), NO, "issue 20 IPv4 as dNSName" },
	{ NULL, "DNS:*.2.3.4", S("1.2.3.4"), NO, "issue 20 IPv4 wildcard" },
	{ NULL, "DNS:1.2.3.4", S("1.2.3.4."), NO, "issue 20 trailing dot" },
	{ NULL, "DNS:*.0.0.1", S("127.0.0.1"), NO, "issue 20 loopback" },
	{ NULL, "DNS:127.1", S("127.1"), NO, "issue 20 inet_aton short form" },
	{ NULL, "DNS:*.0x7f000001", S("a.0x7f000001"), NO,
	    "issue 20 ends in a hex number" },
	{ NULL, "DNS:2001:db8::1", S("2001:db8::1"), NO, "issue 20 IPv6" },
	{ NULL, "DNS:*.db8::1", S("2001.db8::1"), NO, "issue 20 IPv6" },
	{ NULL, "DNS:[2001:db8::1]", S("[2001:db8::1]"), NO,
	    "issue 20 IPv6 literal" },
	{ NULL, "DNS:*.example.123x", S("a.example.123x"), OK,
	    "issue 20 a label with digits is still a name" },
	{ NULL, "DNS:1.example.com", S("1.example.com"), OK,
	    "issue 20 a numeric first label is still a name" },
};

static void
test_a5_39_cert_match(void **state)
{
	const struct row *t;
	char err[MTASTS_ERRLEN];
	size_t i;
	X509 *x;
	int r;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		t = &rows[i];
		x = mkcert(t->cn, t->san);
		err[0] = '\0';
		r = mtasts_cert_match(x, t->host, t->len, err, sizeof(err));
		if (r != t->status)
			print_error("row %zu (%s): got %d '%s'\n", i, t->item,
			    r, err);
		assert_int_equal(r, t->status);
		X509_free(x);
	}
	/* Fail closed: no certificate is never a match. */
	assert_int_not_equal(mtasts_cert_match(NULL, S("mail.example.com"),
	    NULL, 0), MTASTS_OK);
}

/* A dNSName "mail.example.com\0.evil.net" must match neither name. */
static void
test_a3_25_san_with_nul(void **state)
{
	static const char dns[] = "mail.example.com\0.evil.net";
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	ASN1_IA5STRING *s;
	X509 *x;

	(void)state;
	x = mkcert(NULL, NULL);
	assert_non_null(gens = GENERAL_NAMES_new());
	assert_non_null(gen = GENERAL_NAME_new());
	assert_non_null(s = ASN1_IA5STRING_new());
	assert_int_equal(ASN1_STRING_set(s, dns, sizeof(dns) - 1), 1);
	GENERAL_NAME_set0_value(gen, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(gens, gen) > 0);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT), 1);
	GENERAL_NAMES_free(gens);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	assert_int_equal(mtasts_cert_match(x, S("mail.example.com"), NULL,
	    0), NO);
	assert_int_equal(mtasts_cert_match(x, S(dns), NULL, 0), NO);
	X509_free(x);
}

/* The certificate as PEM, appended to buf at *len (size bytes). */
static void
pem_append(X509 *x, char *buf, size_t size, size_t *len)
{
	BIO *bio;
	char *p;
	long n;

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &p);
	assert_true(n > 0 && (size_t)n < size - *len);
	memcpy(buf + *len, p, (size_t)n);
	*len += (size_t)n;
	BIO_free(bio);
}

static size_t
pem_of(const char *cn, const char *san, char *buf, size_t size)
{
	size_t len = 0;
	X509 *x = mkcert(cn, san);

	pem_append(x, buf, size, &len);
	X509_free(x);
	return len;
}

static void
test_cert_match_pem(void **state)
{
	char pem[8192], err[MTASTS_ERRLEN];
	size_t len;

	(void)state;
	len = pem_of(NULL, "DNS:mail.example.com", pem, sizeof(pem));
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("mail.example.com"),
	    err, sizeof(err)), OK);
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("mx.example.com"),
	    err, sizeof(err)), NO);
	/* The length is honoured: without its END line there is no PEM. */
	assert_int_equal(mtasts_cert_match_pem(pem, len - 10,
	    S("mail.example.com"), err, sizeof(err)), MTASTS_EPARSE);
	assert_int_equal(mtasts_cert_match_pem(pem, len / 2,
	    S("mail.example.com"), err, sizeof(err)), MTASTS_EPARSE);
	/* D12 through the PEM path as well. */
	len = pem_of("mail.example.com", NULL, pem, sizeof(pem));
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("mail.example.com"),
	    err, sizeof(err)), NO);
}

/* mtasts.h: only the first certificate in the buffer counts. */
static void
test_cert_match_pem_first(void **state)
{
	char pem[8192];
	size_t len = 0;
	X509 *a, *b;

	(void)state;
	a = mkcert(NULL, "DNS:a.example.com");
	b = mkcert(NULL, "DNS:b.example.com");
	pem_append(a, pem, sizeof(pem), &len);
	pem_append(b, pem, sizeof(pem), &len);
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("a.example.com"),
	    NULL, 0), OK);
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("b.example.com"),
	    NULL, 0), NO);
	X509_free(a);
	X509_free(b);
}

struct garbage_row {
	const char	*in;
	size_t		 len;
	const char	*item;
};

static const struct garbage_row garbage_rows[] = {
	{ S(""), "empty" },
	{ S("hello, world\n"), "text" },
	{ S("\0\0\0\0"), "NUL bytes" },
	{ S("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
	    "no body" },
	{ S("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	    "not DER" },
	{ S("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
	    "not base64" },
	{ S("-----BEGIN CERTIFICATE-----\nMIIB"), "cut short" },
	{ S("\x30\x82\x01\x00\x30\x81"), "DER, not PEM" },
};

/* mtasts.h: EPARSE if the buffer holds no certificate. */
static void
test_cert_match_pem_garbage(void **state)
{
	char err[MTASTS_ERRLEN], pem[4096];
	size_t i, len;
	BIO *bio;
	char *p;
	int r;

	(void)state;
	for (i = 0; i < NROWS(garbage_rows); i++) {
		err[0] = '\0';
		r = mtasts_cert_match_pem(garbage_rows[i].in,
		    garbage_rows[i].len, S("mail.example.com"), err,
		    sizeof(err));
		if (r != MTASTS_EPARSE)
			print_error("row %zu (%s): got %d\n", i,
			    garbage_rows[i].item, r);
		assert_int_equal(r, MTASTS_EPARSE);
		assert_true(err[0] != '\0');
	}
	/* A private key is not a certificate. */
	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0,
	    NULL, NULL), 1);
	len = (size_t)BIO_get_mem_data(bio, &p);
	assert_true(len < sizeof(pem));
	memcpy(pem, p, len);
	BIO_free(bio);
	assert_int_equal(mtasts_cert_match_pem(pem, len, S("mail.example.com"),
	    NULL, 0), MTASTS_EPARSE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a5_39_cert_match),
		cmocka_unit_test(test_a3_25_san_with_nul),
		cmocka_unit_test(test_cert_match_pem),
		cmocka_unit_test(test_cert_match_pem_first),
		cmocka_unit_test(test_cert_match_pem_garbage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
