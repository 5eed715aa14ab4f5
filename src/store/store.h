/*
 * store: one SQL interface over two backends, SQLite (the default, a file in
 * WAL mode with a connection per thread) and PostgreSQL (libpq, a pool).
 *
 * Queries are written once in portable SQL with $1..$N placeholders; the
 * backends translate what differs (placeholders, identity columns in
 * migrations). Results are fully read into a struct store_res and every value
 * is available as text.
 */
#ifndef HERALD_STORE_H
#define HERALD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/err.h"

struct store;
struct store_conn;
struct store_res;

enum store_kind { STORE_SQLITE, STORE_PG };

enum store_type { STORE_NULL, STORE_INT, STORE_TEXT };

struct store_val {
	enum store_type type;
	int64_t i;
	const char *s; /* STORE_TEXT: not necessarily NUL terminated */
	size_t len;
};

#define SV_NULL        ((struct store_val){.type = STORE_NULL})
#define SV_INT(x)      ((struct store_val){.type = STORE_INT, .i = (x)})
#define SV_TEXT(x)     ((struct store_val){.type = STORE_TEXT, .s = (x), .len = strlen(x)})
#define SV_TEXTN(x, n) ((struct store_val){.type = STORE_TEXT, .s = (x), .len = (n)})

struct store_opts {
	int pool_size;       /* PostgreSQL connections at most; 0: 8 */
	int busy_timeout_ms; /* SQLite busy timeout and pool wait; 0: 5000 */
};

/*
 * Open a store. url is "postgres://..." or "postgresql://..." for
 * PostgreSQL, else a SQLite path (an optional "sqlite:" prefix is dropped).
 * Nothing is connected yet for PostgreSQL, so a server that is down does not
 * stop the open; SQLite opens (and creates) the file at once. opts may be
 * NULL. On failure *out is NULL.
 */
int store_open(struct store **out, const char *url, const struct store_opts *opts,
               struct err *e) WUR;
void store_free(struct store *st);
enum store_kind store_kind(const struct store *st);

/*
 * Apply the numbered migrations not yet recorded in schema_migrations, each
 * in its own transaction, in order. Safe to run concurrently from several
 * processes. *applied (may be NULL) gets how many were applied.
 */
int store_migrate(struct store *st, int *applied, struct err *e) WUR;

/* The highest applied migration number, 0 when none. */
int store_version(struct store *st, int *out, struct err *e) WUR;

/* A round trip to the database: 0, or -ERR_UNAVAILABLE. */
int store_ping(struct store *st, struct err *e) WUR;

/*
 * Borrow a connection. SQLite: the calling thread's own connection, opened on
 * first use. PostgreSQL: one from the pool, waiting up to busy_timeout_ms
 * (-ERR_BUSY after that), reconnecting a connection that was lost
 * (-ERR_UNAVAILABLE while the server cannot be reached). Give it back with
 * store_conn_put() on the same thread; a transaction left open is rolled back.
 */
int store_conn_get(struct store *st, struct store_conn **out, struct err *e) WUR;
void store_conn_put(struct store *st, struct store_conn *c);

/*
 * Run one statement with args bound to $1..$N. When res is not NULL, *res
 * receives the rows (possibly none) and the caller frees it. Errors:
 * -ERR_EXISTS a unique or primary key was violated, -ERR_UNAVAILABLE the
 * connection was lost, -ERR_BUSY the database stayed locked, -ERR_INVALID any
 * other SQL error. On failure *res is NULL.
 */
int store_query(struct store_conn *c, const char *sql, const struct store_val *args, size_t nargs,
                struct store_res **res, struct err *e) WUR;
int store_begin(struct store_conn *c, struct err *e) WUR;
int store_commit(struct store_conn *c, struct err *e) WUR;
void store_rollback(struct store_conn *c);

/*
 * Run fn(c, arg, e) on a connection inside a transaction: committed when it
 * returns 0, rolled back otherwise; fn's code (or the commit's) is returned.
 */
typedef int store_tx_fn(struct store_conn *c, void *arg, struct err *e);
int store_tx(struct store *st, store_tx_fn *fn, void *arg, struct err *e) WUR;
/*
 * store_tx, run again (up to tries times in all) when it lost a race: a
 * unique key another transaction took first (-ERR_EXISTS), or a busy store,
 * a deadlock or a serialization failure (-ERR_BUSY). fn must read what it
 * decides on inside the transaction, so a second run sees the winner's row.
 */
int store_tx_retry(struct store *st, store_tx_fn *fn, void *arg, int tries, struct err *e) WUR;

/* store_conn_get + store_query + store_conn_put. */
int store_exec(struct store *st, const char *sql, const struct store_val *args, size_t nargs,
               struct store_res **res, struct err *e) WUR;

size_t store_res_rows(const struct store_res *r);
size_t store_res_cols(const struct store_res *r);
/* Rows changed by an INSERT/UPDATE/DELETE. */
int64_t store_res_changes(const struct store_res *r);
bool store_res_null(const struct store_res *r, size_t row, size_t col);
/* The value as text, "" for NULL; valid until store_res_free(). */
const char *store_res_text(const struct store_res *r, size_t row, size_t col);
/* The value as an integer, 0 for NULL or text that is not an integer. */
int64_t store_res_int(const struct store_res *r, size_t row, size_t col);
void store_res_free(struct store_res *r);

#endif
