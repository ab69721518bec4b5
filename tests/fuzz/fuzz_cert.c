/*
 * fuzz_cert.c - mtasts_cert_match_pem() on hostile PEM (RFC 8461 §3.3,
 * §4.2; D11, D12).
 *
 * The input is the PEM buffer; the host is fixed.  Properties: the
 * answer is OK, ENOMATCH or EPARSE (no certificate) with a message on
 * failure; the host's case and trailing dot change nothing; an invalid
 * host never matches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

#define FUZZ_HOST	"mail.example.com"
#define FUZZ_HOST_ALT	"MAIL.Example.COM."

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_match(const uint8_t *data, size_t size, const char *host, char *err,
    size_t errlen)
{
	return mtasts_cert_match_pem((const char *)data, size, host,
	    strlen(host), err, errlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[MTASTS_ERRLEN];
	int r, r2;

	err[0] = '\0';
	r = fuzz_match(data, size, FUZZ_HOST, err, sizeof(err));
	if (r != MTASTS_OK && r != MTASTS_ENOMATCH && r != MTASTS_EPARSE)
		abort();
	if (r != MTASTS_OK && err[0] == '\0')
		abort();
	/* Case-insensitive; the trailing dot of an absolute name ignored. */
	if ((r2 = fuzz_match(data, size, FUZZ_HOST_ALT, NULL, 0)) != r)
		__builtin_trap();
	/* Invalid hosts never match; no certificate stays EPARSE. */
	r2 = fuzz_match(data, size, "bad..host", NULL, 0);
	if (r2 != (r == MTASTS_EPARSE ? MTASTS_EPARSE : MTASTS_ENOMATCH))
		__builtin_trap();
	return 0;
}
