/*
 * enforcedb.c - the enforce table: the domains whose policy is enforce,
 * as a Berkeley DB hash that smtpd reads as "table NAME db:PATH" (the
 * format of "makemap -t set": lowercase keys and the value "<set>", both
 * with their NUL).
 *
 * smtpd re-opens a db: table when its mtime changes (table_db.c), with
 * one-second granularity, and keeps reading the old file until then.
 * So every change writes a whole new file (temp, fsync, rename) whose
 * mtime is strictly greater than the previous one's.
 */
#include <sys/stat.h>

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mtasts.h>

#include "filter.h"

#define ENFORCEDB_MAX	100000	/* domains; beyond, refuse to add */

static char	*dbpath;
static char	**domains;		/* sorted */
static size_t	 ndomains, sdomains;
static time_t	 last_mtime;

static int
enforcedb_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
enforcedb_find(const char *domain)
{
	if (ndomains == 0)
		return NULL;
	return bsearch(&domain, domains, ndomains, sizeof(*domains),
	    enforcedb_cmp);
}

static int
enforcedb_add(const char *domain)
{
	char	**nd;
	size_t	  nsize;

	if (ndomains == sdomains) {
		nsize = sdomains ? sdomains * 2 : 64;
		if ((nd = reallocarray(domains, nsize, sizeof(*nd))) == NULL)
			return -1;
		domains = nd;
		sdomains = nsize;
	}
	if ((domains[ndomains] = strdup(domain)) == NULL)
		return -1;
	ndomains++;
	qsort(domains, ndomains, sizeof(*domains), enforcedb_cmp);
	return 0;
}

static void
enforcedb_del(char **p)
{
	free(*p);
	memmove(p, p + 1, (size_t)(domains + ndomains - p - 1) *
	    sizeof(*p));
	ndomains--;
}

/* Write every domain into a new BDB hash file at tmp. */
static int
enforcedb_put_all(const char *tmp)
{
	DB	*db = NULL;
	DBT	 k, v;
	size_t	 i;
	int	 r;

	if ((r = db_create(&db, NULL, 0)) != 0)
		goto done;
	if ((r = db->open(db, NULL, tmp, NULL, DB_HASH,
	    DB_CREATE | DB_EXCL, 0644)) != 0)
		goto done;
	for (i = 0; i < ndomains; i++) {
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = domains[i];
		k.size = (u_int32_t)strlen(domains[i]) + 1;
		v.data = (void *)(uintptr_t)"<set>";
		v.size = sizeof("<set>");
		if ((r = db->put(db, NULL, &k, &v, 0)) != 0)
			goto done;
	}
done:
	if (db != NULL && db->close(db, 0) != 0 && r == 0)
		r = EIO;
	if (r != 0)
		log_warnx("%s: %s", tmp, db_strerror(r));
	return r == 0 ? 0 : -1;
}

/* Replace the table file: temp, fsync, chmod, mtime, rename. */
static int
enforcedb_write(void)
{
	char		 tmp[4096];
	struct timespec	 ts[2];
	time_t		 now = time(NULL);
	int		 fd = -1, r = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXXXXXX", dbpath) >=
	    (int)sizeof(tmp))
		return -1;
	/* A unique name; BDB then creates the file itself (DB_EXCL). */
	if ((fd = mkstemp(tmp)) == -1) {
		log_warnx("%s: %s", tmp, strerror(errno));
		return -1;
	}
	close(fd);
	fd = -1;
	unlink(tmp);
	if (enforcedb_put_all(tmp) == -1)
		goto done;
	if ((fd = open(tmp, O_RDONLY)) == -1 || fsync(fd) == -1 ||
	    fchmod(fd, 0644) == -1)
		goto fail;
	ts[0].tv_sec = ts[1].tv_sec = now > last_mtime ? now : last_mtime + 1;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) == -1 || rename(tmp, dbpath) == -1)
		goto fail;
	last_mtime = ts[1].tv_sec;
	r = 0;
	goto done;
fail:
	log_warnx("%s: %s", tmp, strerror(errno));
done:
	if (fd != -1)
		close(fd);
	if (r == -1)
		unlink(tmp);
	return r;
}

/* Load the domains of an existing table (ours, or made by makemap). */
static int
enforcedb_load(void)
{
	DB	*db = NULL;
	DBC	*c = NULL;
	DBT	 k, v;
	char	 key[MTASTS_DOMAIN_MAX + 1];
	int	 r;

	if ((r = db_create(&db, NULL, 0)) != 0 ||
	    (r = db->open(db, NULL, dbpath, NULL, DB_HASH, DB_RDONLY, 0)) != 0 ||
	    (r = db->cursor(db, NULL, &c, 0)) != 0)
		goto done;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((r = c->get(c, &k, &v, DB_NEXT)) == 0) {
		if (k.size == 0 || k.size > sizeof(key))
			continue;
		memcpy(key, k.data, k.size);
		key[k.size - 1] = '\0';	/* the key's own NUL */
		if (enforcedb_find(key) == NULL && enforcedb_add(key) == -1) {
			r = ENOMEM;
			goto done;
		}
	}
	if (r == DB_NOTFOUND)
		r = 0;
done:
	if (c != NULL)
		c->close(c);
	if (db != NULL)
		db->close(db, 0);
	if (r != 0)
		log_warnx("%s: %s", dbpath, db_strerror(r));
	return r == 0 ? 0 : -1;
}

int
enforcedb_init(const char *path)
{
	struct stat	sb;

	if ((dbpath = strdup(path)) == NULL)
		return -1;
	if (stat(path, &sb) == 0) {
		last_mtime = sb.st_mtime;
		return enforcedb_load();
	}
	if (errno != ENOENT) {
		log_warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	return enforcedb_write();	/* smtpd needs it to exist */
}

int
enforcedb_set(const char *domain, int present)
{
	char	**p;

	if (dbpath == NULL)
		return 0;
	p = enforcedb_find(domain);
	if ((p != NULL) == (present != 0))
		return 0;
	if (present) {
		if (ndomains >= ENFORCEDB_MAX || enforcedb_add(domain) == -1) {
			log_warnx("%s: cannot add %s", dbpath, domain);
			return -1;
		}
	} else
		enforcedb_del(p);
	if (enforcedb_write() == -1) {
		/* Keep memory in line with the file that smtpd reads. */
		if (present)
			enforcedb_del(enforcedb_find(domain));
		else
			enforcedb_add(domain);
		return -1;
	}
	log_debug("%s: %s %s", dbpath, present ? "added" : "removed", domain);
	return 0;
}

void
enforcedb_free(void)
{
	size_t	i;

	for (i = 0; i < ndomains; i++)
		free(domains[i]);
	free(domains);
	free(dbpath);
	domains = NULL;
	dbpath = NULL;
	ndomains = sdomains = 0;
}
