/*
 * cache_salvage.c - what can still be read from a damaged policies.db
 * (issue 20: setting the file aside and starting empty dropped every
 * cached enforce policy, so a network failure then meant "no policy").
 *
 * Berkeley DB's salvager, DB->verify() with DB_SALVAGE | DB_AGGRESSIVE,
 * prints every key and value it finds on any page as hex lines, pairing
 * them as best it can.  The pairing is not trusted: each value carries
 * its own domain and a checksum (cache_codec.c), so a line is kept if it
 * decodes as an entry, under the domain it names.  Of two versions of a
 * domain (a freed page may still hold an old one) the one fetched or
 * checked last wins.
 */
#include <sys/stat.h>

#include <db.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "cache_int.h"
#include "util.h"

#define CACHE_SALVAGE_MAX	(64 * 1024 * 1024)	/* file bytes */

static int
cache_salvage_nibble(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* "hex" (len bytes) into out (len / 2 bytes); -1 if not hex. */
static int
cache_salvage_hex(const char *p, size_t len, unsigned char *out)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = cache_salvage_nibble(p[2 * i])) < 0 ||
		    (lo = cache_salvage_nibble(p[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Is e newer than what db holds for its domain?  1 if nothing there. */
static int
cache_salvage_newer(DB *db, const DBT *key, const struct cache_entry *e)
{
	struct cache_entry o;
	DBT old;
	int newer = 1;

	memset(&old, 0, sizeof(old));
	old.flags = DB_DBT_MALLOC;
	if (db->get(db, NULL, (DBT *)(uintptr_t)key, &old, 0) != 0)
		return 1;
	if (cache_decode(old.data, old.size, &o) == MTASTS_OK) {
		newer = e->fetched_at > o.fetched_at ||
		    (e->fetched_at == o.fetched_at &&
		    e->txt_checked_at > o.txt_checked_at);
		cache_entry_clear(&o);
	}
	free(old.data);
	return newer ? 0 : -1;
}

/* One hex line: 1 a new domain kept, 0 an older copy replaced or
 * ignored, -1 not an entry. */
static int
cache_salvage_one(DB *db, const char *p, size_t len)
{
	struct cache_entry e;
	unsigned char *buf;
	DBT key, data;
	int r = -1, newer;

	if (len < 2 || (buf = util_malloc(len / 2)) == NULL)
		return -1;
	if (cache_salvage_hex(p, len, buf) == 0 &&
	    cache_decode(buf, len / 2, &e) == MTASTS_OK) {
		cache_dbt(&key, e.domain, strlen(e.domain));
		cache_dbt(&data, buf, len / 2);
		if ((newer = cache_salvage_newer(db, &key, &e)) < 0)
			r = 0;
		else if (db->put(db, NULL, &key, &data, 0) == 0)
			r = newer;
		cache_entry_clear(&e);
	}
	util_free(buf);
	return r;
}

static void
cache_salvage_on_err(const DB_ENV *env, const char *pfx, const char *msg)
{
	(void)env;
	(void)pfx;
	(void)msg;		/* verify says the file is bad: we know */
}

/* Salvage path into db; the number of domains kept. */
static size_t
cache_salvage_file(const char *path, DB *db, size_t *seen)
{
	char *dump = NULL, *p, *end, *nl;
	size_t dumplen = 0, kept = 0;
	FILE *f;
	DB *v;

	if ((f = open_memstream(&dump, &dumplen)) == NULL)
		return 0;
	/* verify() destroys the handle, whatever it returns. */
	if (db_create(&v, NULL, 0) == 0) {
		v->set_errcall(v, cache_salvage_on_err);
		v->verify(v, path, NULL, f, DB_SALVAGE | DB_AGGRESSIVE);
	}
	if (fclose(f) != 0 || dump == NULL) {
		free(dump);
		return 0;
	}
	end = dump + dumplen;
	for (p = dump; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (*p != ' ')
			continue;	/* VERSION=, HEADER=END, DATA=END */
		(*seen)++;
		if (cache_salvage_one(db, p + 1, (size_t)(nl - p - 1)) == 1)
			kept++;
	}
	free(dump);
	return kept;
}

/*
 * The salvager needs the meta page (page 0: page size, type); if that
 * is what was damaged it finds nothing.  Then it gets a copy of the
 * file whose page 0 is the meta page of a new, empty B-tree of our page
 * size, and walks the other pages as they are.
 */
static size_t
cache_salvage_remeta(const char *from, DB *db, size_t *seen)
{
	char meta[PATH_MAX], copy[PATH_MAX];
	unsigned char page[CACHE_PAGESIZE];
	size_t kept = 0;
	FILE *in = NULL, *out = NULL;
	DB *m;
	size_t n;

	if (snprintf(meta, sizeof(meta), "%s.meta", from) >=
	    (int)sizeof(meta) || snprintf(copy, sizeof(copy), "%s.copy",
	    from) >= (int)sizeof(copy))
		return 0;
	unlink(meta);
	if (db_create(&m, NULL, 0) != 0)
		return 0;
	m->set_pagesize(m, CACHE_PAGESIZE);
	if (m->open(m, NULL, meta, NULL, DB_BTREE, DB_CREATE, 0600) != 0) {
		m->close(m, 0);
		goto done;
	}
	m->close(m, 0);
	if ((in = fopen(meta, "r")) == NULL)
		goto done;
	n = fread(page, 1, sizeof(page), in);
	fclose(in);
	in = NULL;
	if (n != sizeof(page) || (in = fopen(from, "r")) == NULL ||
	    (out = fopen(copy, "w")) == NULL ||
	    fwrite(page, 1, sizeof(page), out) != sizeof(page) ||
	    fseek(in, CACHE_PAGESIZE, SEEK_SET) != 0)
		goto done;
	while ((n = fread(page, 1, sizeof(page), in)) > 0)
		if (fwrite(page, 1, n, out) != n)
			goto done;
	if (fclose(out) == 0) {
		out = NULL;
		kept = cache_salvage_file(copy, db, seen);
	}
done:
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		fclose(out);
	unlink(meta);
	unlink(copy);
	return kept;
}

int
cache_salvage(struct cache_env *ce, const char *from, DB *db,
    size_t *seen, size_t *kept)
{
	struct stat st;

	(void)ce;
	*seen = 0;
	*kept = 0;
	if (stat(from, &st) == -1)
		return errno;
	if (st.st_size > CACHE_SALVAGE_MAX)
		return EFBIG;
	if ((*kept = cache_salvage_file(from, db, seen)) == 0 &&
	    st.st_size > CACHE_PAGESIZE)
		*kept = cache_salvage_remeta(from, db, seen);
	return 0;
}
