/*
 * test_kv: the kv interface, the same cases against the memory backend and
 * against Redis (HERALD_TEST_REDIS, set by tests/servers.py), plus what only
 * Redis has: an unreachable server, URLs, two handles as two nodes, a server
 * that restarts under a live subscription.
 */
#include "kv/kv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto.h"

extern char **environ;

static char run_id[16];       /* prefixes every key, so runs never collide */
static const char *redis_url; /* NULL: Redis tests skipped */

static void mkkey(char *out, size_t n, const char *name)
{
	int w = snprintf(out, n, "test:%s:%s", run_id, name);

	assert_true(w > 0 && (size_t)w < n);
}

#define KEY(var, name)                                                                             \
	char var[128];                                                                             \
	mkkey(var, sizeof(var), name)

static struct kv *open_kv(const char *url)
{
	struct kv *kv = NULL;
	struct err e = {0};

	assert_int_equal(kv_open(&kv, url, &e), 0);
	assert_non_null(kv);
	return kv;
}

static int setup_mem(void **state)
{
	*state = open_kv(NULL);
	assert_string_equal(kv_backend(*state), "memory");
	return 0;
}

static int setup_redis(void **state)
{
	struct err e = {0};

	*state = open_kv(redis_url);
	assert_string_equal(kv_backend(*state), "redis");
	assert_int_equal(kv_ping(*state, &e), 0);
	return 0;
}

static int teardown(void **state)
{
	kv_free(*state);
	return 0;
}

/* Assert key holds exactly len bytes of want. */
static void check_value(struct kv *kv, const char *key, const void *want, size_t len)
{
	struct buf b;
	struct err e = {0};

	buf_init(&b, 1 << 20);
	assert_int_equal(kv_get(kv, key, &b, &e), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.p, want, len);
	buf_release(&b);
}

static void check_absent(struct kv *kv, const char *key)
{
	struct buf b;
	struct err e = {0};

	buf_init(&b, 1 << 20);
	assert_int_equal(kv_get(kv, key, &b, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void test_get_set_del(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	struct buf b;
	KEY(k, "gsd");
	KEY(absent, "gsd-absent");

	check_absent(kv, absent);
	assert_int_equal(kv_set(kv, k, "v1", 2, 0, &e), 0);
	check_value(kv, k, "v1", 2);
	assert_int_equal(kv_set(kv, k, "value2", 6, 0, &e), 0);
	check_value(kv, k, "value2", 6);

	/* kv_get appends. */
	buf_init(&b, 100);
	assert_int_equal(buf_adds(&b, "x="), 0);
	assert_int_equal(kv_get(kv, k, &b, &e), 0);
	assert_string_equal(b.p, "x=value2");
	buf_release(&b);

	/* A value bigger than the buffer's bound is refused. */
	buf_init(&b, 3);
	assert_int_equal(kv_get(kv, k, &b, &e), -ERR_TOO_BIG);
	buf_release(&b);

	assert_int_equal(kv_del(kv, k, &e), 0);
	check_absent(kv, k);
	assert_int_equal(kv_del(kv, k, &e), 0);
}

static void test_binary(void **state)
{
	static const char val[] = {'a', '\0', 'b', '\0', '\xff', '\r', '\n'};
	struct kv *kv = *state;
	struct err e = {0};
	KEY(k, "bin");
	KEY(empty, "bin-empty");

	assert_int_equal(kv_set(kv, k, val, sizeof(val), 0, &e), 0);
	check_value(kv, k, val, sizeof(val));
	assert_int_equal(kv_set(kv, empty, "", 0, 0, &e), 0);
	check_value(kv, empty, "", 0);
}

static void test_expiry(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	KEY(k, "exp");
	KEY(keep, "exp-keep");

	assert_int_equal(kv_set(kv, k, "soon", 4, 100, &e), 0);
	assert_int_equal(kv_set(kv, keep, "stay", 4, 0, &e), 0);
	check_value(kv, k, "soon", 4);
	clock_sleep_ms(250);
	check_absent(kv, k);
	check_value(kv, keep, "stay", 4);
	/* Setting again without a ttl removes the old expiry. */
	assert_int_equal(kv_set(kv, k, "a", 1, 100, &e), 0);
	assert_int_equal(kv_set(kv, k, "b", 1, 0, &e), 0);
	clock_sleep_ms(250);
	check_value(kv, k, "b", 1);
}

static void test_set_nx(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	KEY(k, "nx");
	KEY(t, "nx-ttl");

	assert_int_equal(kv_set_nx(kv, k, "first", 5, 0, &e), 0);
	assert_int_equal(kv_set_nx(kv, k, "second", 6, 0, &e), -ERR_EXISTS);
	assert_int_equal(e.code, ERR_EXISTS);
	check_value(kv, k, "first", 5);

	/* An expired key is absent. */
	assert_int_equal(kv_set_nx(kv, t, "a", 1, 100, &e), 0);
	assert_int_equal(kv_set_nx(kv, t, "b", 1, 100, &e), -ERR_EXISTS);
	clock_sleep_ms(250);
	assert_int_equal(kv_set_nx(kv, t, "c", 1, 0, &e), 0);
	check_value(kv, t, "c", 1);
}

static void test_incr(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	int64_t v = -1;
	KEY(k, "incr");
	KEY(text, "incr-text");

	assert_int_equal(kv_incr(kv, k, 5, 0, &v, &e), 0);
	assert_int_equal(v, 5);
	assert_int_equal(kv_incr(kv, k, -7, 0, &v, &e), 0);
	assert_int_equal(v, -2);
	check_value(kv, k, "-2", 2);

	assert_int_equal(kv_set(kv, k, "40", 2, 0, &e), 0);
	assert_int_equal(kv_incr(kv, k, 2, 0, &v, &e), 0);
	assert_int_equal(v, 42);

	assert_int_equal(kv_set(kv, text, "abc", 3, 0, &e), 0);
	v = 7;
	assert_int_equal(kv_incr(kv, text, 1, 0, &v, &e), -ERR_INVALID);
	assert_int_equal(kv_incr(kv, text, 1, 1000, &v, &e), -ERR_INVALID);
	assert_int_equal(v, 7);
	check_value(kv, text, "abc", 3);

	assert_int_equal(kv_set(kv, k, "9223372036854775807", 19, 0, &e), 0);
	assert_int_equal(kv_incr(kv, k, 1, 0, &v, &e), -ERR_INVALID);
}

static void test_incr_ttl(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	int64_t v = 0;
	KEY(k, "incr-ttl");

	assert_int_equal(kv_incr(kv, k, 1, 200, &v, &e), 0);
	assert_int_equal(v, 1);
	/* Only the call that creates the key sets its ttl. */
	assert_int_equal(kv_incr(kv, k, 1, 60000, &v, &e), 0);
	assert_int_equal(v, 2);
	check_value(kv, k, "2", 1);
	clock_sleep_ms(400);
	check_absent(kv, k);
	assert_int_equal(kv_incr(kv, k, 3, 0, &v, &e), 0);
	assert_int_equal(v, 3);
	clock_sleep_ms(250);
	check_value(kv, k, "3", 1);
}

#define INCR_THREADS 8
#define INCR_EACH    500

struct incr_job {
	struct kv *kv;
	const char *key;
	int64_t got[INCR_EACH];
	int failures;
};

static void *incr_main(void *arg)
{
	struct incr_job *j = arg;
	struct err e;

	for (int i = 0; i < INCR_EACH; i++)
		if (kv_incr(j->kv, j->key, 1, 60000, &j->got[i], &e) != 0)
			j->failures++;
	return NULL;
}

static void test_incr_concurrent(void **state)
{
	static struct incr_job jobs[INCR_THREADS];
	static bool seen[INCR_THREADS * INCR_EACH + 1];
	pthread_t th[INCR_THREADS];
	int64_t v = 0;
	struct err e;
	KEY(k, "incr-conc");

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < INCR_THREADS; i++) {
		jobs[i] = (struct incr_job){.kv = *state, .key = k};
		assert_int_equal(pthread_create(&th[i], NULL, incr_main, &jobs[i]), 0);
	}
	for (int i = 0; i < INCR_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Every result from 1 to the total came back exactly once. */
	for (int i = 0; i < INCR_THREADS; i++) {
		assert_int_equal(jobs[i].failures, 0);
		for (int n = 0; n < INCR_EACH; n++) {
			int64_t g = jobs[i].got[n];

			assert_true(g >= 1 && g <= INCR_THREADS * INCR_EACH);
			assert_false(seen[g]);
			seen[g] = true;
		}
	}
	assert_int_equal(kv_incr(*state, k, 0, 0, &v, &e), 0);
	assert_int_equal(v, INCR_THREADS * INCR_EACH);
}

static void test_lock(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	char tok[KV_TOKEN_SIZE], tok2[KV_TOKEN_SIZE], other[KV_TOKEN_SIZE];
	KEY(k, "lock");

	assert_int_equal(kv_lock(kv, k, 5000, tok, &e), 0);
	assert_int_equal(strlen(tok), KV_TOKEN_SIZE - 1);
	assert_int_equal(kv_lock(kv, k, 5000, tok2, &e), -ERR_BUSY);
	assert_int_equal(e.code, ERR_BUSY);

	memcpy(other, tok, sizeof(other));
	other[0] = other[0] == 'A' ? 'B' : 'A';
	assert_int_equal(kv_unlock(kv, k, other, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_lock_extend(kv, k, other, 5000, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_lock(kv, k, 5000, tok2, &e), -ERR_BUSY); /* still held */

	assert_int_equal(kv_lock_extend(kv, k, tok, 5000, &e), 0);
	assert_int_equal(kv_unlock(kv, k, tok, &e), 0);
	assert_int_equal(kv_unlock(kv, k, tok, &e), -ERR_NOT_FOUND);

	assert_int_equal(kv_lock(kv, k, 5000, tok2, &e), 0);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(kv_unlock(kv, k, tok, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_unlock(kv, k, tok2, &e), 0);

	assert_int_equal(kv_lock(kv, k, 0, tok, &e), -ERR_INVALID);
	assert_int_equal(kv_unlock(kv, k, "short", &e), -ERR_INVALID);
}

static void test_lock_expiry(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	char tok[KV_TOKEN_SIZE], tok2[KV_TOKEN_SIZE];
	KEY(k, "lock-exp");

	assert_int_equal(kv_lock(kv, k, 100, tok, &e), 0);
	clock_sleep_ms(250);
	assert_int_equal(kv_lock_extend(kv, k, tok, 1000, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_lock(kv, k, 5000, tok2, &e), 0);
	assert_int_equal(kv_unlock(kv, k, tok, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_unlock(kv, k, tok2, &e), 0);
}

static void test_lock_extend(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	char tok[KV_TOKEN_SIZE], tok2[KV_TOKEN_SIZE];
	KEY(k, "lock-ext");

	assert_int_equal(kv_lock(kv, k, 150, tok, &e), 0);
	clock_sleep_ms(50);
	assert_int_equal(kv_lock_extend(kv, k, tok, 1000, &e), 0);
	clock_sleep_ms(250); /* past the first ttl */
	assert_int_equal(kv_lock(kv, k, 5000, tok2, &e), -ERR_BUSY);
	assert_int_equal(kv_unlock(kv, k, tok, &e), 0);
}

/* ---- pub/sub ---- */

#define INBOX_MAX 16

struct inbox {
	pthread_mutex_t mu;
	int n;
	struct {
		char data[64];
		size_t len;
		char channel[128];
	} msgs[INBOX_MAX];
	pthread_t publisher;
	bool on_publisher_thread;
};

static void inbox_init(struct inbox *in)
{
	memset(in, 0, sizeof(*in));
	pthread_mutex_init(&in->mu, NULL);
	in->publisher = pthread_self();
}

static void on_message(void *arg, const char *channel, const void *msg, size_t len)
{
	struct inbox *in = arg;

	pthread_mutex_lock(&in->mu);
	if (pthread_equal(pthread_self(), in->publisher))
		in->on_publisher_thread = true;
	if (in->n < INBOX_MAX) {
		size_t n = len < sizeof(in->msgs[0].data) ? len : sizeof(in->msgs[0].data);

		memcpy(in->msgs[in->n].data, msg, n);
		in->msgs[in->n].len = len;
		snprintf(in->msgs[in->n].channel, sizeof(in->msgs[0].channel), "%s", channel);
	}
	in->n++;
	pthread_mutex_unlock(&in->mu);
}

static int inbox_count(struct inbox *in)
{
	int n;

	pthread_mutex_lock(&in->mu);
	n = in->n;
	pthread_mutex_unlock(&in->mu);
	return n;
}

/* Wait until in has at least n messages or timeout_ms passed. */
static int inbox_wait(struct inbox *in, int n, int64_t timeout_ms)
{
	int64_t end = clock_mono_ms() + timeout_ms;

	while (inbox_count(in) < n && clock_mono_ms() < end)
		clock_sleep_ms(5);
	return inbox_count(in);
}

static void check_msg(struct inbox *in, int i, const char *channel, const void *data, size_t len)
{
	assert_true(i < in->n);
	assert_string_equal(in->msgs[i].channel, channel);
	assert_int_equal(in->msgs[i].len, len);
	assert_memory_equal(in->msgs[i].data, data, len);
}

static void test_pubsub(void **state)
{
	static const char bin[] = {'t', '\0', 'w', '\xff', 'o'};
	struct kv *kv = *state;
	struct err e = {0};
	struct inbox a, b;
	struct kv_sub *sa = NULL, *sb = NULL;
	KEY(ch, "chan");
	KEY(other, "chan-other");

	inbox_init(&a);
	inbox_init(&b);
	assert_int_equal(kv_publish(kv, ch, "before", 6, &e), 0);
	assert_int_equal(kv_subscribe(kv, ch, on_message, &a, &sa, &e), 0);
	assert_non_null(sa);
	assert_int_equal(kv_publish(kv, ch, "one", 3, &e), 0);
	assert_int_equal(kv_publish(kv, other, "elsewhere", 9, &e), 0);
	assert_int_equal(kv_publish(kv, ch, bin, sizeof(bin), &e), 0);
	assert_int_equal(kv_publish(kv, ch, "three", 5, &e), 0);
	assert_int_equal(inbox_wait(&a, 3, 3000), 3);
	clock_sleep_ms(100); /* nothing else arrives */
	assert_int_equal(inbox_count(&a), 3);
	check_msg(&a, 0, ch, "one", 3);
	check_msg(&a, 1, ch, bin, sizeof(bin));
	check_msg(&a, 2, ch, "three", 5);
	assert_false(a.on_publisher_thread);

	/* Two subscribers both receive. */
	assert_int_equal(kv_subscribe(kv, ch, on_message, &b, &sb, &e), 0);
	assert_int_equal(kv_publish(kv, ch, "four", 4, &e), 0);
	assert_int_equal(inbox_wait(&a, 4, 3000), 4);
	assert_int_equal(inbox_wait(&b, 1, 3000), 1);
	check_msg(&a, 3, ch, "four", 4);
	check_msg(&b, 0, ch, "four", 4);

	/* After kv_sub_free, no more calls. */
	kv_sub_free(sa);
	assert_int_equal(kv_publish(kv, ch, "five", 4, &e), 0);
	assert_int_equal(inbox_wait(&b, 2, 3000), 2);
	check_msg(&b, 1, ch, "five", 4);
	clock_sleep_ms(100);
	assert_int_equal(inbox_count(&a), 4);
	kv_sub_free(sb);
	assert_false(b.on_publisher_thread);
	pthread_mutex_destroy(&a.mu);
	pthread_mutex_destroy(&b.mu);
}

/* Many messages in a burst arrive all and in order. */
static void test_pubsub_order(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	struct inbox in;
	struct kv_sub *s = NULL;
	char msg[16];
	KEY(ch, "chan-order");

	inbox_init(&in);
	assert_int_equal(kv_subscribe(kv, ch, on_message, &in, &s, &e), 0);
	for (int i = 0; i < INBOX_MAX; i++) {
		int n = snprintf(msg, sizeof(msg), "m%d", i);

		assert_int_equal(kv_publish(kv, ch, msg, (size_t)n, &e), 0);
	}
	assert_int_equal(inbox_wait(&in, INBOX_MAX, 3000), INBOX_MAX);
	kv_sub_free(s);
	for (int i = 0; i < INBOX_MAX; i++) {
		int n = snprintf(msg, sizeof(msg), "m%d", i);

		check_msg(&in, i, ch, msg, (size_t)n);
	}
	pthread_mutex_destroy(&in.mu);
}

/* ---- token bucket ---- */

static void test_take(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	int64_t wait = -1;
	KEY(bk, "bucket");

	for (int i = 0; i < 5; i++) {
		assert_int_equal(kv_take(kv, bk, 10, 5, &wait, &e), 0);
		assert_int_equal(wait, 0);
	}
	assert_int_equal(kv_take(kv, bk, 10, 5, &wait, &e), -ERR_BUSY);
	assert_int_equal(e.code, ERR_BUSY);
	assert_true(wait > 0 && wait <= 100);
	clock_sleep_ms(wait + 10);
	assert_int_equal(kv_take(kv, bk, 10, 5, NULL, &e), 0);
	assert_int_equal(kv_take(kv, bk, 10, 5, NULL, &e), -ERR_BUSY);

	assert_int_equal(kv_take(kv, bk, 0, 5, &wait, &e), -ERR_INVALID);
	assert_int_equal(kv_take(kv, bk, 10, 0.5, &wait, &e), -ERR_INVALID);
}

#define TAKE_THREADS 4
#define TAKE_RATE    50.0
#define TAKE_BURST   5.0
#define TAKE_RUN_MS  400

struct take_job {
	struct kv *kv;
	const char *bucket;
	int taken;
	int errors;
};

static void *take_main(void *arg)
{
	struct take_job *j = arg;
	int64_t end = clock_mono_ms() + TAKE_RUN_MS;
	struct err e;

	while (clock_mono_ms() < end) {
		int rc = kv_take(j->kv, j->bucket, TAKE_RATE, TAKE_BURST, NULL, &e);

		if (rc == 0)
			j->taken++;
		else if (rc != -ERR_BUSY)
			j->errors++;
		clock_sleep_ms(1);
	}
	return NULL;
}

static void test_take_concurrent(void **state)
{
	struct take_job jobs[TAKE_THREADS];
	pthread_t th[TAKE_THREADS];
	int64_t start, elapsed;
	int total = 0;
	KEY(bk, "bucket-conc");

	start = clock_mono_us();
	for (int i = 0; i < TAKE_THREADS; i++) {
		jobs[i] = (struct take_job){.kv = *state, .bucket = bk};
		assert_int_equal(pthread_create(&th[i], NULL, take_main, &jobs[i]), 0);
	}
	for (int i = 0; i < TAKE_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(jobs[i].errors, 0);
		total += jobs[i].taken;
	}
	elapsed = clock_mono_us() - start;
	assert_true(total <= TAKE_BURST + TAKE_RATE * (double)elapsed / 1e6);
	/* The refill happened too: well over the burst was taken. */
	assert_true(total >= TAKE_BURST + 5);
}

static void test_bad_args(void **state)
{
	struct kv *kv = *state;
	struct err e = {0};
	struct buf b;
	char longkey[2000];
	KEY(k, "bad");

	buf_init(&b, 100);
	assert_int_equal(kv_get(kv, "", &b, &e), -ERR_INVALID);
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(kv_get(kv, longkey, &b, &e), -ERR_TOO_BIG);
	assert_int_equal(kv_set(kv, k, "v", 1, -1, &e), -ERR_INVALID);
	assert_int_equal(kv_set(kv, k, NULL, 1, 0, &e), -ERR_INVALID);
	buf_release(&b);
}

/* ---- Redis only ---- */

static void test_redis_unreachable(void **state)
{
	struct kv *kv = NULL;
	struct kv_sub *sub = (struct kv_sub *)&sub;
	struct err e = {0};
	struct buf b;
	int64_t start;
	struct inbox in;

	(void)state;
	assert_int_equal(kv_open(&kv, "redis://:s3cretpw@127.0.0.1:1/2", &e), 0);
	start = clock_mono_ms();
	assert_int_equal(kv_ping(kv, &e), -ERR_UNAVAILABLE);
	assert_true(clock_mono_ms() - start < 1500);
	assert_int_equal(e.code, ERR_UNAVAILABLE);
	assert_null(strstr(e.msg, "s3cretpw"));
	assert_non_null(strstr(e.msg, "127.0.0.1:1"));

	buf_init(&b, 100);
	assert_int_equal(kv_get(kv, "k", &b, &e), -ERR_UNAVAILABLE);
	assert_int_equal(kv_set(kv, "k", "v", 1, 0, &e), -ERR_UNAVAILABLE);
	assert_int_equal(kv_publish(kv, "c", "m", 1, &e), -ERR_UNAVAILABLE);
	inbox_init(&in);
	assert_int_equal(kv_subscribe(kv, "c", on_message, &in, &sub, &e), -ERR_UNAVAILABLE);
	assert_null(sub);
	assert_null(strstr(e.msg, "s3cretpw"));
	buf_release(&b);
	kv_free(kv);
}

static void test_redis_urls(void **state)
{
	static const char *const bad[] = {
	    "http://127.0.0.1",    "redis://",
	    "redis:///0",          "redis://host:",
	    "redis://host:0",      "redis://host:65536",
	    "redis://host:12x",    "redis://host/abc",
	    "redis://host/1/2",    "redis://s3cretpw@host",
	    "redis://:pw%zz@host", "redis://[::1",
	    "redis://[::1]x",
	};
	static const char *const good[] = {
	    "redis://host",
	    "redis://host:6380/",
	    "redis://:pw@host:6380/3",
	    "redis://user:p%40w@host",
	    "redis://[::1]:6379/1",
	    "redis://:a:b@c@host",
	};
	struct kv *kv;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kv = (struct kv *)&kv;
		memset(&e, 0, sizeof(e));
		assert_int_equal(kv_open(&kv, bad[i], &e), -ERR_INVALID);
		assert_null(kv);
		assert_null(strstr(e.msg, "s3cretpw"));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(kv_open(&kv, good[i], &e), 0);
		assert_string_equal(kv_backend(kv), "redis");
		kv_free(kv);
	}
}

/* Two handles are two nodes: they share keys, locks, messages, buckets. */
static void test_redis_two_nodes(void **state)
{
	struct kv *a = *state, *b = open_kv(redis_url);
	struct err e = {0};
	char tok[KV_TOKEN_SIZE], tok2[KV_TOKEN_SIZE];
	int64_t v = 0, wait = 0;
	struct inbox in;
	struct kv_sub *sub = NULL;
	KEY(k, "nodes");
	KEY(lk, "nodes-lock");
	KEY(ck, "nodes-count");
	KEY(ch, "nodes-chan");
	KEY(bk, "nodes-bucket");

	assert_int_equal(kv_set(a, k, "from a", 6, 0, &e), 0);
	check_value(b, k, "from a", 6);
	assert_int_equal(kv_del(b, k, &e), 0);
	check_absent(a, k);

	assert_int_equal(kv_lock(a, lk, 5000, tok, &e), 0);
	assert_int_equal(kv_lock(b, lk, 5000, tok2, &e), -ERR_BUSY);
	assert_int_equal(kv_unlock(b, lk, tok, &e), 0); /* the token is the proof */
	assert_int_equal(kv_lock(b, lk, 5000, tok2, &e), 0);
	assert_int_equal(kv_unlock(a, lk, tok, &e), -ERR_NOT_FOUND);
	assert_int_equal(kv_unlock(b, lk, tok2, &e), 0);

	assert_int_equal(kv_incr(a, ck, 2, 0, &v, &e), 0);
	assert_int_equal(kv_incr(b, ck, 3, 0, &v, &e), 0);
	assert_int_equal(v, 5);

	inbox_init(&in);
	assert_int_equal(kv_subscribe(b, ch, on_message, &in, &sub, &e), 0);
	assert_int_equal(kv_publish(a, ch, "hello b", 7, &e), 0);
	assert_int_equal(inbox_wait(&in, 1, 3000), 1);
	check_msg(&in, 0, ch, "hello b", 7);
	kv_sub_free(sub);
	pthread_mutex_destroy(&in.mu);

	for (int i = 0; i < 3; i++)
		assert_int_equal(kv_take(a, bk, 1, 3, &wait, &e), 0);
	assert_int_equal(kv_take(b, bk, 1, 3, &wait, &e), -ERR_BUSY);
	assert_true(wait > 0 && wait <= 1000);
	kv_free(b);
}

/* A redis-server of the test's own, which it can stop and start. */
struct own_redis {
	int port;
	pid_t pid;
};

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static bool port_open(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static bool own_redis_start(struct own_redis *r)
{
	char port[16];
	char *argv[] = {"redis-server", "--bind", "127.0.0.1",     "--port", port, "--save", "",
	                "--appendonly", "no",     "--requirepass", "pw:x@y", NULL};
	posix_spawn_file_actions_t fa;
	int64_t end;
	int rc;

	snprintf(port, sizeof(port), "%d", r->port);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&r->pid, "redis-server", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return false;
	for (end = clock_mono_ms() + 5000; clock_mono_ms() < end; clock_sleep_ms(20))
		if (port_open(r->port))
			return true;
	return false;
}

static void own_redis_stop(struct own_redis *r)
{
	int status;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	waitpid(r->pid, &status, 0);
	r->pid = 0;
}

/*
 * Redis goes away and comes back on the same port: calls fail meanwhile and
 * work again afterwards without a new kv, and the subscription resumes.
 * Also AUTH (with a password that needs escaping) and SELECT.
 */
static void test_redis_restart(void **state)
{
	struct own_redis own = {.port = free_port()};
	char url[128], url0[128], wrong[128];
	struct kv *kv = NULL, *kv0 = NULL, *bad = NULL;
	struct kv_sub *sub = NULL;
	struct err e = {0};
	struct inbox in;
	int64_t end;
	int rc = -1;

	(void)state;
	snprintf(url, sizeof(url), "redis://:pw%%3Ax%%40y@127.0.0.1:%d/3", own.port);
	snprintf(url0, sizeof(url0), "redis://:pw%%3Ax%%40y@127.0.0.1:%d", own.port);
	snprintf(wrong, sizeof(wrong), "redis://:s3cretpw@127.0.0.1:%d", own.port);
	kv = open_kv(url);
	assert_int_equal(kv_ping(kv, &e), -ERR_UNAVAILABLE); /* not started yet */
	if (!own_redis_start(&own)) {
		own_redis_stop(&own);
		kv_free(kv);
		skip();
	}
	assert_int_equal(kv_ping(kv, &e), 0);

	bad = open_kv(wrong);
	assert_int_equal(kv_ping(bad, &e), -ERR_AUTH);
	assert_null(strstr(e.msg, "s3cretpw"));
	kv_free(bad);

	/* Database 3 is not database 0. */
	kv0 = open_kv(url0);
	assert_int_equal(kv_set(kv, "k", "in 3", 4, 0, &e), 0);
	check_absent(kv0, "k");
	check_value(kv, "k", "in 3", 4);
	kv_free(kv0);

	inbox_init(&in);
	assert_int_equal(kv_subscribe(kv, "chan", on_message, &in, &sub, &e), 0);
	assert_int_equal(kv_publish(kv, "chan", "up", 2, &e), 0);
	assert_int_equal(inbox_wait(&in, 1, 3000), 1);

	own_redis_stop(&own);
	assert_int_equal(kv_ping(kv, &e), -ERR_UNAVAILABLE);
	assert_int_equal(kv_set(kv, "k", "v", 1, 0, &e), -ERR_UNAVAILABLE);
	assert_true(own_redis_start(&own));
	/* The very next call works. */
	assert_int_equal(kv_ping(kv, &e), 0);
	assert_int_equal(kv_set(kv, "k", "again", 5, 0, &e), 0);
	check_value(kv, "k", "again", 5);

	/* The subscription comes back by itself. */
	for (end = clock_mono_ms() + 5000; clock_mono_ms() < end; clock_sleep_ms(50)) {
		assert_int_equal(kv_publish(kv, "chan", "back", 4, &e), 0);
		if (inbox_count(&in) >= 2)
			break;
	}
	assert_true(inbox_count(&in) >= 2);
	check_msg(&in, 1, "chan", "back", 4);
	kv_sub_free(sub);
	pthread_mutex_destroy(&in.mu);

	/* Connections the server dropped while idle are replaced unnoticed. */
	own_redis_stop(&own);
	assert_true(own_redis_start(&own));
	rc = kv_ping(kv, &e);
	assert_int_equal(rc, 0);
	kv_free(kv);
	own_redis_stop(&own);
}

#define BOTH_TESTS                                                                                 \
	cmocka_unit_test(test_get_set_del), cmocka_unit_test(test_binary),                         \
	    cmocka_unit_test(test_expiry), cmocka_unit_test(test_set_nx),                          \
	    cmocka_unit_test(test_incr), cmocka_unit_test(test_incr_ttl),                          \
	    cmocka_unit_test(test_incr_concurrent), cmocka_unit_test(test_lock),                   \
	    cmocka_unit_test(test_lock_expiry), cmocka_unit_test(test_lock_extend),                \
	    cmocka_unit_test(test_pubsub), cmocka_unit_test(test_pubsub_order),                    \
	    cmocka_unit_test(test_take), cmocka_unit_test(test_take_concurrent),                   \
	    cmocka_unit_test(test_bad_args)

int main(void)
{
	const struct CMUnitTest mem_tests[] = {BOTH_TESTS};
	const struct CMUnitTest redis_tests[] = {
	    BOTH_TESTS,
	    cmocka_unit_test(test_redis_unreachable),
	    cmocka_unit_test(test_redis_urls),
	    cmocka_unit_test(test_redis_two_nodes),
	    cmocka_unit_test(test_redis_restart),
	};
	int failed;

	/* hiredis writes with write(2); a closed connection must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	crypto_token("", 9, run_id, sizeof(run_id));
	failed = cmocka_run_group_tests_name("kv memory", mem_tests, setup_mem, teardown);
	redis_url = getenv("HERALD_TEST_REDIS");
	if (redis_url && *redis_url)
		failed +=
		    cmocka_run_group_tests_name("kv redis", redis_tests, setup_redis, teardown);
	else
		printf("HERALD_TEST_REDIS is not set: Redis tests skipped, memory only\n");
	return failed ? 1 : 0;
}
