/*
 * config.h - the effective configuration, read by the core's parts.
 */
#ifndef MTASTS_CONFIG_H
#define MTASTS_CONFIG_H

#include <limits.h>

#include "mtasts.h"

#define CONFIG_PATH_MAX		1024
#define CONFIG_RESOLVER_MAX	512

enum config_log { LOG_LVL_ERR, LOG_LVL_WARNING, LOG_LVL_NOTICE,
	LOG_LVL_INFO, LOG_LVL_DEBUG };

struct mtasts_config {
	char		cache_dir[CONFIG_PATH_MAX];	/* DB environment */
	char		resolver[CONFIG_RESOLVER_MAX];	/* c-ares CSV, "" =
							 * resolv.conf */
	char		ca_file[CONFIG_PATH_MAX];	/* trust anchors */
	char		dane_resolver[CONFIG_RESOLVER_MAX];	/* validating,
							 * trusted; "" = no
							 * DANE check */
	char		socketmap_dane[16];	/* "dane-only" or "dane" */
	int		socketmap_tlsrpt;	/* 3.10 attributes */
	char		socketmap_tlsrpt_level[8]; /* may, encrypt, dane */
	char		tlsrpt_socket[CONFIG_PATH_MAX];	/* mtasts-tlsrptd */
	unsigned int	dns_timeout;		/* seconds, per query */
	unsigned int	connect_timeout;	/* seconds, TCP + TLS */
	unsigned int	fetch_timeout;		/* seconds, whole exchange */
	unsigned int	query_timeout;		/* seconds, whole decision */
	unsigned int	retry_interval;		/* seconds, >= 300 (§3.3) */
	unsigned int	refresh_horizon;	/* seconds */
	int		strict_testing;		/* treat testing as enforce */
	int		log_level;		/* enum config_log */
	char		report_org[256];	/* RFC 8460 organization-name */
	char		report_contact[256];	/* contact-info (addr-spec) */
	char		report_submitter[256];	/* TLS-Report-Submitter */
	char		report_dir[CONFIG_PATH_MAX];	/* reports, state */
	char		report_sendmail[256];	/* argv, split on blanks */
	unsigned int	report_retry;		/* first retry delay, s */
	unsigned int	report_retention;	/* results, reports kept, s */
	char		shared_cache[512];	/* fleet store URL, "" none */
	char		shared_prefix[64];	/* of every key we use */
	unsigned int	shared_connect_timeout;	/* ms, per attempt */
	unsigned int	shared_command_timeout;	/* ms, per command */
	char		shared_ca_file[CONFIG_PATH_MAX]; /* rediss:// trust
							  * anchors, "" the
							  * system's */
	char		shared_tls_name[256];	/* rediss:// certificate
						 * name, "" the URL's host */
};

#endif /* MTASTS_CONFIG_H */
