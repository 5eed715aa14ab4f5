/*
 * pg: the PostgreSQL backend, over libpq. A pool of at most pool_size
 * connections, opened lazily: store_open() only checks the URL, so a server
 * that is down does not stop the program from starting, and every borrow
 * that finds no live connection tries to open one. A connection found dead
 * (the server closed it while idle, or a query failed because it was lost)
 * is thrown away and its slot reopened on a later borrow, so the store
 * recovers by itself when the server comes back.
 *
 * Queries go through PQexecParams with parameters as text; integers are
 * sent as int8, so arithmetic on them stays 64-bit. Results come back as
 * text. The URL may hold a password: messages only ever show it redacted.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define CONNECT_TIMEOUT "3" /* seconds, unless the URL says otherwise */
#define INT8_OID        20  /* pg_type.oid of bigint */
#define MAX_PARAMS      65535

struct pg_conn {
	struct store_conn base;
	PGconn *pg;
	bool doomed;          /* the server said it is closing this connection */
	struct pg_conn *next; /* in the idle list */
};

struct pg_store {
	struct store base;
	char *url;      /* may hold a password: never show it */
	char *safe_url; /* the URL with the password redacted */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a slot or an idle connection came free */
	struct pg_conn *idle;
	int slots; /* connections idle, borrowed or being opened */
};

static struct pg_store *pg_store_of(struct store *st)
{
	return STORE_OUTER(st, struct pg_store, base);
}

static struct pg_conn *pg_conn_of(struct store_conn *c)
{
	return STORE_OUTER(c, struct pg_conn, base);
}

/* The first line of a libpq message, which may end in a newline. */
static void first_line(const char *msg, char *out, size_t outsz)
{
	size_t n;

	if (!msg || !*msg)
		msg = "unknown error";
	n = strcspn(msg, "\r\n");
	if (n > outsz - 1)
		n = outsz - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/*
 * Notices (e.g. "table already exists, skipping") are not for stderr. An
 * error the server sends while the connection is idle arrives here too: a
 * FATAL one says the server is about to close it.
 */
static void on_notice(void *arg, const PGresult *r)
{
	struct pg_conn *c = arg;
	const char *severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	char line[256];

	if (severity && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0))
		c->doomed = true;
	first_line(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), line, sizeof(line));
	log_debug("msg=\"postgres notice\" severity=%s notice=\"%s\"", severity ? severity : "",
	          line);
}

static int connect_one(struct pg_store *s, struct pg_conn *c, struct err *e)
{
	/* Later keys win: the URL's own connect_timeout overrides ours. */
	const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
	const char *const vals[] = {CONNECT_TIMEOUT, "herald", s->url, NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	char line[192];

	STORE_ASSERT(pg != NULL); /* only out of memory */
	if (PQstatus(pg) != CONNECTION_OK) {
		first_line(PQerrorMessage(pg), line, sizeof(line));
		PQfinish(pg);
		return err_set(e, ERR_UNAVAILABLE, "postgres connect to %s failed: %s", s->safe_url,
		               line);
	}
	PQsetNoticeReceiver(pg, on_notice, c);
	c->pg = pg;
	c->doomed = false;
	return 0;
}

/*
 * Whether an idle connection is still usable, without a round trip. A server
 * that ends a connection (shutdown, pg_terminate_backend) sends a FATAL error
 * and then closes; a connection cut otherwise only shows EOF. Read and parse
 * whatever is waiting and look for either.
 */
static bool alive(struct pg_conn *c)
{
	char byte;

	for (int i = 0; i < 8; i++) {
		ssize_t n;

		if (!PQconsumeInput(c->pg))
			return false;
		(void)PQisBusy(c->pg); /* parses: an error while idle goes to on_notice() */
		if (c->doomed || PQstatus(c->pg) != CONNECTION_OK ||
		    PQtransactionStatus(c->pg) != PQTRANS_IDLE)
			return false;
		n = recv(PQsocket(c->pg), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			return false; /* closed */
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	}
	return true; /* still talking: the query will find out */
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Give a slot back after its connection was dropped or never opened. */
static void slot_release(struct pg_store *s)
{
	pthread_mutex_lock(&s->mu);
	STORE_ASSERT(s->slots > 0);
	s->slots--;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static int pg_conn_get(struct store *st, struct store_conn **out, struct err *e)
{
	struct pg_store *s = pg_store_of(st);
	struct pg_conn *c = NULL;
	struct timespec deadline;
	int rc;

	deadline_after(&deadline, st->opts.busy_timeout_ms);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (s->idle) {
			c = s->idle;
			s->idle = c->next;
			c->next = NULL;
			break;
		}
		if (s->slots < st->opts.pool_size) {
			s->slots++;
			break;
		}
		if (pthread_cond_timedwait(&s->cv, &s->mu, &deadline) == ETIMEDOUT && !s->idle &&
		    s->slots >= st->opts.pool_size) {
			pthread_mutex_unlock(&s->mu);
			return err_set(e, ERR_BUSY,
			               "postgres: no free connection after %d ms (pool of %d)",
			               st->opts.busy_timeout_ms, st->opts.pool_size);
		}
	}
	pthread_mutex_unlock(&s->mu);

	/* Outside the lock: checking and connecting may take a while. */
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->base.st = st;
	} else if (!alive(c)) {
		PQfinish(c->pg);
		c->pg = NULL;
	}
	if (!c->pg) {
		rc = connect_one(s, c, e);
		if (rc) {
			free(c);
			slot_release(s);
			return rc;
		}
	}
	*out = &c->base;
	return 0;
}

static void pg_conn_put(struct store *st, struct store_conn *base)
{
	struct pg_store *s = pg_store_of(st);
	struct pg_conn *c = pg_conn_of(base);
	PGTransactionStatusType ts;
	bool keep = !c->doomed && PQstatus(c->pg) == CONNECTION_OK;

	if (keep) {
		ts = PQtransactionStatus(c->pg);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			PQclear(PQexec(c->pg, "ROLLBACK"));
			ts = PQtransactionStatus(c->pg);
		}
		keep = PQstatus(c->pg) == CONNECTION_OK && ts == PQTRANS_IDLE;
	}
	if (!keep) {
		PQfinish(c->pg);
		free(c);
		slot_release(s);
		return;
	}
	pthread_mutex_lock(&s->mu);
	c->next = s->idle;
	s->idle = c;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static bool state_is(const char *state, const char *want)
{
	return state && strncmp(state, want, strlen(want)) == 0;
}

/* Map a failed command to our codes; r may be NULL. */
static int pg_error(struct pg_conn *c, const PGresult *r, const char *what, struct err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char line[224];
	int code = ERR_INVALID;

	if (PQstatus(c->pg) != CONNECTION_OK ||
	    (state_is(state, "08") && !state_is(state, "08P01")) || state_is(state, "57P0")) {
		/* Lost, or the server is shutting down: the put drops it. */
		c->doomed = true;
		first_line(primary ? primary : PQerrorMessage(c->pg), line, sizeof(line));
		return err_set(e, ERR_UNAVAILABLE, "%s failed: connection lost: %s", what, line);
	}
	first_line(primary ? primary : PQerrorMessage(c->pg), line, sizeof(line));
	if (state_is(state, "23505"))
		code = ERR_EXISTS;
	else if (state_is(state, "40001") || state_is(state, "40P01") || state_is(state, "55P03"))
		code = ERR_BUSY; /* serialization failure, deadlock, lock not available */
	return err_set(e, code, "%s failed: %s", what, line);
}

static bool is_dml(const char *status)
{
	static const char *const verbs[] = {"INSERT ", "UPDATE ", "DELETE ", "MERGE "};

	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strncmp(status, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

static int take_result(struct pg_conn *c, PGresult *r, struct store_res **res, struct err *e)
{
	struct store_res *out;
	int64_t changes;
	int rows, cols;

	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		break;
	case PGRES_EMPTY_QUERY:
		return err_set(e, ERR_INVALID, "query failed: empty statement");
	case PGRES_FATAL_ERROR:
	case PGRES_NONFATAL_ERROR:
	case PGRES_BAD_RESPONSE:
		return pg_error(c, r, "query", e);
	default:
		if (PQstatus(c->pg) != CONNECTION_OK)
			return pg_error(c, r, "query", e);
		return err_set(e, ERR_INVALID, "query failed: unsupported result %s",
		               PQresStatus(PQresultStatus(r)));
	}
	if (!res)
		return 0;

	rows = PQntuples(r);
	cols = PQnfields(r);
	out = store_res_new((size_t)cols);
	for (int i = 0; i < rows; i++) {
		for (int j = 0; j < cols; j++) {
			if (PQgetisnull(r, i, j))
				store_res_add(out, NULL, 0);
			else
				store_res_add(out, PQgetvalue(r, i, j),
				              (size_t)PQgetlength(r, i, j));
		}
		store_res_end_row(out);
	}
	if (is_dml(PQcmdStatus(r)) &&
	    str_to_i64(str_c(PQcmdTuples(r)), 0, INT64_MAX, &changes) == 0)
		out->changes = changes;
	*res = out;
	return 0;
}

static int pg_query(struct store_conn *base, const char *sql, const struct store_val *args,
                    size_t nargs, struct store_res **res, struct err *e)
{
	struct pg_conn *c = pg_conn_of(base);
	const char **vals = NULL;
	char **own = NULL;
	Oid *types = NULL;
	PGresult *r = NULL;
	int rc;

	if (nargs > MAX_PARAMS) {
		rc = err_set(e, ERR_TOO_BIG, "query failed: %zu parameters", nargs);
		goto out;
	}
	if (nargs) {
		vals = xcalloc(nargs, sizeof(*vals));
		own = xcalloc(nargs, sizeof(*own));
		types = xcalloc(nargs, sizeof(*types));
	}
	for (size_t i = 0; i < nargs; i++) {
		const struct store_val *v = &args[i];

		switch (v->type) {
		case STORE_NULL:
			break;
		case STORE_INT:
			own[i] = xmalloc(24);
			snprintf(own[i], 24, "%" PRId64, v->i);
			types[i] = INT8_OID;
			break;
		case STORE_TEXT:
			/* Text format wants C strings, and PostgreSQL text has no NUL. */
			if (v->len && memchr(v->s, '\0', v->len)) {
				rc =
				    err_set(e, ERR_INVALID,
				            "query failed: parameter $%zu holds a NUL byte", i + 1);
				goto out;
			}
			own[i] = v->len ? xstrndup(v->s, v->len) : xstrdup("");
			break;
		default:
			rc = err_set(e, ERR_INVALID, "query failed: parameter $%zu has no type",
			             i + 1);
			goto out;
		}
		vals[i] = own[i];
	}
	r = PQexecParams(c->pg, sql, (int)nargs, types, vals, NULL, NULL, 0);
	rc = take_result(c, r, res, e);
out:
	PQclear(r);
	for (size_t i = 0; own && i < nargs; i++)
		free(own[i]);
	free(own);
	free(vals);
	free(types);
	return rc;
}

static int pg_script(struct store_conn *base, const char *sql, struct err *e)
{
	struct pg_conn *c = pg_conn_of(base);
	PGresult *r = PQexec(c->pg, sql);
	int rc = take_result(c, r, NULL, e);

	PQclear(r);
	return rc;
}

static void pg_free(struct store *st)
{
	struct pg_store *s = pg_store_of(st);
	struct pg_conn *c, *next;
	int n = 0;

	for (c = s->idle; c; c = next) {
		next = c->next;
		PQfinish(c->pg);
		free(c);
		n++;
	}
	/* A connection still borrowed would now point at freed memory. */
	STORE_ASSERT(n == s->slots);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->url);
	free(s->safe_url);
	free(s);
}

static const struct store_ops pg_ops = {
    .free = pg_free,
    .conn_get = pg_conn_get,
    .conn_put = pg_conn_put,
    .query = pg_query,
    .script = pg_script,
};

int store_pg_open(struct store **out, const char *url, const struct store_opts *opts, struct err *e)
{
	struct pg_store *s;
	PQconninfoOption *parsed;
	pthread_condattr_t ca;
	char *msg = NULL;
	char safe[512];

	*out = NULL;
	log_redact_url(url, safe, sizeof(safe));
	/* Only the syntax: libpq's detail could quote the password back. */
	parsed = PQconninfoParse(url, &msg);
	if (!parsed) {
		PQfreemem(msg);
		return err_set(e, ERR_INVALID, "postgres open failed: bad url %s", safe);
	}
	PQconninfoFree(parsed);

	s = xcalloc(1, sizeof(*s));
	s->base.ops = &pg_ops;
	s->base.kind = STORE_PG;
	s->base.opts = *opts;
	s->url = xstrdup(url);
	s->safe_url = xstrdup(safe);
	STORE_ASSERT(pthread_mutex_init(&s->mu, NULL) == 0);
	STORE_ASSERT(pthread_condattr_init(&ca) == 0);
	STORE_ASSERT(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
	STORE_ASSERT(pthread_cond_init(&s->cv, &ca) == 0);
	pthread_condattr_destroy(&ca);
	*out = &s->base;
	return 0;
}
