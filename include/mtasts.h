/*
 * mtasts.h - public interface of libmtasts, MTA-STS (RFC 8461) and
 * SMTP TLS Reporting (RFC 8460) for sending MTAs.
 *
 * This is the only header the adapters (Exim module, OpenSMTPD filter,
 * CLI) include.  Objects are opaque; every call documents who owns what.
 * libmtasts(3) describes the whole API, its thread and callback rules,
 * with examples (docs/examples/libmtasts-*.c).
 *
 * Parsers are pure functions over (bytes, length): no I/O, no global
 * state, safe to call from several threads.  Input is treated as hostile:
 * embedded NUL, bare CR, non-UTF-8 and overlong input are errors, never
 * crashes.  On error, a message naming the input position is written to
 * the caller's buffer `err' of `errlen' bytes (always NUL-terminated when
 * errlen > 0; may be NULL when errlen is 0).
 */
#ifndef MTASTS_H
#define MTASTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MTASTS_API __attribute__((visibility("default")))
#else
#define MTASTS_API
#endif

#define MTASTS_VERSION		"0.1.0"

/* Suggested size of error buffers passed to the calls below. */
#define MTASTS_ERRLEN		256
/* RFC 8461 §3.1: id = 1*32(ALPHA / DIGIT). */
#define MTASTS_ID_MAX		32
/* RFC 8461 §3.3 (D16): largest policy body we accept. */
#define MTASTS_POLICY_MAX	65536
/* RFC 8461 §3.2: max_age upper bound (about one year). */
#define MTASTS_MAX_AGE_MAX	31557600u
/* RFC 1035 §2.3.4: a domain name in text form, without trailing dot. */
#define MTASTS_DOMAIN_MAX	253

/* Status codes returned by the calls below. */
enum mtasts_status {
	MTASTS_OK = 0,
	MTASTS_ENOMEM,		/* out of memory */
	MTASTS_EINVAL,		/* bad argument from the caller */
	MTASTS_EPARSE,		/* input is not syntactically valid */
	MTASTS_ENORECORD,	/* RRset holds no record of the kind */
	MTASTS_EMULTIPLE,	/* RRset holds more than one record */
	MTASTS_ENOMATCH,	/* well-formed, but does not match */
	MTASTS_ETIMEOUT,	/* no answer within the deadline */
	MTASTS_EIO,		/* a file or database cannot be used */
};

/* A static, human-readable name for a status code. */
MTASTS_API const char *mtasts_strerror(int status);

/* One DNS TXT resource record: its character-strings already
 * concatenated without separator (RFC 8461 §3.1, D17). */
struct mtasts_rr {
	const char	*data;		/* bytes, not NUL-terminated */
	size_t		 len;		/* number of bytes */
};

/*
 * _mta-sts TXT record (RFC 8461 §3.1)
 */

/* Parse one record.  On MTASTS_OK, `id' (MTASTS_ID_MAX + 1 bytes) holds
 * the NUL-terminated policy id.  MTASTS_EPARSE otherwise. */
MTASTS_API int mtasts_record_parse(const char *p, size_t len, char *id,
    char *err, size_t errlen);

/* Apply the RRset rule of §3.1 (D2): keep the RRs that begin with
 * "v=STSv1" followed by optional WSP and ";" or the end; exactly one must
 * remain (MTASTS_ENORECORD, MTASTS_EMULTIPLE) and it must parse. */
MTASTS_API int mtasts_record_select(const struct mtasts_rr *rrs, size_t n,
    char *id, char *err, size_t errlen);

/*
 * Policy file (RFC 8461 §3.2)
 */

enum mtasts_mode {
	MTASTS_MODE_NONE = 0,
	MTASTS_MODE_TESTING,
	MTASTS_MODE_ENFORCE,
};

struct mtasts_policy;

/* Parse a policy body: its exact bytes as served.  On MTASTS_OK *out is a
 * new policy the caller frees with mtasts_policy_free(); on error *out is
 * NULL and `err' names the line and the reason. */
MTASTS_API int mtasts_policy_parse(const char *p, size_t len,
    struct mtasts_policy **out, char *err, size_t errlen);
MTASTS_API void mtasts_policy_free(struct mtasts_policy *pol);

MTASTS_API enum mtasts_mode mtasts_policy_mode(const struct mtasts_policy *);
MTASTS_API uint32_t mtasts_policy_max_age(const struct mtasts_policy *);
MTASTS_API size_t mtasts_policy_mx_count(const struct mtasts_policy *);
/* The i-th mx pattern, lowercase, in policy order; valid while pol is. */
MTASTS_API const char *mtasts_policy_mx(const struct mtasts_policy *,
    size_t i);
/* Lint warnings (ignored duplicates, unknown fields, weak patterns). */
MTASTS_API size_t mtasts_policy_warning_count(const struct mtasts_policy *);
MTASTS_API const char *mtasts_policy_warning(const struct mtasts_policy *,
    size_t i);
/* MTASTS_OK if at least one mx pattern matches host (§4.1), else
 * MTASTS_ENOMATCH (also for an invalid host). */
MTASTS_API int mtasts_policy_match(const struct mtasts_policy *pol,
    const char *host, size_t len);
MTASTS_API const char *mtasts_mode_name(enum mtasts_mode mode);

/*
 * _smtp._tls TLSRPT record (RFC 8460 §3)
 */

struct mtasts_tlsrpt;
struct mtasts_ctx;

/* Parse one record.  On MTASTS_OK *out holds the usable rua URIs
 * (mailto: and https: only, D22); caller frees with mtasts_tlsrpt_free().
 * A record with no usable URI is MTASTS_EPARSE. */
MTASTS_API int mtasts_tlsrpt_parse(const char *p, size_t len,
    struct mtasts_tlsrpt **out, char *err, size_t errlen);
/* The RRset rule of RFC 8460 §3, as mtasts_record_select() (D2). */
MTASTS_API int mtasts_tlsrpt_select(const struct mtasts_rr *rrs, size_t n,
    struct mtasts_tlsrpt **out, char *err, size_t errlen);
MTASTS_API void mtasts_tlsrpt_free(struct mtasts_tlsrpt *);
MTASTS_API size_t mtasts_tlsrpt_rua_count(const struct mtasts_tlsrpt *);
/* The i-th usable URI, as written in the record; valid while t is. */
MTASTS_API const char *mtasts_tlsrpt_rua(const struct mtasts_tlsrpt *,
    size_t i);
/* Lint warnings (skipped URI schemes, ...). */
MTASTS_API size_t mtasts_tlsrpt_warning_count(const struct mtasts_tlsrpt *);
MTASTS_API const char *mtasts_tlsrpt_warning(const struct mtasts_tlsrpt *,
    size_t i);

/* Look up and select the _smtp._tls.<domain> record (RFC 8460 §3)
 * through the context's resolver, blocking on its private loop (ctx made
 * with base NULL, else MTASTS_EINVAL).  MTASTS_OK with *out (caller
 * frees with mtasts_tlsrpt_free()); MTASTS_ENORECORD if the domain has
 * no single valid record with a usable rua, i.e. does not implement
 * TLSRPT; MTASTS_ETIMEOUT on a DNS failure; err says why. */
MTASTS_API int mtasts_tlsrpt_query_wait(struct mtasts_ctx *ctx,
    const char *domain, struct mtasts_tlsrpt **out, char *err,
    size_t errlen);
/* POST a gzip-compressed report (RFC 8460 §5.4, application/tlsrpt+gzip)
 * to an https rua, blocking on the private loop: the host resolved by
 * our resolver, no redirects, connect_timeout and fetch_timeout.
 * Certificate errors do not stop it (§3) but are logged as warnings.
 * data is copied.  MTASTS_OK when the receiver's status line said 2xx
 * (the rest of the answer is not read: a slow or huge body does not
 * undo the delivery); MTASTS_EPARSE for a URL that is not
 * https://domain[:port]/...; MTASTS_EIO or MTASTS_ETIMEOUT otherwise,
 * with err saying why (e.g. "HTTP status 500"). */
MTASTS_API int mtasts_tlsrpt_post_wait(struct mtasts_ctx *ctx,
    const char *url, const void *data, size_t len, char *err,
    size_t errlen);

/*
 * Names and matching (RFC 8461 §4.1, §4.2)
 */

/* Normalise a domain name: one trailing dot removed, U-labels converted
 * to A-labels (IDNA2008, libidn2), ASCII lowercased, then checked as an
 * LDH host name (labels 1-63, total <= 253).  Writes the NUL-terminated
 * result to out (outsize >= MTASTS_DOMAIN_MAX + 1). */
MTASTS_API int mtasts_domain_normalize(const char *p, size_t len, char *out,
    size_t outsize, char *err, size_t errlen);

/* MTASTS_OK if p is a valid mx pattern: ["*."] Domain (D9). */
MTASTS_API int mtasts_mx_pattern_check(const char *p, size_t len,
    char *err, size_t errlen);

/* Match an MX host name against one pattern (§4.1, D10): ASCII
 * case-insensitive, the host's trailing dot ignored, "*." matching exactly
 * one left-most label.  MTASTS_OK on a match, MTASTS_ENOMATCH if not,
 * MTASTS_EPARSE (with err) if the pattern or the host is invalid: an
 * invalid pattern never matches, nor does a host that is an IP address
 * ("1.2.3.4", "127.1"). */
MTASTS_API int mtasts_mx_match(const char *pattern, size_t plen,
    const char *host, size_t hlen, char *err, size_t errlen);

struct x509_st;		/* OpenSSL's X509 */

/* Is the certificate valid for host by name (§3.3, §4.2, D11, D12)?
 * Only SAN dNSNames count (no CN fallback), no partial-label wildcards,
 * "*" matches one whole left-most label, and no dNSName matches a host
 * that is an IP address.  Chain and expiry are the caller's (the TLS
 * library's) job.  MTASTS_OK or MTASTS_ENOMATCH. */
MTASTS_API int mtasts_cert_match(struct x509_st *cert, const char *host,
    size_t len, char *err, size_t errlen);
/* The same for the first certificate in a PEM buffer; MTASTS_EPARSE if
 * the buffer holds no certificate. */
MTASTS_API int mtasts_cert_match_pem(const char *pem, size_t pemlen,
    const char *host, size_t len, char *err, size_t errlen);

/*
 * Configuration: /etc/mtasts/mtasts.conf, see mtasts.conf(5)
 */

#define MTASTS_CONF_DEFAULT	"/etc/mtasts/mtasts.conf"

struct mtasts_config;

/* Read the configuration file at path; if path is NULL, $MTASTS_CONF or
 * else MTASTS_CONF_DEFAULT, where a missing file means all defaults.  An
 * unknown key, a duplicate or a bad value is an error naming file:line.
 * Caller frees *out with mtasts_config_free(). */
MTASTS_API int mtasts_config_load(const char *path,
    struct mtasts_config **out, char *err, size_t errlen);
/* The same from a buffer; name is used in messages. */
MTASTS_API int mtasts_config_parse(const char *p, size_t len,
    const char *name, struct mtasts_config **out, char *err, size_t errlen);
MTASTS_API void mtasts_config_free(struct mtasts_config *cfg);
/* The i-th key and its effective value as text (for "config dump");
 * MTASTS_ENORECORD past the last key. */
MTASTS_API int mtasts_config_item(const struct mtasts_config *cfg, size_t i,
    const char **key, char *val, size_t size);

/*
 * Discovery and the RFC 8461 §5.1 decision, asynchronous on libevent
 */

struct event_base;
struct mtasts_ctx;
struct mtasts_result;

/* mtasts_ctx_new() flags */
#define MTASTS_CTX_NOCACHE	0x1	/* no cache: always ask the network */
#define MTASTS_CTX_RDONLY	0x2	/* read the cache, never write it */

/* mtasts_query() flags */
#define MTASTS_Q_NOCACHE	0x1	/* ignore the cache for this query */
#define MTASTS_Q_REFRESH	0x2	/* refetch even a fresh policy (§3.3) */

enum mtasts_source {
	MTASTS_SOURCE_NONE = 0,		/* no policy */
	MTASTS_SOURCE_CACHE,
	MTASTS_SOURCE_NETWORK,
	MTASTS_SOURCE_SHARED,		/* the fleet's store (shared_cache) */
};

/* Log sink for the whole process, as libevent's event_set_log_callback:
 * prio is a syslog priority.  Without one, nothing is logged. */
typedef void (*mtasts_log_fn)(int prio, const char *msg, void *arg);
MTASTS_API void mtasts_set_log(mtasts_log_fn fn, void *arg);

/* A context: resolver, fetcher and cache on one event base.  With base
 * NULL the context has a private base, for mtasts_query_wait() only.
 * cfg must outlive the context. */
MTASTS_API int mtasts_ctx_new(struct event_base *base,
    const struct mtasts_config *cfg, int flags, struct mtasts_ctx **out,
    char *err, size_t errlen);
/* Pending queries get their callbacks (with errors) before it returns. */
MTASTS_API void mtasts_ctx_free(struct mtasts_ctx *ctx);

/* cb owns res (never NULL) and frees it with mtasts_result_free().
 * Check mtasts_result_status() before acting on res. */
typedef void (*mtasts_result_cb)(struct mtasts_result *res, void *arg);

/* Decide the policy in force for a policy domain (§5.1).  cb runs
 * exactly once, never from inside this call, even when memory runs out
 * later (then with an incomplete result, see mtasts_result_status).
 * MTASTS_EPARSE (and no callback) if domain is not a valid domain name;
 * MTASTS_ENOMEM (and no callback) if the query cannot be started. */
MTASTS_API int mtasts_query(struct mtasts_ctx *ctx, const char *domain,
    int flags, mtasts_result_cb cb, void *arg, char *err, size_t errlen);
/* The blocking form, for callers that must wait (Exim): runs the
 * context's private loop until the answer or query_timeout.  MTASTS_OK
 * with *out (caller frees; check mtasts_result_status() too), or an
 * error and *out NULL: MTASTS_ETIMEOUT, MTASTS_ENOMEM (defer both). */
MTASTS_API int mtasts_query_wait(struct mtasts_ctx *ctx, const char *domain,
    int flags, struct mtasts_result **out, char *err, size_t errlen);

/* A domain's MX hosts, best preference first, through the context's
 * resolver.  cb runs exactly once, never from inside this call, with
 * MTASTS_OK and the hosts (valid during the callback only),
 * MTASTS_ENORECORD if the domain has no MX (RFC 5321 §5.1: the domain
 * itself is the MX), or MTASTS_ETIMEOUT on a temporary DNS failure.
 * Called while the context is being freed (from a callback run by
 * mtasts_ctx_free), it starts nothing: MTASTS_ETIMEOUT, no callback. */
typedef void (*mtasts_mx_cb)(int status, const char *const *hosts,
    size_t n, void *arg);
MTASTS_API int mtasts_mx_query(struct mtasts_ctx *ctx, const char *domain,
    mtasts_mx_cb cb, void *arg, char *err, size_t errlen);

/*
 * Single look-ups outside the decision, for a deployment validator
 * (mtasts check).  The context's resolver and fetcher, never its cache.
 * Each cb runs exactly once, never from inside the start call, with
 * MTASTS_OK, MTASTS_ENORECORD (NXDOMAIN, NODATA) or MTASTS_ETIMEOUT (a
 * temporary DNS failure) and a reason `why'; arrays and strings are
 * valid during the callback only.  A start call returns MTASTS_EINVAL
 * (err says why) for a name that is not a valid domain.
 */

typedef void (*mtasts_txt_cb)(int status, const struct mtasts_rr *rrs,
    size_t n, const char *why, void *arg);
typedef void (*mtasts_list_cb)(int status, const char *const *v,
    size_t n, const char *why, void *arg);
/* The TXT RRset of "label.domain" (label NULL: domain itself), e.g.
 * label "_mta-sts" or "_smtp._tls". */
MTASTS_API int mtasts_txt_query(struct mtasts_ctx *ctx, const char *label,
    const char *domain, mtasts_txt_cb cb, void *arg, char *err,
    size_t errlen);
/* A host's IPv4 and IPv6 addresses as text. */
MTASTS_API int mtasts_addr_query(struct mtasts_ctx *ctx, const char *host,
    mtasts_list_cb cb, void *arg, char *err, size_t errlen);
/* The TLSA RRs at _port._tcp.host (RFC 6698), each as "usage selector
 * mtype" text, through the context's resolver (not dane_resolver): its
 * presence only.  mtasts_result_dane() has the DNSSEC verdict. */
MTASTS_API int mtasts_tlsa_query(struct mtasts_ctx *ctx, const char *host,
    unsigned int port, mtasts_list_cb cb, void *arg, char *err,
    size_t errlen);
/* Fetch https://mta-sts.<domain>/.well-known/mta-sts.txt once, with
 * every §3.3 rule, as the decision would.  status MTASTS_OK with the
 * body (not parsed), or MTASTS_EIO with type the RFC 8460 result type
 * ("sts-policy-fetch-error", "sts-webpki-invalid") and why. */
typedef void (*mtasts_fetch_cb)(int status, const char *body, size_t len,
    const char *type, const char *why, void *arg);
MTASTS_API int mtasts_policy_fetch(struct mtasts_ctx *ctx,
    const char *domain, mtasts_fetch_cb cb, void *arg, char *err,
    size_t errlen);

MTASTS_API void mtasts_result_free(struct mtasts_result *res);
/* MTASTS_OK if res is a complete answer.  Otherwise the library could
 * not complete it and it must be treated as a temporary failure (defer:
 * 4xx, TEMP, DEFER), never as a decision: MTASTS_ENOMEM (out of memory
 * on the way: res may lack MX patterns, errors or even the policy) or
 * MTASTS_ETIMEOUT (cancelled, the context was freed first).  Its
 * fields may still be logged or shown. */
MTASTS_API int mtasts_result_status(const struct mtasts_result *res);
MTASTS_API const char *mtasts_result_domain(const struct mtasts_result *);
/* 1 if a policy is in force (mode then says which), 0 for no policy. */
MTASTS_API int mtasts_result_has_policy(const struct mtasts_result *);
MTASTS_API enum mtasts_mode mtasts_result_mode(const struct mtasts_result *);
/* "enforce", "testing", "none" or "no-policy". */
MTASTS_API const char *mtasts_result_mode_name(const struct mtasts_result *);
MTASTS_API const char *mtasts_result_id(const struct mtasts_result *);
MTASTS_API uint32_t mtasts_result_max_age(const struct mtasts_result *);
MTASTS_API size_t mtasts_result_mx_count(const struct mtasts_result *);
MTASTS_API const char *mtasts_result_mx(const struct mtasts_result *,
    size_t i);
/* Does the policy in force allow delivery to this MX host (§4.1)?
 * MTASTS_OK, or MTASTS_ENOMATCH; always MTASTS_OK without a policy. */
MTASTS_API int mtasts_result_mx_allowed(const struct mtasts_result *,
    const char *host, size_t len);
/* Filter a domain's MX RRset given as text -- "PREF HOST" or "HOST"
 * items separated by ':' or newlines, as Exim's dnsdb mx= lookup gives
 * it; no item at all means the implicit MX, the domain itself -- through
 * the policy in force: the allowed hosts, each once, best preference
 * first, as A-labels, joined by ':' into out (NUL-terminated;
 * mtasts_mx_filter_size() bytes always suffice, else MTASTS_EINVAL).
 * *nallowed and *ntotal count hosts allowed and listed.  MTASTS_EPARSE
 * (err says why) over 65536 bytes or 1024 items. */
MTASTS_API int mtasts_result_mx_filter(const struct mtasts_result *res,
    const char *list, size_t len, char *out, size_t size, size_t *nallowed,
    size_t *ntotal, char *err, size_t errlen);
/* An output size that always suffices for mtasts_result_mx_filter() on
 * this list: len + 256 when the list is ASCII, plus 254 for each item
 * holding a non-ASCII byte, whose U-labels may grow as A-labels (at
 * most 1024 such items count: the filter refuses more). */
MTASTS_API size_t mtasts_mx_filter_size(const char *list, size_t len);
MTASTS_API enum mtasts_source mtasts_result_source(
    const struct mtasts_result *);
MTASTS_API int64_t mtasts_result_fetched_at(const struct mtasts_result *);
MTASTS_API int64_t mtasts_result_expires_at(const struct mtasts_result *);
/* Problems met on the way: type is a TLSRPT result type
 * (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid) or
 * one of ours (dns-temporary, sts-record-invalid, rate-limited). */
MTASTS_API size_t mtasts_result_error_count(const struct mtasts_result *);
MTASTS_API const char *mtasts_result_error_type(const struct mtasts_result *,
    size_t i);
MTASTS_API const char *mtasts_result_error_detail(
    const struct mtasts_result *, size_t i);
/* The policy in force as it was fetched (its exact bytes, RFC 8460
 * §4.3 policy-string), NUL-terminated, *len bytes; valid while res
 * is.  NULL (and *len 0) without a policy. */
MTASTS_API const char *mtasts_result_policy_text(
    const struct mtasts_result *res, size_t *len);
/* Without a policy in force: why the domain has none when it is
 * because its policy could not be had -- "sts-policy-fetch-error",
 * "sts-policy-invalid" or "sts-webpki-invalid" (RFC 8460 §4.3.2.2),
 * from this query's fetch or, while §3.3's retry_interval holds the
 * next fetch back, from the last one.  NULL otherwise (no record, DNS
 * trouble, a policy in force).  A static string. */
MTASTS_API const char *mtasts_result_policy_failure(
    const struct mtasts_result *res);

/*
 * DANE (RFC 7672) beside MTA-STS (RFC 8461 §2).  With dane_resolver set
 * in mtasts.conf (a validating resolver whose AD bit is trusted), each
 * query also asks whether the domain's MX hosts have DNSSEC-
 * authenticated, usable TLSA records; libmtasts(3) has the rule.
 */
#define MTASTS_DANE_WHY_MAX	320

enum mtasts_dane {
	MTASTS_DANE_UNCHECKED = 0,	/* no dane_resolver: not asked */
	MTASTS_DANE_NONE,		/* no authenticated usable TLSA */
	MTASTS_DANE_USABLE,		/* an MX host has some: DANE wins */
	MTASTS_DANE_TEMPORARY,		/* MX or TLSA lookup failed, or
					 * bogus (SERVFAIL): defer */
};
/* "unchecked", "none", "usable" or "temporary". */
MTASTS_API const char *mtasts_dane_name(enum mtasts_dane d);
MTASTS_API enum mtasts_dane mtasts_result_dane(const struct mtasts_result *);
/* Why, naming the MX host ("" when unchecked); valid while res is. */
MTASTS_API const char *mtasts_result_dane_why(const struct mtasts_result *);

/* What a sender that does both applies to the domain (RFC 8461 §2,
 * §5.1): DEFER if the answer is incomplete or DANE is temporary; DANE
 * if usable (MTA-STS must not replace or weaken it); STS for an
 * enforce policy; NONE otherwise (testing, none, no policy: the MTA's
 * own TLS settings, and its own DANE). */
enum mtasts_apply {
	MTASTS_APPLY_NONE = 0,
	MTASTS_APPLY_STS,
	MTASTS_APPLY_DANE,
	MTASTS_APPLY_DEFER,
};
MTASTS_API enum mtasts_apply mtasts_result_apply(
    const struct mtasts_result *);
/* "none", "mta-sts", "dane" or "defer". */
MTASTS_API const char *mtasts_apply_name(enum mtasts_apply a);

/*
 * TLS results for TLSRPT (RFC 8460 §4.3), counted in the shared cache per
 * UTC day, policy domain, result type, MX host and MX address.
 */

/* 1 if type is "success" or an RFC 8460 §4.3 result type. */
MTASTS_API int mtasts_tls_result_type_valid(const char *type);
/* Count one TLS session attempt to mx_host (may be NULL or "") at mx_ip
 * (IPv4 or IPv6 text, may be NULL) for policy domain, under the policy
 * the cache holds for it then ("sts" and its id, or "no-policy-found");
 * that policy's text is kept for reports.  Every argument is checked:
 * MTASTS_EPARSE with err naming the bad one. */
MTASTS_API int mtasts_tls_result(struct mtasts_ctx *ctx, const char *domain,
    const char *type, const char *mx_host, const char *mx_ip, char *err,
    size_t errlen);
/* The same with what some MTAs also know (RFC 8460 §4.4): the sending
 * MTA's address (sending-mta-ip) and the name the MX gave in its
 * EHLO/HELO answer (receiving-mx-helo), each NULL or "" if unknown;
 * counted apart per value.  A helo that is not a host name (an address
 * literal, say) is taken as unknown; a bad sending_ip is MTASTS_EPARSE. */
MTASTS_API int mtasts_tls_result_ex(struct mtasts_ctx *ctx,
    const char *domain, const char *type, const char *mx_host,
    const char *mx_ip, const char *sending_ip, const char *helo, char *err,
    size_t errlen);
/* The same for a DANE session (RFC 7672), which RFC 8461 §2 puts before
 * MTA-STS: counted under policy type "tlsa" (RFC 8460 §4.3.1) whatever
 * policy the cache holds, with as id the TLSA RRset mtasts_query() last
 * found usable for mx_host ("tlsa-" and 16 hex digits; its records are
 * what mtasts_tls_policy_text() returns for it), or "-" if none.  "tlsa-invalid", "dnssec-invalid"
 * and "dane-required" go there through mtasts_tls_result_ex() too;
 * "sts-*" types are MTASTS_EPARSE here. */
MTASTS_API int mtasts_tls_result_tlsa(struct mtasts_ctx *ctx,
    const char *domain, const char *type, const char *mx_host,
    const char *mx_ip, const char *sending_ip, const char *helo, char *err,
    size_t errlen);
/* Sessions under a policy the MTA names itself, for MTAs that apply
 * policies found elsewhere (Postfix through libtlsrpt: mtasts-tlsrptd),
 * rather than the one the cache holds.  policy_type is "sts", "tlsa" or
 * "no-policy-found"; policy_text the policy as RFC 8460 §4.3
 * policy-string quotes it, its lines joined by '\n' (an MTA-STS policy
 * file, or TLSA RRs as text), or NULL (ignored for no-policy-found).
 * An "sts" policy is counted under the cache's id when the cache holds
 * this same text for the domain, else under an id made from the text
 * (32 hex digits of its SHA-256), and the text is kept for reports
 * either way; a "tlsa" policy with text likewise (without: id "-", as
 * mtasts_tls_result_tlsa).  count sessions (1 or more) are added at
 * once.  MTASTS_EPARSE (err says which field) for a bad field, a text
 * over MTASTS_POLICY_MAX or with a NUL, or a result type the policy
 * type cannot have (sts-* outside "sts", tlsa-invalid, dnssec-invalid
 * and dane-required under "sts"); MTASTS_EINVAL for count 0;
 * another status (MTASTS_EIO, MTASTS_ENOMEM, ...) when the store cannot
 * take them: nothing is counted, and the caller may try again.  t and its strings are the
 * caller's, read during the call only.  The struct may grow only with
 * a new soname. */
struct mtasts_tls_tally {
	const char	*domain;	/* policy domain */
	const char	*policy_type;	/* "sts", "tlsa", "no-policy-found" */
	const char	*policy_text;	/* lines joined by '\n', or NULL */
	size_t		 policy_len;
	const char	*result;	/* "success" or §4.3 type */
	const char	*mx;		/* receiving MX host, NULL or "" */
	const char	*ip;		/* receiving address, NULL or "" */
	const char	*sending_ip;	/* sending MTA's address, or NULL */
	const char	*helo;		/* receiving MX's EHLO name, or NULL */
	uint64_t	 count;		/* sessions */
};
MTASTS_API int mtasts_tls_result_add(struct mtasts_ctx *ctx,
    const struct mtasts_tls_tally *t, char *err, size_t errlen);
/* Each counter in (day, domain, policy type, policy id, result, mx, ip)
 * order; fn returns nonzero to stop.  id, mx and ip are "-" when
 * unknown. */
typedef int (*mtasts_tls_result_fn)(const char *day, const char *domain,
    const char *policy_type, const char *policy_id, const char *result,
    const char *mx, const char *ip, uint64_t count, void *arg);
MTASTS_API int mtasts_tls_result_foreach(struct mtasts_ctx *ctx,
    mtasts_tls_result_fn fn, void *arg);
/* The same with every field, sending_ip and helo included ("-" when
 * unknown); c and its strings are valid during the call only. */
struct mtasts_tls_count {
	const char	*day;		/* YYYY-MM-DD, UTC */
	const char	*domain;	/* policy domain */
	const char	*policy_type;	/* "sts", "tlsa", "no-policy-found" */
	const char	*policy_id;
	const char	*result;	/* "success" or §4.3 type */
	const char	*mx;		/* receiving MX host name */
	const char	*ip;		/* receiving address */
	const char	*sending_ip;	/* sending MTA's address */
	const char	*helo;		/* receiving MX's EHLO name */
	uint64_t	 count;
};
typedef int (*mtasts_tls_count_fn)(const struct mtasts_tls_count *c,
    void *arg);
MTASTS_API int mtasts_tls_count_foreach(struct mtasts_ctx *ctx,
    mtasts_tls_count_fn fn, void *arg);
/* The text of policy id of domain as it was when results were counted
 * under it; caller frees *text with free().  MTASTS_ENORECORD if none. */
MTASTS_API int mtasts_tls_policy_text(struct mtasts_ctx *ctx,
    const char *domain, const char *id, char **text, size_t *len);
/* Forget the TLS results of the UTC days before "YYYY-MM-DD" (the
 * results store stays bounded); *removed counts the counters deleted. */
MTASTS_API int mtasts_tls_result_purge(struct mtasts_ctx *ctx,
    const char *before, uint64_t *removed);

/* Fleet mode (shared_cache; docs/fleet.md): the TLS result walks above
 * give the whole fleet's counts, and one host delivers each policy
 * domain's report for a day.  mtasts_report_claim: MTASTS_OK if this
 * host is to deliver it now (always, without a shared cache), holding
 * the fleet's lease for an hour (renewed at each claim);
 * MTASTS_EMULTIPLE if another host holds it or the delivery is done
 * (who, wholen bytes, says which); MTASTS_EIO if the store cannot say:
 * deliver nothing now.  mtasts_report_done records the end of this
 * host's delivery ("delivered", "no-rua", "expired") for the fleet. */
MTASTS_API int mtasts_report_claim(struct mtasts_ctx *ctx,
    const char *domain, const char *date, char *who, size_t wholen);
MTASTS_API int mtasts_report_done(struct mtasts_ctx *ctx,
    const char *domain, const char *date, const char *state);

/* For MTAs that report a failed outgoing session by address only
 * (OpenSMTPD): remember that MX host serves policy domain -- the core
 * resolves host's addresses in the background and notes each in the
 * shared cache -- and later ask which domain and MX host an address was
 * last noted for, or with of != NULL which MX host of domain "of" it is
 * (MTASTS_ENORECORD if none, or older than a week).  domain and host
 * sizes: at least MTASTS_DOMAIN_MAX + 1.  mtasts_mx_note starts nothing
 * while the context is being freed (MTASTS_ETIMEOUT). */
MTASTS_API int mtasts_mx_note(struct mtasts_ctx *ctx, const char *domain,
    const char *host);
MTASTS_API int mtasts_mx_note_get(struct mtasts_ctx *ctx, const char *ip,
    const char *of, char *domain, size_t dsize, char *host, size_t hsize);

/* One SMTP session to ip:port as an MTA-STS sender would open it to MX
 * host (STARTTLS, chain against ca_file, name against host, expiry),
 * for MTAs that do not say whether TLS would have verified: *type is
 * its RFC 8460 result ("success", "starttls-not-supported",
 * "certificate-host-mismatch", "certificate-expired",
 * "certificate-not-trusted", "validation-failure"), err why it failed.
 * Blocking, at most 4 x connect_timeout.  MTASTS_ETIMEOUT (and *type
 * NULL) when the host did not answer: no TLS result. */
MTASTS_API int mtasts_tls_probe(struct mtasts_ctx *ctx, const char *host,
    const char *ip, unsigned int port, const char **type, char *err,
    size_t errlen);

/* The session mtasts_tls_probe() makes, with all it saw, for
 * "mtasts check": greeting, EHLO, STARTTLS (RFC 3207), a TLS handshake
 * with SNI host, the certificate checked as an MTA-STS sender would
 * (RFC 8461 §4.2), QUIT. */
#define MTASTS_SMTP_TEXT_MAX	160	/* server text kept, printable */

struct mtasts_smtp_probe {
	const char	*host;		/* MX host: SNI and name check */
	const char	*addr;		/* numeric address to connect to */
	unsigned int	 port;
	unsigned int	 timeout;	/* seconds per step */
	const char	*ca_file;	/* trust anchors (PEM) */
	const char	*helo;		/* our EHLO name */
};

/* How far the session got, in order. */
enum mtasts_smtp_stage {
	MTASTS_SMTP_ST_CONNECT = 0,
	MTASTS_SMTP_ST_GREETING,
	MTASTS_SMTP_ST_EHLO,
	MTASTS_SMTP_ST_STARTTLS,
	MTASTS_SMTP_ST_TLS,
	MTASTS_SMTP_ST_DONE,	/* handshake done, certificate examined */
};

struct mtasts_smtp_result {
	enum mtasts_smtp_stage stage;	/* where it stopped */
	char		 error[320];	/* why, when stage < ..._ST_DONE */
	char		 banner[MTASTS_SMTP_TEXT_MAX];
	int		 starttls;	/* advertised in the EHLO reply */
	char		 tls_version[32];
	char		 cipher[64];
	long		 verify;	/* X509_V_OK or the chain's error */
	char		 verify_text[128];
	int		 name_ok;	/* SAN dNSName matches host */
	char		 name_err[MTASTS_ERRLEN];
	int64_t		 not_after;	/* certificate expiry, Unix time */
};

/* Run one session, blocking; every wait bounded by in->timeout, the
 * whole session by four times that.  0 if the handshake completed (out
 * then says what the certificate is worth), -1 otherwise (out->error
 * says why, out->stage how far it got). */
MTASTS_API int mtasts_smtp_probe(const struct mtasts_smtp_probe *in,
    struct mtasts_smtp_result *out);
/* Our EHLO name: this host's name if it is a valid host name, else
 * "localhost".  size: at least MTASTS_DOMAIN_MAX + 1. */
MTASTS_API void mtasts_smtp_helo_name(char *buf, size_t size);

/*
 * Operational metrics, Prometheus text exposition format 0.0.4
 * (docs/operations.md, mtasts(1) "metrics")
 */

/* Add n to a counter of mtasts_metrics_text(): name is one of its
 * counters with one label (value: the label's value, [a-z0-9_.-], at
 * most 32 bytes) or none (value NULL), e.g.
 * ("mtasts_filter_rcpts_total", "defer", 1).  Counters live in the
 * shared cache, so every process on the host adds to the same ones;
 * a context on the caller's event loop writes them within a second,
 * one with a private loop at once, mtasts_ctx_free() what remains.
 * MTASTS_EINVAL for an unknown name or a bad value; a context without
 * a writable cache counts nothing (MTASTS_OK). */
MTASTS_API int mtasts_metric_add(struct mtasts_ctx *ctx, const char *name,
    const char *value, uint64_t n);
/* The metrics as text: the shared counters, and gauges computed from
 * the cache now.  On MTASTS_OK *out (NUL-terminated, *len bytes) is the
 * caller's to free with free().  MTASTS_EINVAL without a cache. */
MTASTS_API int mtasts_metrics_text(struct mtasts_ctx *ctx, char **out,
    size_t *len);

/*
 * The cache, for mtasts cache and mtasts refresh
 */

/* A cached entry as a result (source MTASTS_SOURCE_CACHE, or NONE if
 * the entry only remembers failures); its errors describe the last
 * failure.  MTASTS_ENORECORD if the domain has no entry. */
MTASTS_API int mtasts_cache_get(struct mtasts_ctx *ctx, const char *domain,
    struct mtasts_result **out);
/* Each entry in domain order; fn returns nonzero to stop.  fn does not
 * own res. */
MTASTS_API int mtasts_cache_foreach(struct mtasts_ctx *ctx,
    int (*fn)(const struct mtasts_result *res, void *arg), void *arg);
MTASTS_API int mtasts_cache_purge(struct mtasts_ctx *ctx,
    const char *domain);
MTASTS_API int mtasts_cache_stats(struct mtasts_ctx *ctx, uint64_t *entries,
    uint64_t *bytes, uint64_t *log_files);
/* Is a cached policy due for proactive refresh (§3.3, §10.2): expiring
 * within refresh_horizon, or fetched more than a day ago? */
MTASTS_API int mtasts_refresh_due(const struct mtasts_ctx *ctx,
    const struct mtasts_result *res, int64_t now);
/* Consecutive failures of the last discovery or fetch, and when the
 * last one happened (0 if none). */
MTASTS_API uint32_t mtasts_result_fail_count(const struct mtasts_result *);
MTASTS_API int64_t mtasts_result_failed_at(const struct mtasts_result *);

#ifdef __cplusplus
}
#endif

#endif /* MTASTS_H */
