/*
 * kv/redis: the Redis backend, on hiredis 0.14's synchronous API.
 *
 * Commands run on a small pool of connections (at most POOL_MAX) shared under
 * a mutex and a condition variable. Connections are opened on demand, with a
 * connect and a command timeout, and authenticated and switched to the
 * database of the URL. A connection that saw an I/O error is freed, and an
 * idle one that the server closed is noticed before use, so when Redis comes
 * back the next call simply connects again; while it is away calls return
 * -ERR_UNAVAILABLE. Everything is sent with redisCommandArgv, so keys and
 * values are binary safe. What must be atomic and is more than one command
 * (incr with a ttl, compare-and-delete, the token bucket) is a Lua script.
 *
 * A subscription has its own connection and thread. The caller's thread
 * connects and waits for SUBSCRIBE to be confirmed, then the thread reads
 * messages, waiting in poll(2) on the socket and on a pipe that
 * kv_sub_free() writes to. After a lost connection it reconnects and
 * subscribes again with a growing delay.
 *
 * hiredis writes with write(2): the process must ignore SIGPIPE (main does).
 * The password is never logged nor put in an error message.
 */
#include "kv/kv_impl.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define POOL_MAX           8
#define CONNECT_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 2000
#define SUB_BACKOFF_MIN_MS 50
#define SUB_BACKOFF_MAX_MS 2000
#define SUB_PING_IDLE_MS   15000 /* ping a quiet subscription this often */
#define SUB_DEAD_IDLE_MS   35000 /* and give it up when even that got no answer */
#define HOST_MAX           255
#define DB_MAX             100000

/* Store tokens and the time in a hash; TIME is fine in a script on Redis 7
 * (effects replication). Returns {taken, wait_ms}. */
static const char take_lua[] =
    "local rate = tonumber(ARGV[1])\n"
    "local burst = tonumber(ARGV[2])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\n"
    "local h = redis.call('HMGET', KEYS[1], 'tokens', 'ts')\n"
    "local tokens = tonumber(h[1])\n"
    "local ts = tonumber(h[2])\n"
    "if tokens == nil or ts == nil then tokens = burst; ts = now end\n"
    "if now > ts then tokens = tokens + (now - ts) * rate / 1000 end\n"
    "if tokens > burst then tokens = burst end\n"
    "local taken, wait = 0, 0\n"
    "if tokens >= 1 then\n"
    "  tokens = tokens - 1; taken = 1\n"
    "else\n"
    "  wait = math.ceil((1 - tokens) * 1000 / rate)\n"
    "  if wait < 1 then wait = 1 end\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),\n"
    "  'ts', string.format('%.17g', now))\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1)\n"
    "return {taken, wait}\n";

/* SET NX creates the key with its ttl only when absent; GET returns the
 * result as text, exact where a Lua number (a double) might not be. */
static const char incr_lua[] = "redis.call('SET', KEYS[1], '0', 'NX', 'PX', ARGV[2])\n"
                               "redis.call('INCRBY', KEYS[1], ARGV[1])\n"
                               "return redis.call('GET', KEYS[1])\n";

static const char unlock_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                 "  return redis.call('DEL', KEYS[1])\n"
                                 "end\n"
                                 "return 0\n";

static const char extend_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                 "  return redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
                                 "end\n"
                                 "return 0\n";

struct kv_redis {
	struct kv base;
	char *host;
	int port;
	int db;
	char *user;                /* NULL: AUTH with the password alone */
	char *pass;                /* NULL: no AUTH */
	char where[HOST_MAX + 16]; /* "host:port", for messages */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	redisContext *idle[POOL_MAX]; /* under mu */
	int nidle;
	int total; /* idle, in use, and being connected */
};

struct redis_sub {
	struct kv_sub base;
	struct kv_redis *r;
	char *channel;
	kv_message_fn fn;
	void *arg;
	redisContext *c; /* the thread's once it runs */
	pthread_t thread;
	int wake[2]; /* a byte on wake[1] stops the thread */
	atomic_bool stop;
	int64_t last_rx; /* monotonic ms; the thread's own */
	int64_t last_ping;
};

static struct kv_redis *redis_of(struct kv *kv)
{
	return (struct kv_redis *)kv;
}

/* ---- URL ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode %XX escapes of s into a new string in *out; %00 is refused. */
static int pct_decode(struct str s, char **out)
{
	char *p = xmalloc(s.len + 1);
	size_t i, o = 0;
	int rc = -ERR_INVALID;

	for (i = 0; i < s.len; i++) {
		if (s.p[i] != '%') {
			p[o++] = s.p[i];
			continue;
		}
		if (i + 2 >= s.len)
			goto out;
		if (hexval(s.p[i + 1]) < 0 || hexval(s.p[i + 2]) < 0)
			goto out;
		p[o] = (char)(hexval(s.p[i + 1]) * 16 + hexval(s.p[i + 2]));
		if (!p[o++])
			goto out;
		i += 2;
	}
	p[o] = '\0';
	*out = p;
	p = NULL;
	rc = 0;
out:
	free(p);
	return rc;
}

/*
 * Parse redis://[[user]:password@]host[:port][/db] into r. Messages never
 * quote the URL, which may hold a password.
 */
static int parse_url(struct kv_redis *r, const char *url, struct err *e)
{
	struct str s = str_c(url), auth, hostport, host, port = {NULL, 0};
	const char *at;
	int64_t v;
	bool has_path;

	if (!str_starts(s, "redis://"))
		return err_set(e, ERR_INVALID, "kv: url must start with redis://");
	s.p += 8;
	s.len -= 8;
	has_path = str_split(&s, '/', &auth);
	at = memrchr(auth.p, '@', auth.len);
	hostport = auth;
	if (at) {
		struct str userinfo = {auth.p, (size_t)(at - auth.p)}, user;

		hostport.p = at + 1;
		hostport.len = auth.len - userinfo.len - 1;
		if (!str_split(&userinfo, ':', &user))
			return err_set(e, ERR_INVALID, "kv: redis url: expected :password@");
		if (user.len && pct_decode(user, &r->user))
			return err_set(e, ERR_INVALID, "kv: redis url: bad user name");
		if (pct_decode(userinfo, &r->pass))
			return err_set(e, ERR_INVALID, "kv: redis url: bad password");
	}
	if (hostport.len && hostport.p[0] == '[') {
		const char *end = memchr(hostport.p, ']', hostport.len);

		if (!end)
			return err_set(e, ERR_INVALID, "kv: redis url: bad host");
		host = (struct str){hostport.p + 1, (size_t)(end - hostport.p - 1)};
		hostport.len -= (size_t)(end + 1 - hostport.p);
		hostport.p = end + 1;
		if (hostport.len && (hostport.p[0] != ':' || hostport.len == 1))
			return err_set(e, ERR_INVALID, "kv: redis url: bad port");
		if (hostport.len)
			port = (struct str){hostport.p + 1, hostport.len - 1};
	} else {
		const char *colon = memrchr(hostport.p, ':', hostport.len);

		host = hostport;
		if (colon) {
			host.len = (size_t)(colon - hostport.p);
			port = (struct str){colon + 1, hostport.len - host.len - 1};
			if (!port.len)
				return err_set(e, ERR_INVALID, "kv: redis url: bad port");
		}
	}
	if (!host.len || host.len > HOST_MAX || memchr(host.p, '\0', host.len))
		return err_set(e, ERR_INVALID, "kv: redis url: bad host");
	r->host = xstrndup(host.p, host.len);
	r->port = 6379;
	if (port.len) {
		if (str_to_i64(port, 1, 65535, &v))
			return err_set(e, ERR_INVALID, "kv: redis url: bad port");
		r->port = (int)v;
	}
	if (has_path && s.len) {
		if (str_to_i64(s, 0, DB_MAX, &v))
			return err_set(e, ERR_INVALID, "kv: redis url: bad database number");
		r->db = (int)v;
	}
	snprintf(r->where, sizeof(r->where), "%s:%d", r->host, r->port);
	return 0;
}

/* ---- connections ---- */

static struct timeval ms_tv(int ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* What an error reply means to our callers. */
static int reply_error(struct kv_redis *r, const char *what, const redisReply *rep, struct err *e)
{
	static const char *const down[] = {"LOADING", "READONLY", "MASTERDOWN",
	                                   "BUSY",    "TRYAGAIN", "CLUSTERDOWN"};
	struct str s = {rep->str, rep->len};
	int code = ERR_INTERNAL;

	for (size_t i = 0; i < ARRAY_SIZE(down); i++)
		if (str_starts(s, down[i]))
			code = ERR_UNAVAILABLE;
	if (str_starts(s, "NOAUTH") || str_starts(s, "WRONGPASS"))
		code = ERR_AUTH;
	if (str_starts(s, "WRONGTYPE") || strstr(rep->str, "not an integer") ||
	    strstr(rep->str, "overflow"))
		code = ERR_INVALID;
	return err_set(e, code, "%s: redis %s: %.150s", what, r->where, rep->str);
}

/* Run one command on c; an error reply is an error. *out gets the reply. */
static int command(struct kv_redis *r, redisContext *c, const char *what, int argc,
                   const char **argv, const size_t *lens, redisReply **out, struct err *e)
{
	redisReply *rep = redisCommandArgv(c, argc, argv, lens);

	*out = NULL;
	if (!rep) {
		if (!c->err) /* cannot happen when blocking; make sure it is freed */
			c->err = REDIS_ERR_OTHER;
		return err_set(e, ERR_UNAVAILABLE, "%s: redis %s: %s", what, r->where,
		               c->errstr[0] ? c->errstr : "no reply");
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		int rc = reply_error(r, what, rep, e);

		freeReplyObject(rep);
		return rc;
	}
	*out = rep;
	return 0;
}

/*
 * Connect, authenticate and, when select_db, select the database. On success
 * *out is a connection with the command timeout set.
 */
static int redis_connect(struct kv_redis *r, bool select_db, redisContext **out, struct err *e)
{
	redisContext *c = redisConnectWithTimeout(r->host, r->port, ms_tv(CONNECT_TIMEOUT_MS));
	redisReply *rep = NULL;
	char dbtext[16];
	int rc = -ERR_UNAVAILABLE;

	*out = NULL;
	if (!c || c->err) {
		rc = err_set(e, ERR_UNAVAILABLE, "kv: redis %s: cannot connect: %s", r->where,
		             c ? c->errstr : "out of memory");
		goto out;
	}
	if (redisSetTimeout(c, ms_tv(COMMAND_TIMEOUT_MS)) != REDIS_OK) {
		rc = err_set(e, ERR_UNAVAILABLE, "kv: redis %s: cannot set a timeout: %s", r->where,
		             c->errstr);
		goto out;
	}
	(void)redisEnableKeepAlive(c);
	if (r->pass) {
		const char *argv[3] = {"AUTH"};
		size_t lens[3] = {4};
		int n = 1;

		if (r->user) {
			argv[n] = r->user;
			lens[n++] = strlen(r->user);
		}
		argv[n] = r->pass;
		lens[n++] = strlen(r->pass);
		rc = command(r, c, "kv: auth", n, argv, lens, &rep, e);
		if (rc == -ERR_INTERNAL)
			rc = err_set(e, ERR_AUTH, "kv: redis %s: authentication failed", r->where);
		if (rc)
			goto out;
		freeReplyObject(rep);
		rep = NULL;
	}
	if (select_db && r->db) {
		const char *argv[2] = {"SELECT", dbtext};
		size_t lens[2] = {6};

		lens[1] = (size_t)snprintf(dbtext, sizeof(dbtext), "%d", r->db);
		rc = command(r, c, "kv: select", 2, argv, lens, &rep, e);
		if (rc)
			goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (rep)
		freeReplyObject(rep);
	if (c)
		redisFree(c);
	return rc;
}

/* An idle connection has nothing to read: if it has, the server closed it
 * (or broke the protocol), and it is of no use. */
static bool idle_ok(redisContext *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	return !c->err && poll(&p, 1, 0) == 0;
}

/* Take a connection from the pool, or open one. */
static int pool_get(struct kv_redis *r, redisContext **out, struct err *e)
{
	redisContext *c = NULL;
	int rc;

	pthread_mutex_lock(&r->mu);
	while (r->nidle == 0 && r->total >= POOL_MAX)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->nidle)
		c = r->idle[--r->nidle];
	else
		r->total++;
	pthread_mutex_unlock(&r->mu);
	if (c && !idle_ok(c)) {
		redisFree(c); /* and connect in its place, still counted */
		c = NULL;
	}
	if (!c) {
		rc = redis_connect(r, true, &c, e);
		if (rc) {
			pthread_mutex_lock(&r->mu);
			r->total--;
			pthread_cond_signal(&r->cv);
			pthread_mutex_unlock(&r->mu);
			return rc;
		}
	}
	*out = c;
	return 0;
}

/* Give c back; a broken connection is freed, to be opened again later. */
static void pool_put(struct kv_redis *r, redisContext *c)
{
	if (c->err) {
		redisFree(c);
		c = NULL;
	}
	pthread_mutex_lock(&r->mu);
	if (c)
		r->idle[r->nidle++] = c;
	else
		r->total--;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

/* Run one command on a pooled connection. On success *out is the reply,
 * which is not an error reply; the caller frees it. */
static int run(struct kv_redis *r, const char *what, int argc, const char **argv,
               const size_t *lens, redisReply **out, struct err *e)
{
	redisContext *c;
	int rc;

	*out = NULL;
	rc = pool_get(r, &c, e);
	if (rc)
		return rc;
	rc = command(r, c, what, argc, argv, lens, out, e);
	pool_put(r, c);
	return rc;
}

static int unexpected(struct kv_redis *r, const char *what, struct err *e)
{
	return err_set(e, ERR_INTERNAL, "%s: redis %s: unexpected reply", what, r->where);
}

/* Run EVAL script with one key and the given arguments. */
static int eval(struct kv_redis *r, const char *what, const char *script, const char *key,
                int nargs, const char **args, redisReply **out, struct err *e)
{
	const char *argv[8] = {"EVAL", script, "1", key};
	size_t lens[8] = {4, strlen(script), 1, strlen(key)};

	assert(nargs <= 4);
	for (int i = 0; i < nargs; i++) {
		argv[4 + i] = args[i];
		lens[4 + i] = strlen(args[i]);
	}
	return run(r, what, 4 + nargs, argv, lens, out, e);
}

/* ---- the operations ---- */

static void redis_free(struct kv *kv)
{
	struct kv_redis *r = redis_of(kv);

	assert(r->total == r->nidle); /* no call in progress */
	for (int i = 0; i < r->nidle; i++)
		redisFree(r->idle[i]);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	if (r->pass)
		explicit_bzero(r->pass, strlen(r->pass));
	free(r->pass);
	free(r->user);
	free(r->host);
	free(r);
}

static int redis_ping(struct kv *kv, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	const char *argv[] = {"PING"};
	size_t lens[] = {4};
	redisReply *rep;
	int rc = run(r, "kv ping", 1, argv, lens, &rep, e);

	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

static int redis_get(struct kv *kv, const char *key, struct buf *out, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	const char *argv[] = {"GET", key};
	size_t lens[] = {3, strlen(key)};
	redisReply *rep = NULL;
	int rc = run(r, "kv get", 2, argv, lens, &rep, e);

	if (rc)
		goto out;
	if (rep->type == REDIS_REPLY_NIL) {
		rc = err_set(e, ERR_NOT_FOUND, "kv get %.100s: not found", key);
	} else if (rep->type != REDIS_REPLY_STRING) {
		rc = unexpected(r, "kv get", e);
	} else {
		rc = buf_add(out, rep->str, rep->len);
		if (rc)
			rc = err_set(e, rc, "kv get %.100s: value of %zu bytes does not fit", key,
			             rep->len);
	}
out:
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static int redis_set(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
                     bool nx, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	const char *argv[6] = {"SET", key, val ? val : ""};
	size_t lens[6] = {3, strlen(key), len};
	char ttl[24];
	redisReply *rep = NULL;
	int argc = 3, rc;

	if (nx) {
		argv[argc] = "NX";
		lens[argc++] = 2;
	}
	if (ttl_ms) {
		argv[argc] = "PX";
		lens[argc++] = 2;
		argv[argc] = ttl;
		lens[argc++] = (size_t)snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms);
	}
	rc = run(r, "kv set", argc, argv, lens, &rep, e);
	if (rc)
		goto out;
	if (rep->type == REDIS_REPLY_NIL && nx)
		rc = err_set(e, ERR_EXISTS, "kv set %.100s: exists", key);
	else if (rep->type != REDIS_REPLY_STATUS)
		rc = unexpected(r, "kv set", e);
out:
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static int redis_del(struct kv *kv, const char *key, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	const char *argv[] = {"DEL", key};
	size_t lens[] = {3, strlen(key)};
	redisReply *rep;
	int rc = run(r, "kv del", 2, argv, lens, &rep, e);

	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

static int redis_incr(struct kv *kv, const char *key, int64_t by, int64_t ttl_ms, int64_t *out,
                      struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	char bytext[24], ttltext[24];
	redisReply *rep = NULL;
	int rc;

	snprintf(bytext, sizeof(bytext), "%" PRId64, by);
	if (ttl_ms == 0) {
		const char *argv[] = {"INCRBY", key, bytext};
		size_t lens[] = {6, strlen(key), strlen(bytext)};

		rc = run(r, "kv incr", 3, argv, lens, &rep, e);
		if (rc)
			goto out;
		if (rep->type != REDIS_REPLY_INTEGER)
			rc = unexpected(r, "kv incr", e);
		else
			*out = rep->integer;
	} else {
		const char *args[] = {bytext, ttltext};

		snprintf(ttltext, sizeof(ttltext), "%" PRId64, ttl_ms);
		rc = eval(r, "kv incr", incr_lua, key, 2, args, &rep, e);
		if (rc)
			goto out;
		if (rep->type != REDIS_REPLY_STRING ||
		    str_to_i64((struct str){rep->str, rep->len}, INT64_MIN, INT64_MAX, out))
			rc = unexpected(r, "kv incr", e);
	}
out:
	if (rep)
		freeReplyObject(rep);
	return rc;
}

/* Run a compare-and-something script; 0 when the lock was held with token. */
static int lock_script(struct kv_redis *r, const char *what, const char *script, const char *key,
                       const char *token, const char *ttl, struct err *e)
{
	const char *args[] = {token, ttl};
	redisReply *rep = NULL;
	int rc = eval(r, what, script, key, ttl ? 2 : 1, args, &rep, e);

	if (rc)
		goto out;
	if (rep->type != REDIS_REPLY_INTEGER)
		rc = unexpected(r, what, e);
	else if (rep->integer != 1)
		rc = err_set(e, ERR_NOT_FOUND, "%s %.100s: not held with this token", what, key);
out:
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static int redis_unlock(struct kv *kv, const char *key, const char *token, struct err *e)
{
	return lock_script(redis_of(kv), "kv unlock", unlock_lua, key, token, NULL, e);
}

static int redis_extend(struct kv *kv, const char *key, const char *token, int64_t ttl_ms,
                        struct err *e)
{
	char ttl[24];

	snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_ms);
	return lock_script(redis_of(kv), "kv lock extend", extend_lua, key, token, ttl, e);
}

static int redis_take(struct kv *kv, const char *bucket, double rate, double burst,
                      int64_t *wait_ms, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	char ratetext[32], bursttext[32];
	const char *args[] = {ratetext, bursttext};
	redisReply *rep = NULL;
	int rc;

	snprintf(ratetext, sizeof(ratetext), "%.17g", rate);
	snprintf(bursttext, sizeof(bursttext), "%.17g", burst);
	rc = eval(r, "kv take", take_lua, bucket, 2, args, &rep, e);
	if (rc)
		goto out;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER) {
		rc = unexpected(r, "kv take", e);
		goto out;
	}
	if (rep->element[0]->integer != 1) {
		*wait_ms = rep->element[1]->integer;
		rc = err_set(e, ERR_BUSY, "kv take %.100s: rate limited for %lld ms", bucket,
		             (long long)*wait_ms);
	}
out:
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static int redis_publish(struct kv *kv, const char *channel, const void *msg, size_t len,
                         struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	const char *argv[] = {"PUBLISH", channel, msg ? msg : ""};
	size_t lens[] = {7, strlen(channel), len};
	redisReply *rep;
	int rc = run(r, "kv publish", 3, argv, lens, &rep, e);

	if (rc == 0)
		freeReplyObject(rep);
	return rc;
}

/* ---- subscriptions ---- */

static bool is_str(const redisReply *rep, const char *s)
{
	return (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) &&
	       str_eqc((struct str){rep->str, rep->len}, s);
}

/* A connection subscribed to channel, the subscription confirmed. */
static int sub_connect(struct kv_redis *r, const char *channel, redisContext **out, struct err *e)
{
	const char *argv[] = {"SUBSCRIBE", channel};
	size_t lens[] = {9, strlen(channel)};
	redisContext *c = NULL;
	redisReply *rep = NULL;
	int rc;

	*out = NULL;
	rc = redis_connect(r, false, &c, e);
	if (rc)
		goto out;
	rc = command(r, c, "kv subscribe", 2, argv, lens, &rep, e);
	if (rc)
		goto out;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    !is_str(rep->element[0], "subscribe")) {
		rc = unexpected(r, "kv subscribe", e);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	if (rep)
		freeReplyObject(rep);
	if (c)
		redisFree(c);
	return rc;
}

/* Wait up to ms for the stop byte; true when it is time to stop. */
static bool sub_sleep(struct redis_sub *s, int64_t ms)
{
	struct pollfd p = {.fd = s->wake[0], .events = POLLIN};

	if (!atomic_load(&s->stop))
		(void)poll(&p, 1, (int)ms);
	return atomic_load(&s->stop);
}

static void sub_deliver(struct redis_sub *s, const redisReply *rep)
{
	/* ["message", channel, payload]; anything else (a PING's answer) is
	 * only a sign of life. */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	    is_str(rep->element[0], "message") && rep->element[2]->type == REDIS_REPLY_STRING)
		s->fn(s->arg, s->channel, rep->element[2]->str, rep->element[2]->len);
}

static int sub_ping(struct redis_sub *s)
{
	int done = 0;

	if (redisAppendCommand(s->c, "PING") != REDIS_OK)
		return -ERR_UNAVAILABLE;
	while (!done)
		if (redisBufferWrite(s->c, &done) != REDIS_OK)
			return -ERR_UNAVAILABLE;
	return 0;
}

/*
 * Deliver what arrives on s->c until the connection fails (-ERR_UNAVAILABLE)
 * or stop is set (0).
 */
static int sub_read(struct redis_sub *s)
{
	s->last_rx = s->last_ping = clock_mono_ms();
	while (!atomic_load(&s->stop)) {
		struct pollfd p[2] = {{.fd = s->c->fd, .events = POLLIN},
		                      {.fd = s->wake[0], .events = POLLIN}};
		void *reply = NULL;
		int64_t now;

		if (redisGetReplyFromReader(s->c, &reply) != REDIS_OK)
			return -ERR_UNAVAILABLE;
		if (reply) {
			sub_deliver(s, reply);
			freeReplyObject(reply);
			continue;
		}
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return -ERR_UNAVAILABLE;
		now = clock_mono_ms();
		if (p[0].revents) {
			if (redisBufferRead(s->c) != REDIS_OK)
				return -ERR_UNAVAILABLE;
			s->last_rx = now;
			continue;
		}
		if (now - s->last_rx >= SUB_DEAD_IDLE_MS)
			return -ERR_UNAVAILABLE;
		if (now - s->last_rx >= SUB_PING_IDLE_MS &&
		    now - s->last_ping >= SUB_PING_IDLE_MS) {
			s->last_ping = now;
			if (sub_ping(s))
				return -ERR_UNAVAILABLE;
		}
	}
	return 0;
}

static void *sub_main(void *arg)
{
	struct redis_sub *s = arg;
	int64_t backoff = SUB_BACKOFF_MIN_MS;
	struct err e;

	while (!atomic_load(&s->stop)) {
		if (!s->c) {
			if (sub_connect(s->r, s->channel, &s->c, &e)) {
				/* Warn once per outage, not at every try. */
				log_at(backoff == SUB_BACKOFF_MIN_MS ? LOG_WARN : LOG_DEBUG,
				       "msg=\"kv subscription cannot reconnect\" channel=%.100s "
				       "retry_ms=%" PRId64 " err=\"%s\"",
				       s->channel, backoff, e.msg);
				if (sub_sleep(s, backoff))
					break;
				backoff = backoff * 2 > SUB_BACKOFF_MAX_MS ? SUB_BACKOFF_MAX_MS
				                                           : backoff * 2;
				continue;
			}
			backoff = SUB_BACKOFF_MIN_MS;
			log_info("msg=\"kv subscription restored\" channel=%.100s", s->channel);
		}
		if (sub_read(s) == 0)
			break;
		log_warn("msg=\"kv subscription lost its connection\" channel=%.100s redis=%s "
		         "err=\"%s\"",
		         s->channel, s->r->where, s->c->err ? s->c->errstr : "no answer");
		redisFree(s->c);
		s->c = NULL;
		if (sub_sleep(s, backoff))
			break;
	}
	return NULL;
}

static void sub_destroy(struct redis_sub *s)
{
	if (s->c)
		redisFree(s->c);
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	free(s->channel);
	free(s);
}

static int redis_subscribe(struct kv *kv, const char *channel, kv_message_fn fn, void *arg,
                           struct kv_sub **out, struct err *e)
{
	struct kv_redis *r = redis_of(kv);
	struct redis_sub *s = xcalloc(1, sizeof(*s));
	int rc;

	s->base.kv = kv;
	s->r = r;
	s->channel = xstrdup(channel);
	s->fn = fn;
	s->arg = arg;
	s->wake[0] = s->wake[1] = -1;
	atomic_init(&s->stop, false);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = err_set(e, ERR_IO, "kv subscribe: pipe: %s", strerror(errno));
		goto out;
	}
	/* Subscribed before we return, so a publish right after is seen. */
	rc = sub_connect(r, channel, &s->c, e);
	if (rc)
		goto out;
	rc = pthread_create(&s->thread, NULL, sub_main, s);
	if (rc) {
		rc = err_set(e, ERR_IO, "kv subscribe: cannot start a thread: %s", strerror(rc));
		goto out;
	}
	*out = &s->base;
	s = NULL;
out:
	if (s)
		sub_destroy(s);
	return rc;
}

static void redis_sub_free(struct kv_sub *sub)
{
	struct redis_sub *s = (struct redis_sub *)sub;
	ssize_t n;

	/* From its own callback this would wait for itself forever. */
	assert(!pthread_equal(pthread_self(), s->thread));
	atomic_store(&s->stop, true);
	n = write(s->wake[1], "", 1);
	(void)n; /* the pipe can only be full when a byte is there already */
	pthread_join(s->thread, NULL);
	sub_destroy(s);
}

static const struct kv_ops redis_ops = {
    .name = "redis",
    .free = redis_free,
    .ping = redis_ping,
    .get = redis_get,
    .set = redis_set,
    .del = redis_del,
    .incr = redis_incr,
    .unlock = redis_unlock,
    .extend = redis_extend,
    .publish = redis_publish,
    .subscribe = redis_subscribe,
    .sub_free = redis_sub_free,
    .take = redis_take,
};

int kv_redis_open(struct kv **out, const char *url, struct err *e)
{
	struct kv_redis *r = xcalloc(1, sizeof(*r));
	int rc;

	r->base.ops = &redis_ops;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	rc = parse_url(r, url, e);
	if (rc) {
		redis_free(&r->base);
		return rc;
	}
	*out = &r->base;
	return 0;
}
