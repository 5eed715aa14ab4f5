/*
 * store_impl: what the backends (sqlite.c, pg.c) share with store.c and
 * nothing else includes: the operations table, the common heads of struct
 * store and struct store_conn that each backend embeds first in its own
 * structs, and the builder of struct store_res.
 */
#ifndef HERALD_STORE_IMPL_H
#define HERALD_STORE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

/* A broken invariant: report and abort, also in release builds. */
#define STORE_ASSERT(cond)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: store: assertion failed: %s\n", __FILE__,          \
			        __LINE__, #cond);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* The struct of type that holds ptr as its member. */
#define STORE_OUTER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define STORE_DEFAULT_POOL_SIZE    8
#define STORE_DEFAULT_BUSY_TIMEOUT 5000

/*
 * A backend. query() runs one statement with $N placeholders and must leave
 * *res untouched on failure (store_query() has set it to NULL); script() runs
 * SQL that may hold several statements and takes no parameters.
 */
struct store_ops {
	void (*free)(struct store *st);
	int (*conn_get)(struct store *st, struct store_conn **out, struct err *e);
	void (*conn_put)(struct store *st, struct store_conn *c);
	int (*query)(struct store_conn *c, const char *sql, const struct store_val *args,
	             size_t nargs, struct store_res **res, struct err *e);
	int (*script)(struct store_conn *c, const char *sql, struct err *e);
};

/* The head of each backend's store; opts has the defaults filled in. */
struct store {
	const struct store_ops *ops;
	enum store_kind kind;
	struct store_opts opts;
};

/* The head of each backend's connection. */
struct store_conn {
	struct store *st;
};

#define STORE_RES_NULL SIZE_MAX

/*
 * Rows as text: cell i (row * cols + col) is at text + off[i], NUL
 * terminated, or SQL NULL when off[i] is STORE_RES_NULL.
 */
struct store_res {
	size_t rows;
	size_t cols;
	int64_t changes;
	size_t ncells, cells_cap;
	size_t *off;
	char *text;
	size_t text_len, text_cap;
};

/* An empty result of cols columns; fill it with store_res_add(). */
struct store_res *store_res_new(size_t cols);
/* Append a copy of len bytes as the next cell; p NULL appends SQL NULL. */
void store_res_add(struct store_res *r, const char *p, size_t len);
/* Close the current row; it must have exactly cols cells. */
void store_res_end_row(struct store_res *r);

/* Backend constructors; opts has the defaults filled in. */
int store_sqlite_open(struct store **out, const char *path, const struct store_opts *opts,
                      struct err *e) WUR;
int store_pg_open(struct store **out, const char *url, const struct store_opts *opts,
                  struct err *e) WUR;

#endif
