/*
 * sqlite: the SQLite backend. Each thread gets its own connection, opened on
 * its first store_conn_get() and found again through a pthread key; all of
 * them are also kept in a list under a mutex, so a thread that exits closes
 * its own (the key's destructor) and store_free() closes the rest. Every
 * connection runs in WAL mode with a busy timeout and foreign keys on.
 *
 * Prepared statements are cached per connection, keyed by the caller's SQL
 * text (a small LRU), because the hot paths run the same few statements over
 * and over. Portable $N placeholders become SQLite's ?N before preparing.
 */
#include "store/store_impl.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/mem.h"

#define CACHE_SIZE 64

struct cached {
	char *sql; /* the caller's text, the key; NULL while the slot is free */
	uint64_t hash;
	uint64_t used; /* tick of the last use; the smallest is evicted */
	sqlite3_stmt *stmt;
};

struct sq_conn {
	struct store_conn base;
	sqlite3 *db;
	int depth; /* nested store_conn_get() on the owning thread */
	uint64_t tick;
	struct sq_conn *prev, *next;
	struct cached cache[CACHE_SIZE];
};

struct sq_store {
	struct store base;
	char *path;
	pthread_key_t key;
	pthread_mutex_t mu; /* guards conns */
	struct sq_conn *conns;
};

static struct sq_store *sq_store_of(struct store *st)
{
	return STORE_OUTER(st, struct sq_store, base);
}

static struct sq_conn *sq_conn_of(struct store_conn *c)
{
	return STORE_OUTER(c, struct sq_conn, base);
}

/* Map a SQLite result code to ours and describe it in e. */
static int sq_error(sqlite3 *db, int src, const char *what, struct err *e)
{
	int code = ERR_INVALID;

	switch (src & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = ERR_BUSY;
		break;
	case SQLITE_CONSTRAINT:
		if (src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY)
			code = ERR_EXISTS;
		break;
	default:
		break;
	}
	return err_set(e, code, "%s failed: %s", what,
	               db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
}

static void conn_close(struct sq_conn *c)
{
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

static int wal_mode_cb(void *arg, int ncols, char **vals, char **names)
{
	(void)names;
	if (ncols > 0 && vals[0])
		*(bool *)arg = strcmp(vals[0], "wal") == 0;
	return 0;
}

/*
 * Turn off SQLite's memory statistics before it initialises: they take a
 * process-wide mutex on every allocation, which serialises the connections
 * of all threads on the request path.
 */
static void sqlite_setup(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
		log_debug("msg=\"sqlite already initialised; memory statistics stay on\"");
}

/* Open a connection to s->path, set it up and add it to s->conns. */
static int conn_open(struct sq_store *s, struct sq_conn **out, struct err *e)
{
	struct sq_conn *c = xcalloc(1, sizeof(*c));
	bool wal = false;
	int rc, src;

	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sqlite_setup);
	c->base.st = &s->base;
	src =
	    sqlite3_open_v2(s->path, &c->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = err_set(e, ERR_IO, "sqlite open %s failed: %s", s->path,
		             c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, s->base.opts.busy_timeout_ms);
	src = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", wal_mode_cb, &wal, NULL);
	if (src != SQLITE_OK) {
		rc = sq_error(c->db, src, "sqlite setup", e);
		goto out;
	}
	if (!wal)
		log_warn("msg=\"sqlite journal is not in wal mode\" path=%s", s->path);
	src = sqlite3_exec(c->db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL", NULL, NULL,
	                   NULL);
	if (src != SQLITE_OK) {
		rc = sq_error(c->db, src, "sqlite setup", e);
		goto out;
	}

	pthread_mutex_lock(&s->mu);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->mu);
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (c)
		conn_close(c);
	return rc;
}

static void conn_unlink(struct sq_store *s, struct sq_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* The pthread key's destructor: a thread that exits closes its connection. */
static void thread_exit(void *arg)
{
	struct sq_conn *c = arg;
	struct sq_store *s = sq_store_of(c->base.st);

	pthread_mutex_lock(&s->mu);
	conn_unlink(s, c);
	pthread_mutex_unlock(&s->mu);
	conn_close(c);
}

static int sq_conn_get(struct store *st, struct store_conn **out, struct err *e)
{
	struct sq_store *s = sq_store_of(st);
	struct sq_conn *c = pthread_getspecific(s->key);
	int rc;

	if (!c) {
		rc = conn_open(s, &c, e);
		if (rc)
			return rc;
		STORE_ASSERT(pthread_setspecific(s->key, c) == 0);
	}
	c->depth++;
	*out = &c->base;
	return 0;
}

static void sq_conn_put(struct store *st, struct store_conn *base)
{
	struct sq_store *s = sq_store_of(st);
	struct sq_conn *c = sq_conn_of(base);

	STORE_ASSERT(c == pthread_getspecific(s->key));
	STORE_ASSERT(c->depth > 0);
	/* Only the outermost borrower's put ends what was left open. */
	if (--c->depth == 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static uint64_t hash_sql(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static bool name_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return c >= 0x80 || c == '_' || c == '$' || (c >= '0' && c <= '9') ||
	       (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Copy sql with each $N placeholder turned into ?N. String literals, quoted
 * identifiers and comments are copied unchanged. The caller frees the copy.
 */
static char *translate(const char *sql)
{
	char *out = xstrdup(sql);
	char *p = out;

	while (*p) {
		char q;

		switch (*p) {
		case '\'':
		case '"':
		case '`':
		case '[':
			q = *p == '[' ? ']' : *p;
			p++;
			/* A doubled quote inside is two adjacent literals to this scan. */
			while (*p && *p != q)
				p++;
			if (*p)
				p++;
			break;
		case '-':
			if (p[1] == '-') {
				p += strcspn(p, "\n");
			} else {
				p++;
			}
			break;
		case '/':
			if (p[1] == '*') {
				char *end = strstr(p + 2, "*/");

				p = end ? end + 2 : p + strlen(p);
			} else {
				p++;
			}
			break;
		case '$':
			/* Inside a name ("a$1") a dollar sign is part of the name. */
			if (p[1] >= '0' && p[1] <= '9' && (p == out || !name_char(p[-1])))
				*p = '?';
			p++;
			break;
		default:
			p++;
			break;
		}
	}
	return out;
}

static bool only_space(const char *p)
{
	for (; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != ';')
			return false;
	return true;
}

/* The prepared statement for sql, from the cache or prepared and cached now. */
static int stmt_get(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct err *e)
{
	uint64_t h = hash_sql(sql);
	struct cached *slot = &c->cache[0];
	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL;
	char *text = NULL;
	int rc, src;

	c->tick++;
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		struct cached *k = &c->cache[i];

		if (k->sql && k->hash == h && strcmp(k->sql, sql) == 0) {
			k->used = c->tick;
			*out = k->stmt;
			return 0;
		}
		if (k->used < slot->used)
			slot = k;
	}

	text = translate(sql);
	src = sqlite3_prepare_v3(c->db, text, -1, SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
	if (src != SQLITE_OK) {
		rc = sq_error(c->db, src, "query", e);
		goto out;
	}
	if (!stmt) {
		rc = err_set(e, ERR_INVALID, "query failed: empty statement");
		goto out;
	}
	if (tail && !only_space(tail)) {
		rc = err_set(e, ERR_INVALID, "query failed: more than one statement");
		goto out;
	}

	sqlite3_finalize(slot->stmt);
	free(slot->sql);
	slot->sql = xstrdup(sql);
	slot->hash = h;
	slot->used = c->tick;
	slot->stmt = stmt;
	*out = stmt;
	stmt = NULL;
	rc = 0;
out:
	sqlite3_finalize(stmt);
	free(text);
	return rc;
}

static int bind(sqlite3 *db, sqlite3_stmt *stmt, const struct store_val *args, size_t nargs,
                struct err *e)
{
	int want = sqlite3_bind_parameter_count(stmt);

	if ((size_t)want != nargs)
		return err_set(e, ERR_INVALID,
		               "query failed: statement takes %d parameters, %zu given", want,
		               nargs);
	for (size_t i = 0; i < nargs; i++) {
		const struct store_val *v = &args[i];
		int idx = (int)i + 1, src;

		switch (v->type) {
		case STORE_NULL:
			src = sqlite3_bind_null(stmt, idx);
			break;
		case STORE_INT:
			src = sqlite3_bind_int64(stmt, idx, v->i);
			break;
		case STORE_TEXT:
			if (v->len > INT_MAX)
				return err_set(e, ERR_TOO_BIG,
				               "query failed: parameter $%d too long", idx);
			/* Static: the caller's text outlives the statement's run. */
			src = sqlite3_bind_text(stmt, idx, v->s ? v->s : "", (int)v->len,
			                        SQLITE_STATIC);
			break;
		default:
			return err_set(e, ERR_INVALID, "query failed: parameter $%d has no type",
			               idx);
		}
		if (src != SQLITE_OK)
			return sq_error(db, src, "query", e);
	}
	return 0;
}

static int sq_query(struct store_conn *base, const char *sql, const struct store_val *args,
                    size_t nargs, struct store_res **res, struct err *e)
{
	struct sq_conn *c = sq_conn_of(base);
	struct store_res *r = NULL;
	sqlite3_stmt *stmt = NULL;
	sqlite3_int64 before;
	int rc, src, cols;

	rc = stmt_get(c, sql, &stmt, e);
	if (rc)
		goto out;
	rc = bind(c->db, stmt, args, nargs, e);
	if (rc)
		goto out;

	cols = sqlite3_column_count(stmt);
	if (res)
		r = store_res_new((size_t)cols);
	before = sqlite3_total_changes64(c->db);
	while ((src = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (!r)
			continue;
		for (int i = 0; i < cols; i++) {
			const char *p = NULL;
			size_t n = 0;

			if (sqlite3_column_type(stmt, i) != SQLITE_NULL) {
				p = (const char *)sqlite3_column_text(stmt, i);
				STORE_ASSERT(p != NULL); /* only out of memory */
				n = (size_t)sqlite3_column_bytes(stmt, i);
			}
			store_res_add(r, p, n);
		}
		store_res_end_row(r);
	}
	if (src != SQLITE_DONE) {
		rc = sq_error(c->db, sqlite3_extended_errcode(c->db), "query", e);
		goto out;
	}
	/*
	 * sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE,
	 * also after a SELECT; the total only moves when this one wrote.
	 */
	if (r && sqlite3_total_changes64(c->db) != before)
		r->changes = sqlite3_changes64(c->db);
	if (res) {
		*res = r;
		r = NULL;
	}
	rc = 0;
out:
	if (stmt) {
		/* Reset ends the statement's read transaction; its error is reported. */
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	store_res_free(r);
	return rc;
}

static int sq_script(struct store_conn *base, const char *sql, struct err *e)
{
	struct sq_conn *c = sq_conn_of(base);
	int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return sq_error(c->db, src, "script", e);
	return 0;
}

static void sq_free(struct store *st)
{
	struct sq_store *s = sq_store_of(st);
	struct sq_conn *c, *next;

	/* After the delete no thread's exit will run thread_exit() for us. */
	pthread_setspecific(s->key, NULL);
	pthread_key_delete(s->key);
	for (c = s->conns; c; c = next) {
		next = c->next;
		STORE_ASSERT(c->depth == 0);
		conn_close(c);
	}
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s);
}

static const struct store_ops sq_ops = {
    .free = sq_free,
    .conn_get = sq_conn_get,
    .conn_put = sq_conn_put,
    .query = sq_query,
    .script = sq_script,
};

int store_sqlite_open(struct store **out, const char *path, const struct store_opts *opts,
                      struct err *e)
{
	struct sq_store *s = NULL;
	struct store_conn *c = NULL;
	int rc;

	*out = NULL;
	if (!*path)
		return err_set(e, ERR_INVALID, "sqlite open failed: empty path");
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &sq_ops;
	s->base.kind = STORE_SQLITE;
	s->base.opts = *opts;
	s->path = xstrdup(path);
	STORE_ASSERT(pthread_mutex_init(&s->mu, NULL) == 0);
	if (pthread_key_create(&s->key, thread_exit) != 0) {
		pthread_mutex_destroy(&s->mu);
		free(s->path);
		free(s);
		return err_set(e, ERR_INTERNAL, "sqlite open failed: no thread key left");
	}

	/* Open (and create) the file now, as the calling thread's connection. */
	rc = sq_conn_get(&s->base, &c, e);
	if (rc)
		goto out;
	sq_conn_put(&s->base, c);
	*out = &s->base;
	s = NULL;
	rc = 0;
out:
	if (s)
		sq_free(&s->base);
	return rc;
}
