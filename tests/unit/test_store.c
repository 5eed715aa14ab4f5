/*
 * test_store: the store interface against both backends. The same cases run
 * on a fresh SQLite file in a temporary directory and on the PostgreSQL that
 * tests/servers.py starts (HERALD_TEST_DATABASE; without it those are
 * skipped). Each case starts from an empty schema and checks what the
 * database holds afterwards. A few cases are for one backend only: SQLite's
 * locking and settings; PostgreSQL's pool, reconnection after a lost
 * connection and a server that goes away and comes back (through a small TCP
 * proxy in this file that can be stopped and started).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/embed.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/str.h"

/* -DNTHREADS=... for a heavier run under a sanitizer or valgrind. */
#ifndef NTHREADS
#define NTHREADS 8
#endif
#define INSERTS_EACH   200
#define SMALL_POOL     2
#define POOL_INSERTS   50
#define POOL_TEST_NAME "herald_pool_test"

struct fx {
	enum store_kind kind;
	char url[512];
	char dir[64]; /* SQLite: the temporary directory */
	struct store *st;
};

/* Every table the migrations make, those that refer to others first. */
static const char *const test_tables[] = {
    "alert_events",
    "alert_rules",
    "collect_sources",
    "daily_rollups",
    "post_snapshots",
    "channel_posts",
    "metric_points",
    "billing_notices",
    "provider_events",
    "click_transactions",
    "payme_transactions",
    "payments",
    "orders",
    "subscriptions",
    "plan_prices",
    "idempotency_keys",
    "jobs",
    "deliveries",
    "posts",
    "channels",
    "login_tokens",
    "tg_updates",
    "conversations",
    "bot_state",
    "plans",
    "api_keys",
    "sessions",
    "audit_log",
    "users",
    "t",
    "schema_migrations",
};

/* How many migrations are compiled in. */
static int n_migrations(void)
{
	int n = 0;

	for (const struct embed_file *m = embed_migrations; m->name; m++)
		n++;
	return n;
}

/* --- helpers --- */

static struct store *open_store(const struct fx *fx, const struct store_opts *opts)
{
	struct err e = {0};
	struct store *st = NULL;
	int rc = store_open(&st, fx->url, opts, &e);

	if (rc)
		print_error("store_open: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(st);
	assert_int_equal(store_kind(st), fx->kind);
	return st;
}

static void exec_ok(struct store *st, const char *sql, const struct store_val *args, size_t n)
{
	struct err e = {0};
	int rc = store_exec(st, sql, args, n, NULL, &e);

	if (rc)
		print_error("%s: %s\n", sql, e.msg);
	assert_int_equal(rc, 0);
}

static struct store_res *query_ok(struct store *st, const char *sql, const struct store_val *args,
                                  size_t n)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int rc = store_exec(st, sql, args, n, &r, &e);

	if (rc)
		print_error("%s: %s\n", sql, e.msg);
	assert_int_equal(rc, 0);
	assert_non_null(r);
	return r;
}

/* The one integer a query returns. */
static int64_t query_int(struct store *st, const char *sql, const struct store_val *args, size_t n)
{
	struct store_res *r = query_ok(st, sql, args, n);
	int64_t v;

	assert_int_equal(store_res_rows(r), 1);
	assert_int_equal(store_res_cols(r), 1);
	v = store_res_int(r, 0, 0);
	store_res_free(r);
	return v;
}

static int64_t count_users(struct store *st)
{
	return query_int(st, "SELECT count(*) FROM users", NULL, 0);
}

static int64_t add_user(struct store *st, int64_t telegram_id, const char *name)
{
	struct store_val args[] = {SV_INT(telegram_id), SV_TEXT(name), SV_INT(1000)};
	struct store_res *r = query_ok(
	    st,
	    "INSERT INTO users (telegram_id, name, created_at) VALUES ($1, $2, $3) RETURNING id",
	    args, 3);
	int64_t id;

	assert_int_equal(store_res_rows(r), 1);
	id = store_res_int(r, 0, 0);
	store_res_free(r);
	assert_true(id > 0);
	return id;
}

static void migrate_ok(struct store *st, int want_applied)
{
	struct err e = {0};
	int applied = -1, rc = store_migrate(st, &applied, &e);

	if (rc)
		print_error("store_migrate: %s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(applied, want_applied);
}

/* A URL like fx's but for another port (the proxy) or with a parameter. */
static void url_with_port(const char *url, int port, char *out, size_t outsz)
{
	const char *host = strstr(url, "://");
	const char *slash, *colon = NULL;

	assert_non_null(host);
	host += 3;
	slash = strchr(host, '/');
	assert_non_null(slash);
	for (const char *p = host; p < slash; p++)
		if (*p == ':' || *p == '@')
			colon = *p == ':' ? p : NULL;
	assert_non_null(colon);
	assert_true((size_t)snprintf(out, outsz, "%.*s:%d%s", (int)(colon - url), url, port,
	                             slash) < outsz);
}

static int url_port(const char *url)
{
	const char *host = strstr(url, "://") + 3;
	const char *slash = strchr(host, '/');
	const char *colon = NULL;
	int64_t port = 0;

	for (const char *p = host; p < slash; p++)
		if (*p == ':' || *p == '@')
			colon = *p == ':' ? p : NULL;
	assert_non_null(colon);
	assert_int_equal(
	    str_to_i64((struct str){colon + 1, (size_t)(slash - colon - 1)}, 1, 65535, &port), 0);
	return (int)port;
}

/* --- fixtures --- */

static int group_setup_sqlite(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->kind = STORE_SQLITE;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-store-XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->url, sizeof(fx->url), "sqlite:%s/test.db", fx->dir);
	*state = fx;
	return 0;
}

static int group_setup_pg(void **state)
{
	const char *url = getenv("HERALD_TEST_DATABASE");
	struct fx *fx;

	if (!url || !*url)
		return -1;
	fx = calloc(1, sizeof(*fx));
	if (!fx)
		return -1;
	fx->kind = STORE_PG;
	snprintf(fx->url, sizeof(fx->url), "%s", url);
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *fx = *state;
	struct dirent *d;
	char path[512];
	DIR *dir;

	if (fx->dir[0]) {
		dir = opendir(fx->dir);
		while (dir && (d = readdir(dir)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", fx->dir, d->d_name);
			unlink(path);
		}
		if (dir)
			closedir(dir);
		rmdir(fx->dir);
	}
	free(fx);
	return 0;
}

/* A fresh store on an empty schema. */
static int setup_empty(void **state)
{
	struct fx *fx = *state;
	char sql[128];

	fx->st = open_store(fx, NULL);
	for (size_t i = 0; i < sizeof(test_tables) / sizeof(test_tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", test_tables[i]);
		exec_ok(fx->st, sql, NULL, 0);
	}
	return 0;
}

static int setup_migrated(void **state)
{
	struct fx *fx = *state;

	setup_empty(state);
	migrate_ok(fx->st, n_migrations());
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	store_free(fx->st);
	fx->st = NULL;
	return 0;
}

/* --- both backends --- */

static void test_migrate(void **state)
{
	struct fx *fx = *state;
	struct store_res *r;
	struct store *again;
	struct err e = {0};
	int version = -1;

	assert_int_equal(store_version(fx->st, &version, &e), 0);
	assert_int_equal(version, 0);

	migrate_ok(fx->st, n_migrations());
	migrate_ok(fx->st, 0);
	assert_int_equal(store_version(fx->st, &version, &e), 0);
	assert_int_equal(version, n_migrations());

	r = query_ok(fx->st,
	             "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
	             NULL, 0);
	assert_int_equal(store_res_rows(r), n_migrations());
	assert_int_equal(store_res_int(r, 0, 0), 1);
	assert_string_equal(store_res_text(r, 0, 1), "0001_init.sql");
	assert_true(store_res_int(r, 0, 2) > 1700000000000LL);
	store_res_free(r);

	/* The schema is there, with working identity columns. */
	assert_int_equal(count_users(fx->st), 0);
	assert_int_not_equal(add_user(fx->st, 1, "a"), add_user(fx->st, 2, "b"));

	/* A second handle (another process) finds it applied. */
	again = open_store(fx, NULL);
	migrate_ok(again, 0);
	assert_int_equal(store_version(again, &version, &e), 0);
	assert_int_equal(version, n_migrations());
	store_free(again);
}

struct migrator {
	const struct fx *fx;
	int rc;
	int applied;
	char msg[256];
};

static void *migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct store *st = NULL;
	struct err e = {0};

	m->rc = store_open(&st, m->fx->url, NULL, &e);
	if (!m->rc)
		m->rc = store_migrate(st, &m->applied, &e);
	if (m->rc)
		snprintf(m->msg, sizeof(m->msg), "%s", e.msg);
	store_free(st);
	return NULL;
}

static void test_migrate_concurrent(void **state)
{
	struct fx *fx = *state;
	struct migrator m[4];
	pthread_t th[4];
	struct err e = {0};
	int total = 0, version = -1;

	for (int i = 0; i < 4; i++) {
		m[i] = (struct migrator){.fx = fx};
		assert_int_equal(pthread_create(&th[i], NULL, migrate_thread, &m[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (m[i].rc)
			print_error("migrator %d: %s\n", i, m[i].msg);
		assert_int_equal(m[i].rc, 0);
		total += m[i].applied;
	}
	/* each migration applied by exactly one of them */
	assert_int_equal(total, n_migrations());
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM schema_migrations", NULL, 0),
	                 n_migrations());
	assert_int_equal(store_version(fx->st, &version, &e), 0);
	assert_int_equal(version, n_migrations());
}

static void test_insert_returning(void **state)
{
	struct fx *fx = *state;
	int64_t a = add_user(fx->st, 100, "ann");
	int64_t b = add_user(fx->st, 200, "bob");
	struct store_val arg = SV_INT(b);
	struct store_res *r;

	assert_int_not_equal(a, b);
	r = query_ok(fx->st, "SELECT telegram_id, name, language FROM users WHERE id = $1", &arg,
	             1);
	assert_int_equal(store_res_rows(r), 1);
	assert_int_equal(store_res_cols(r), 3);
	assert_string_equal(store_res_text(r, 0, 0), "200");
	assert_string_equal(store_res_text(r, 0, 1), "bob");
	assert_string_equal(store_res_text(r, 0, 2), "en"); /* the column default */
	store_res_free(r);
	assert_int_equal(count_users(fx->st), 2);
}

static void test_params(void **state)
{
	struct fx *fx = *state;
	struct store_val args[3];
	struct store_res *r;
	struct err e = {0};
	int64_t id = add_user(fx->st, 300, "carol");

	/* int and text */
	args[0] = SV_INT(300);
	args[1] = SV_TEXT("carol");
	assert_int_equal(
	    query_int(fx->st, "SELECT id FROM users WHERE telegram_id = $1 AND name = $2", args, 2),
	    id);
	args[1] = SV_TEXT("nobody");
	r = query_ok(fx->st, "SELECT id FROM users WHERE telegram_id = $1 AND name = $2", args, 2);
	assert_int_equal(store_res_rows(r), 0);
	store_res_free(r);

	/* NULL goes in as NULL */
	args[0] = SV_INT(5);
	args[1] = SV_NULL;
	args[2] = SV_TEXT("login");
	exec_ok(fx->st, "INSERT INTO audit_log (at, actor_user_id, action) VALUES ($1, $2, $3)",
	        args, 3);
	assert_int_equal(query_int(fx->st,
	                           "SELECT count(*) FROM audit_log WHERE actor_user_id IS NULL",
	                           NULL, 0),
	                 1);

	/* text with a length, not NUL terminated; quotes and UTF-8 intact */
	args[0] = SV_TEXTN("abcdef", 3);
	args[1] = SV_TEXT("it's \xc3\xbc \"q\" $1");
	r = query_ok(fx->st, "SELECT $1, $2", args, 2);
	assert_string_equal(store_res_text(r, 0, 0), "abc");
	assert_string_equal(store_res_text(r, 0, 1), "it's \xc3\xbc \"q\" $1");
	store_res_free(r);

	/* order of numbers, not of appearance; extremes of int64 */
	args[0] = SV_INT(INT64_MAX);
	args[1] = SV_INT(INT64_MIN);
	r = query_ok(fx->st, "SELECT $2, $1, $1 - 1", args, 2);
	assert_string_equal(store_res_text(r, 0, 0), "-9223372036854775808");
	assert_true(store_res_int(r, 0, 1) == INT64_MAX);
	assert_true(store_res_int(r, 0, 2) == INT64_MAX - 1);
	store_res_free(r);

	/* the same statement again with other bindings: nothing stale */
	args[0] = SV_TEXT("x");
	r = query_ok(fx->st, "SELECT $1", args, 1);
	assert_string_equal(store_res_text(r, 0, 0), "x");
	store_res_free(r);
	args[0] = SV_NULL;
	r = query_ok(fx->st, "SELECT $1", args, 1);
	assert_true(store_res_null(r, 0, 0));
	store_res_free(r);

	/* too few parameters is an error */
	args[0] = SV_INT(1);
	assert_int_equal(store_exec(fx->st, "SELECT $1, $2", args, 1, NULL, &e), -ERR_INVALID);
	assert_int_equal(e.code, ERR_INVALID);
}

static void test_unique_violation(void **state)
{
	struct fx *fx = *state;
	struct store_val args[] = {SV_INT(42), SV_TEXT("dup"), SV_INT(1)};
	struct store_res *r = (struct store_res *)&args; /* must come back NULL */
	struct err e = {0};
	int64_t id = add_user(fx->st, 42, "first");
	struct store_val byid[] = {SV_INT(id), SV_INT(43), SV_INT(1)};

	assert_int_equal(store_exec(fx->st,
	                            "INSERT INTO users (telegram_id, name, created_at) "
	                            "VALUES ($1, $2, $3) RETURNING id",
	                            args, 3, &r, &e),
	                 -ERR_EXISTS);
	assert_null(r);
	assert_int_equal(e.code, ERR_EXISTS);
	assert_true(strlen(e.msg) > 0);

	/* a primary key too */
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_exec(fx->st,
	                            "INSERT INTO users (id, telegram_id, created_at) "
	                            "VALUES ($1, $2, $3)",
	                            byid, 3, NULL, &e),
	                 -ERR_EXISTS);

	r = query_ok(fx->st, "SELECT telegram_id, name FROM users", NULL, 0);
	assert_int_equal(store_res_rows(r), 1);
	assert_string_equal(store_res_text(r, 0, 0), "42");
	assert_string_equal(store_res_text(r, 0, 1), "first");
	store_res_free(r);
}

static void test_rollback(void **state)
{
	struct fx *fx = *state;
	struct store_val args[] = {SV_INT(7), SV_TEXT("x"), SV_INT(1)};
	struct store_conn *c;
	struct err e = {0};

	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(store_begin(c, &e), 0);
	assert_int_equal(store_query(c,
	                             "INSERT INTO users (telegram_id, name, created_at) "
	                             "VALUES ($1, $2, $3)",
	                             args, 3, NULL, &e),
	                 0);
	store_rollback(c);
	store_conn_put(fx->st, c);
	assert_int_equal(count_users(fx->st), 0);

	/* put with the transaction still open rolls it back */
	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(store_begin(c, &e), 0);
	assert_int_equal(store_query(c,
	                             "INSERT INTO users (telegram_id, name, created_at) "
	                             "VALUES ($1, $2, $3)",
	                             args, 3, NULL, &e),
	                 0);
	store_conn_put(fx->st, c);
	assert_int_equal(count_users(fx->st), 0);

	/* and after a failed statement (PostgreSQL: an aborted transaction) */
	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(store_begin(c, &e), 0);
	assert_int_equal(store_query(c,
	                             "INSERT INTO users (telegram_id, name, created_at) "
	                             "VALUES ($1, $2, $3)",
	                             args, 3, NULL, &e),
	                 0);
	assert_int_equal(store_query(c, "SELECT nope FROM users", NULL, 0, NULL, &e), -ERR_INVALID);
	store_conn_put(fx->st, c);
	assert_int_equal(count_users(fx->st), 0);
	add_user(fx->st, 8, "after");
	assert_int_equal(count_users(fx->st), 1);
}

static void test_commit(void **state)
{
	struct fx *fx = *state;
	struct store_val a[] = {SV_INT(1), SV_TEXT("one"), SV_INT(1)};
	struct store_val b[] = {SV_INT(2), SV_TEXT("two"), SV_INT(1)};
	const char *ins = "INSERT INTO users (telegram_id, name, created_at) VALUES ($1, $2, $3)";
	struct store_conn *c;
	struct store *again;
	struct err e = {0};

	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(store_begin(c, &e), 0);
	assert_int_equal(store_query(c, ins, a, 3, NULL, &e), 0);
	assert_int_equal(store_query(c, ins, b, 3, NULL, &e), 0);
	assert_int_equal(store_commit(c, &e), 0);
	store_conn_put(fx->st, c);
	assert_int_equal(count_users(fx->st), 2);

	again = open_store(fx, NULL);
	assert_int_equal(count_users(again), 2);
	store_free(again);
}

static void test_results(void **state)
{
	struct fx *fx = *state;
	struct store_res *r;

	r = query_ok(fx->st, "SELECT NULL, 42, -7, 3000000000000, 'x', ''", NULL, 0);
	assert_int_equal(store_res_rows(r), 1);
	assert_int_equal(store_res_cols(r), 6);
	assert_true(store_res_null(r, 0, 0));
	assert_string_equal(store_res_text(r, 0, 0), "");
	assert_int_equal(store_res_int(r, 0, 0), 0);
	assert_false(store_res_null(r, 0, 1));
	assert_string_equal(store_res_text(r, 0, 1), "42");
	assert_int_equal(store_res_int(r, 0, 1), 42);
	assert_string_equal(store_res_text(r, 0, 2), "-7");
	assert_int_equal(store_res_int(r, 0, 2), -7);
	assert_string_equal(store_res_text(r, 0, 3), "3000000000000");
	assert_true(store_res_int(r, 0, 3) == 3000000000000LL);
	assert_false(store_res_null(r, 0, 4));
	assert_int_equal(store_res_int(r, 0, 4), 0); /* not an integer */
	assert_false(store_res_null(r, 0, 5));
	assert_string_equal(store_res_text(r, 0, 5), "");
	assert_int_equal(store_res_changes(r), 0);
	store_res_free(r);

	/* table columns, several rows, a NULL among them */
	add_user(fx->st, 11, "k");
	add_user(fx->st, 12, "l");
	exec_ok(fx->st,
	        "INSERT INTO api_keys (user_id, key_hash, prefix, created_at, revoked_at) "
	        "SELECT id, 'h' || name, 'p', 1, CASE WHEN name = 'l' THEN 99 END FROM users",
	        NULL, 0);
	r = query_ok(fx->st,
	             "SELECT u.telegram_id, k.key_hash, k.revoked_at FROM api_keys k "
	             "JOIN users u ON u.id = k.user_id ORDER BY u.telegram_id",
	             NULL, 0);
	assert_int_equal(store_res_rows(r), 2);
	assert_int_equal(store_res_cols(r), 3);
	assert_string_equal(store_res_text(r, 0, 0), "11");
	assert_string_equal(store_res_text(r, 0, 1), "hk");
	assert_true(store_res_null(r, 0, 2));
	assert_string_equal(store_res_text(r, 1, 0), "12");
	assert_false(store_res_null(r, 1, 2));
	assert_int_equal(store_res_int(r, 1, 2), 99);
	store_res_free(r);

	/* no rows, still columns */
	r = query_ok(fx->st, "SELECT id, name FROM users WHERE id < 0", NULL, 0);
	assert_int_equal(store_res_rows(r), 0);
	assert_int_equal(store_res_cols(r), 2);
	store_res_free(r);
}

static void test_changes(void **state)
{
	struct fx *fx = *state;
	struct store_val args[2] = {SV_TEXT("z"), SV_INT(3)};
	struct store_res *r;

	add_user(fx->st, 1, "a");
	add_user(fx->st, 2, "b");
	add_user(fx->st, 3, "c");

	r = query_ok(fx->st, "UPDATE users SET name = $1 WHERE telegram_id < $2", args, 2);
	assert_int_equal(store_res_changes(r), 2);
	assert_int_equal(store_res_rows(r), 0);
	store_res_free(r);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM users WHERE name = $1", args, 1),
	                 2);

	args[1] = SV_INT(-1);
	r = query_ok(fx->st, "UPDATE users SET name = $1 WHERE telegram_id < $2", args, 2);
	assert_int_equal(store_res_changes(r), 0);
	store_res_free(r);

	args[0] = SV_INT(3);
	r = query_ok(fx->st, "DELETE FROM users WHERE telegram_id = $1", args, 1);
	assert_int_equal(store_res_changes(r), 1);
	store_res_free(r);

	/* a SELECT changes nothing, whatever ran before it */
	r = query_ok(fx->st, "SELECT telegram_id FROM users", NULL, 0);
	assert_int_equal(store_res_changes(r), 0);
	assert_int_equal(store_res_rows(r), 2);
	store_res_free(r);

	r = query_ok(
	    fx->st,
	    "INSERT INTO users (telegram_id, created_at) VALUES (9, 1), (10, 1) RETURNING id", NULL,
	    0);
	assert_int_equal(store_res_changes(r), 2);
	assert_int_equal(store_res_rows(r), 2);
	store_res_free(r);
	assert_int_equal(count_users(fx->st), 4);
}

static void test_sql_errors(void **state)
{
	struct fx *fx = *state;
	struct store_val args[] = {SV_INT(999), SV_TEXT("h"), SV_TEXT("p"), SV_INT(1)};
	struct store_res *r = NULL;
	struct err e = {0};

	assert_int_equal(store_exec(fx->st, "SELEC 1", NULL, 0, &r, &e), -ERR_INVALID);
	assert_null(r);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "failed"));

	memset(&e, 0, sizeof(e));
	assert_int_equal(store_exec(fx->st, "SELECT * FROM no_such_table", NULL, 0, NULL, &e),
	                 -ERR_INVALID);
	assert_non_null(strstr(e.msg, "no_such_table"));

	memset(&e, 0, sizeof(e));
	assert_int_equal(store_exec(fx->st, "", NULL, 0, NULL, &e), -ERR_INVALID);
	assert_true(strlen(e.msg) > 0);

	/* NOT NULL is not a unique violation */
	assert_int_equal(
	    store_exec(fx->st, "INSERT INTO users (telegram_id) VALUES (1)", NULL, 0, NULL, &e),
	    -ERR_INVALID);

	/* foreign keys are enforced, and the failed insert left nothing */
	assert_int_equal(store_exec(fx->st,
	                            "INSERT INTO api_keys (user_id, key_hash, prefix, created_at) "
	                            "VALUES ($1, $2, $3, $4)",
	                            args, 4, NULL, &e),
	                 -ERR_INVALID);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM api_keys", NULL, 0), 0);
	assert_int_equal(count_users(fx->st), 0);

	/* the connection is fine afterwards */
	assert_int_equal(query_int(fx->st, "SELECT 5", NULL, 0), 5);
}

static void test_placeholders_in_literals(void **state)
{
	struct fx *fx = *state;
	struct store_val args[] = {SV_TEXT("v")};
	struct store_res *r;

	r = query_ok(fx->st, "SELECT '$1', $1", args, 1);
	assert_string_equal(store_res_text(r, 0, 0), "$1");
	assert_string_equal(store_res_text(r, 0, 1), "v");
	store_res_free(r);

	r = query_ok(fx->st, "SELECT 'it''s $2', $1 AS \"$3\" -- $4\n /* $5 */", args, 1);
	assert_string_equal(store_res_text(r, 0, 0), "it's $2");
	assert_string_equal(store_res_text(r, 0, 1), "v");
	store_res_free(r);

	/* a dollar sign inside a name is part of the name */
	exec_ok(fx->st, "CREATE TABLE t (a$1 TEXT)", NULL, 0);
	exec_ok(fx->st, "INSERT INTO t (a$1) VALUES ($1)", args, 1);
	r = query_ok(fx->st, "SELECT a$1, $1 FROM t WHERE a$1=$1", args, 1);
	assert_int_equal(store_res_rows(r), 1);
	assert_string_equal(store_res_text(r, 0, 0), "v");
	assert_string_equal(store_res_text(r, 0, 1), "v");
	store_res_free(r);
}

static void test_nested_conn(void **state)
{
	struct fx *fx = *state;
	struct store_val args[] = {SV_INT(77), SV_TEXT("n"), SV_INT(1)};
	struct store_conn *outer, *inner;
	struct err e = {0};

	assert_int_equal(store_conn_get(fx->st, &outer, &e), 0);
	assert_int_equal(store_begin(outer, &e), 0);
	assert_int_equal(store_query(outer,
	                             "INSERT INTO users (telegram_id, name, created_at) "
	                             "VALUES ($1, $2, $3)",
	                             args, 3, NULL, &e),
	                 0);
	/* a callee borrows and returns; the outer transaction survives */
	assert_int_equal(store_conn_get(fx->st, &inner, &e), 0);
	assert_int_equal(store_query(inner, "SELECT 1", NULL, 0, NULL, &e), 0);
	store_conn_put(fx->st, inner);
	assert_int_equal(store_commit(outer, &e), 0);
	store_conn_put(fx->st, outer);
	assert_int_equal(count_users(fx->st), 1);
}

struct worker {
	struct store *st;
	int id;
	int n;
	int failures;
	char msg[256];
};

/* n inserts: every other one alone, the rest each in a transaction. */
static void *insert_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->n; i++) {
		struct store_val args[] = {SV_INT(i), SV_INT(w->id), SV_TEXT("thread")};
		const char *ins =
		    "INSERT INTO audit_log (at, actor_user_id, action) VALUES ($1, $2, $3)";
		struct store_conn *c = NULL;
		struct err e = {0};
		int rc;

		if (i % 2 == 0) {
			rc = store_exec(w->st, ins, args, 3, NULL, &e);
		} else {
			rc = store_conn_get(w->st, &c, &e);
			if (!rc)
				rc = store_begin(c, &e);
			if (!rc)
				rc = store_query(c, "SELECT count(*) FROM audit_log", NULL, 0, NULL,
				                 &e);
			if (!rc)
				rc = store_query(c, ins, args, 3, NULL, &e);
			if (!rc)
				rc = store_commit(c, &e);
			store_conn_put(w->st, c);
		}
		if (rc && w->failures++ == 0)
			snprintf(w->msg, sizeof(w->msg), "%s", e.msg);
	}
	return NULL;
}

static void run_workers(struct store *st, int nthreads, int each)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];

	assert_true(nthreads <= NTHREADS);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct worker){.st = st, .id = i + 1, .n = each};
		assert_int_equal(pthread_create(&th[i], NULL, insert_worker, &w[i]), 0);
	}
	for (int i = 0; i < nthreads; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		if (w[i].failures)
			print_error("thread %d: %d failures, first: %s\n", i, w[i].failures,
			            w[i].msg);
		assert_int_equal(w[i].failures, 0);
	}
}

static void check_audit_counts(struct store *st, int nthreads, int each)
{
	struct store_res *r =
	    query_ok(st,
	             "SELECT actor_user_id, count(*), count(DISTINCT at) "
	             "FROM audit_log GROUP BY actor_user_id ORDER BY actor_user_id",
	             NULL, 0);

	assert_int_equal(store_res_rows(r), nthreads);
	for (int i = 0; i < nthreads; i++) {
		assert_int_equal(store_res_int(r, (size_t)i, 0), i + 1);
		assert_int_equal(store_res_int(r, (size_t)i, 1), each);
		assert_int_equal(store_res_int(r, (size_t)i, 2), each);
	}
	store_res_free(r);
}

static void test_threads(void **state)
{
	struct fx *fx = *state;

	run_workers(fx->st, NTHREADS, INSERTS_EACH);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM audit_log", NULL, 0),
	                 NTHREADS * INSERTS_EACH);
	check_audit_counts(fx->st, NTHREADS, INSERTS_EACH);
}

/* More threads than PostgreSQL connections: they wait their turn. */
static void test_small_pool(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.pool_size = SMALL_POOL};
	struct store_val name = SV_TEXT(POOL_TEST_NAME);
	struct fx named = *fx;
	struct store *st;

	if (fx->kind == STORE_PG) {
		int n = snprintf(named.url, sizeof(named.url), "%.400s%capplication_name=%s",
		                 fx->url, strchr(fx->url, '?') ? '&' : '?', POOL_TEST_NAME);

		assert_true(n > 0 && (size_t)n < sizeof(named.url) && strlen(fx->url) <= 400);
	}
	st = open_store(&named, &opts);
	run_workers(st, NTHREADS, POOL_INSERTS);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM audit_log", NULL, 0),
	                 NTHREADS * POOL_INSERTS);
	check_audit_counts(fx->st, NTHREADS, POOL_INSERTS);
	if (fx->kind == STORE_PG) {
		int64_t n = query_int(fx->st,
		                      "SELECT count(*) FROM pg_stat_activity "
		                      "WHERE application_name = $1",
		                      &name, 1);

		assert_true(n >= 1 && n <= SMALL_POOL);
	}
	store_free(st);
}

/* --- SQLite only --- */

static void test_sqlite_settings(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.busy_timeout_ms = 1234};
	struct store *st = open_store(fx, &opts);
	struct store_res *r;

	r = query_ok(st, "PRAGMA journal_mode", NULL, 0);
	assert_string_equal(store_res_text(r, 0, 0), "wal");
	store_res_free(r);
	assert_int_equal(query_int(st, "PRAGMA foreign_keys", NULL, 0), 1);
	assert_int_equal(query_int(st, "PRAGMA busy_timeout", NULL, 0), 1234);
	assert_int_equal(query_int(st, "PRAGMA synchronous", NULL, 0), 1); /* NORMAL */
	store_free(st);
}

/* A writer held off past the busy timeout gets -ERR_BUSY. */
static void test_sqlite_busy(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.busy_timeout_ms = 100};
	struct store *other = open_store(fx, &opts);
	struct store_conn *c;
	struct err e = {0};
	int64_t t0;

	assert_int_equal(store_conn_get(fx->st, &c, &e), 0);
	assert_int_equal(store_begin(c, &e), 0);
	t0 = clock_mono_ms();
	assert_int_equal(store_exec(other,
	                            "INSERT INTO users (telegram_id, created_at) VALUES (1, 1)",
	                            NULL, 0, NULL, &e),
	                 -ERR_BUSY);
	assert_true(clock_mono_ms() - t0 >= 90);
	assert_int_equal(e.code, ERR_BUSY);
	store_conn_put(fx->st, c);

	exec_ok(other, "INSERT INTO users (telegram_id, created_at) VALUES (1, 1)", NULL, 0);
	assert_int_equal(count_users(fx->st), 1);
	store_free(other);
}

/* More distinct statements than the cache holds, then the first ones again. */
static void test_sqlite_stmt_cache(void **state)
{
	struct fx *fx = *state;
	char sql[64];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 150; i++) {
			struct store_val arg = SV_INT(i);

			snprintf(sql, sizeof(sql), "SELECT %d + $1", i);
			assert_int_equal(query_int(fx->st, sql, &arg, 1), 2 * i);
		}
	}
	/* a cached statement follows a schema change */
	exec_ok(fx->st, "CREATE TABLE t (a INTEGER)", NULL, 0);
	exec_ok(fx->st, "INSERT INTO t VALUES (1)", NULL, 0);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM t", NULL, 0), 1);
	exec_ok(fx->st, "ALTER TABLE t ADD COLUMN b TEXT", NULL, 0);
	exec_ok(fx->st, "INSERT INTO t VALUES (2, 'x')", NULL, 0);
	assert_int_equal(query_int(fx->st, "SELECT count(*) FROM t", NULL, 0), 2);
}

static void test_sqlite_open_errors(void **state)
{
	struct store *st = (struct store *)state; /* must come back NULL */
	struct err e = {0};

	assert_int_not_equal(store_open(&st, "sqlite:/nonexistent-dir/x/y.db", NULL, &e), 0);
	assert_null(st);
	assert_true(strlen(e.msg) > 0);
	st = (struct store *)state;
	assert_int_equal(store_open(&st, "sqlite:", NULL, &e), -ERR_INVALID);
	assert_null(st);
}

/* --- PostgreSQL only --- */

static void test_pg_pool_busy(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.pool_size = 1, .busy_timeout_ms = 300};
	struct store *st = open_store(fx, &opts);
	struct store_conn *c, *c2 = NULL;
	struct err e = {0};
	int64_t t0, waited;

	assert_int_equal(store_conn_get(st, &c, &e), 0);
	t0 = clock_mono_ms();
	assert_int_equal(store_conn_get(st, &c2, &e), -ERR_BUSY);
	waited = clock_mono_ms() - t0;
	assert_null(c2);
	assert_true(waited >= 290 && waited < 3000);
	assert_int_equal(e.code, ERR_BUSY);
	store_conn_put(st, c);
	assert_int_equal(store_conn_get(st, &c2, &e), 0);
	assert_int_equal(store_query(c2, "SELECT 1", NULL, 0, NULL, &e), 0);
	store_conn_put(st, c2);
	store_free(st);
}

static int64_t backend_pid(struct store_conn *c)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int64_t pid;

	int rc = store_query(c, "SELECT pg_backend_pid()", NULL, 0, &r, &e);

	if (rc)
		print_error("pg_backend_pid: %s\n", e.msg);
	assert_int_equal(rc, 0);
	pid = store_res_int(r, 0, 0);
	store_res_free(r);
	assert_true(pid > 0);
	return pid;
}

/* Terminate a backend from fx's store and wait until it is gone. */
static void kill_backend(struct fx *fx, int64_t pid)
{
	struct store_val arg = SV_INT(pid);

	assert_int_equal(query_int(fx->st,
	                           "SELECT CASE WHEN pg_terminate_backend(CAST($1 AS integer)) "
	                           "THEN 1 ELSE 0 END",
	                           &arg, 1),
	                 1);
	for (int i = 0; i < 200; i++) {
		if (query_int(
		        fx->st,
		        "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST($1 AS integer)",
		        &arg, 1) == 0)
			return;
		clock_sleep_ms(10);
	}
	fail_msg("backend %" PRId64 " did not go away", pid);
}

static void test_pg_reconnect(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.pool_size = 1};
	struct store *st = open_store(fx, &opts);
	struct store_conn *c;
	struct err e = {0};
	int64_t pid, pid2;

	/* killed while borrowed: the query says unavailable, the next works */
	assert_int_equal(store_conn_get(st, &c, &e), 0);
	pid = backend_pid(c);
	kill_backend(fx, pid);
	assert_int_equal(store_query(c, "SELECT 1", NULL, 0, NULL, &e), -ERR_UNAVAILABLE);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	store_conn_put(st, c);
	assert_int_equal(store_ping(st, &e), 0);

	/* killed while idle in the pool: noticed on the next borrow */
	assert_int_equal(store_conn_get(st, &c, &e), 0);
	pid = backend_pid(c);
	store_conn_put(st, c);
	kill_backend(fx, pid);
	assert_int_equal(store_conn_get(st, &c, &e), 0);
	pid2 = backend_pid(c);
	store_conn_put(st, c);
	assert_true(pid2 != pid);
	store_free(st);
}

/* A TCP relay in front of PostgreSQL that can stop (all connections cut,
 * the port refused) and start again on the same port. */
struct proxy {
	int port;
	int upstream;
	int lfd;
	int wake[2];
	pthread_t thread;
};

#define PROXY_PAIRS 32

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;
	int pair[PROXY_PAIRS][2];
	int n = 0;
	char buf[16384];

	for (;;) {
		struct pollfd pfd[2 + 2 * PROXY_PAIRS];
		int k = 0, live = 0;

		pfd[k++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
		pfd[k++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
		for (int i = 0; i < n; i++) {
			pfd[k++] = (struct pollfd){.fd = pair[i][0], .events = POLLIN};
			pfd[k++] = (struct pollfd){.fd = pair[i][1], .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)k, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		for (int i = 0; i < n; i++) {
			bool dead = false;

			for (int side = 0; side < 2 && !dead; side++) {
				ssize_t got;

				if (!pfd[2 + 2 * i + side].revents)
					continue;
				got = read(pair[i][side], buf, sizeof(buf));
				if (got <= 0 || write_all(pair[i][!side], buf, (size_t)got) < 0)
					dead = true;
			}
			if (dead) {
				close(pair[i][0]);
				close(pair[i][1]);
			} else {
				pair[live][0] = pair[i][0];
				pair[live][1] = pair[i][1];
				live++;
			}
		}
		n = live;
		if (pfd[1].revents & POLLIN) {
			int cfd = accept(p->lfd, NULL, NULL);
			int ufd = cfd >= 0 ? dial(p->upstream) : -1;

			if (cfd >= 0 && ufd >= 0 && n < PROXY_PAIRS) {
				pair[n][0] = cfd;
				pair[n][1] = ufd;
				n++;
			} else {
				if (cfd >= 0)
					close(cfd);
				if (ufd >= 0)
					close(ufd);
			}
		}
	}
	for (int i = 0; i < n; i++) {
		close(pair[i][0]);
		close(pair[i][1]);
	}
	close(p->lfd);
	return NULL;
}

static void proxy_start(struct proxy *p)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
	socklen_t alen = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 16), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &alen), 0);
	p->port = ntohs(a.sin_port);
	assert_int_equal(pipe(p->wake), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
	assert_int_equal(write(p->wake[1], "x", 1), 1);
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	close(p->wake[0]);
	close(p->wake[1]);
}

/* The server goes away and comes back: no reopen needed. */
static void test_pg_server_down_and_back(void **state)
{
	struct fx *fx = *state;
	struct store_opts opts = {.pool_size = 2, .busy_timeout_ms = 2000};
	struct proxy p = {.upstream = url_port(fx->url)};
	struct store_val args[] = {SV_INT(1), SV_INT(5), SV_TEXT("back")};
	struct fx via = *fx;
	struct store *st;
	struct err e = {0};
	int64_t t0;

	proxy_start(&p);
	url_with_port(fx->url, p.port, via.url, sizeof(via.url));
	st = open_store(&via, &opts);
	assert_int_equal(store_ping(st, &e), 0);
	assert_int_equal(query_int(st, "SELECT count(*) FROM audit_log", NULL, 0), 0);

	proxy_stop(&p);
	t0 = clock_mono_ms();
	assert_int_equal(store_ping(st, &e), -ERR_UNAVAILABLE);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_int_equal(store_exec(st, "SELECT 1", NULL, 0, NULL, &e), -ERR_UNAVAILABLE);
	assert_true(clock_mono_ms() - t0 < 3000);

	proxy_start(&p);
	assert_int_equal(store_ping(st, &e), 0);
	exec_ok(st, "INSERT INTO audit_log (at, actor_user_id, action) VALUES ($1, $2, $3)", args,
	        3);
	assert_int_equal(
	    query_int(fx->st, "SELECT count(*) FROM audit_log WHERE action = 'back'", NULL, 0), 1);
	store_free(st);
	proxy_stop(&p);
}

/* --- PostgreSQL without a server --- */

static void test_pg_unreachable(void **state)
{
	const char *url = "postgres://herald:s3cret@127.0.0.1:1/herald";
	struct store *st = NULL;
	struct store_conn *c = (struct store_conn *)state;
	struct err e = {0};
	int64_t t0;
	int applied = -1;

	assert_int_equal(store_open(&st, url, NULL, &e), 0);
	assert_non_null(st);
	assert_int_equal(store_kind(st), STORE_PG);

	t0 = clock_mono_ms();
	assert_int_equal(store_ping(st, &e), -ERR_UNAVAILABLE);
	assert_true(clock_mono_ms() - t0 < 2000);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "s3cret"));
	assert_non_null(strstr(e.msg, "127.0.0.1"));

	assert_int_equal(store_conn_get(st, &c, &e), -ERR_UNAVAILABLE);
	assert_null(c);
	assert_int_equal(store_exec(st, "SELECT 1", NULL, 0, NULL, &e), -ERR_UNAVAILABLE);
	assert_int_equal(store_migrate(st, &applied, &e), -ERR_UNAVAILABLE);
	assert_int_equal(applied, 0);
	assert_null(strstr(e.msg, "s3cret"));
	store_free(st);

	/* a URL libpq cannot parse fails at open, without echoing the secret */
	st = (struct store *)state;
	assert_int_equal(store_open(&st, "postgresql://u:s3cret@h/db?no_such_option=1", NULL, &e),
	                 -ERR_INVALID);
	assert_null(st);
	assert_null(strstr(e.msg, "s3cret"));
}

int main(void)
{
	const struct CMUnitTest common[] = {
	    cmocka_unit_test_setup_teardown(test_migrate, setup_empty, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_concurrent, setup_empty, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_returning, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_params, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_unique_violation, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_commit, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_results, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_changes, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_sql_errors, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_placeholders_in_literals, setup_migrated,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_nested_conn, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_threads, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_small_pool, setup_migrated, teardown),
	};
	const struct CMUnitTest sqlite_only[] = {
	    cmocka_unit_test_setup_teardown(test_sqlite_settings, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_busy, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_sqlite_stmt_cache, setup_migrated, teardown),
	    cmocka_unit_test(test_sqlite_open_errors),
	};
	const struct CMUnitTest pg_only[] = {
	    cmocka_unit_test_setup_teardown(test_pg_pool_busy, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_reconnect, setup_migrated, teardown),
	    cmocka_unit_test_setup_teardown(test_pg_server_down_and_back, setup_migrated, teardown),
	};
	const struct CMUnitTest offline[] = {
	    cmocka_unit_test(test_pg_unreachable),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("sqlite", common, group_setup_sqlite, group_teardown);
	failed += cmocka_run_group_tests_name("sqlite only", sqlite_only, group_setup_sqlite,
	                                      group_teardown);
	failed += cmocka_run_group_tests_name("postgres offline", offline, NULL, NULL);
	if (getenv("HERALD_TEST_DATABASE") && *getenv("HERALD_TEST_DATABASE")) {
		failed +=
		    cmocka_run_group_tests_name("postgres", common, group_setup_pg, group_teardown);
		failed += cmocka_run_group_tests_name("postgres only", pg_only, group_setup_pg,
		                                      group_teardown);
	} else {
		printf("HERALD_TEST_DATABASE is not set: PostgreSQL tests are skipped\n");
	}
	return failed ? 1 : 0;
}
