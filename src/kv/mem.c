/*
 * kv/mem: the in-memory backend, for a single node.
 *
 * Keys live in a chained hash table (FNV-1a, power-of-two slots, doubled when
 * the load reaches one) guarded by one mutex. An entry that has expired is
 * removed when it is next looked up, and every write also sweeps a few slots
 * so that keys nobody reads again do not pile up. Counters are stored as
 * decimal text, like Redis, so kv_get reads them. Locks are ordinary keys
 * whose value is the owner's token. Token buckets live in a second table of
 * the same kind, each expiring once it would have refilled completely.
 *
 * Pub/sub: each subscription has a queue and a thread of its own that drains
 * it, so fn never runs on the publisher's thread and a slow subscriber only
 * delays itself. kv_sub_free() joins that thread, so fn is not called after
 * it returns.
 */
#include "kv/kv_impl.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define TABLE_MIN_SLOTS 64
#define SWEEP_SLOTS     16 /* slots examined per write */
#define QUEUE_MAX_MSGS  10000
#define QUEUE_MAX_BYTES (64u << 20)

struct ent {
	struct ent *next;
	uint64_t hash;
	char *key;
	char *val; /* len bytes and a NUL; unused by buckets */
	size_t len;
	int64_t expires; /* monotonic ms; 0: never */
	double tokens;   /* buckets: tokens left at last_us */
	int64_t last_us; /* buckets: monotonic time of the last refill */
};

struct table {
	struct ent **slots;
	size_t nslots; /* a power of two */
	size_t count;
	size_t cursor; /* the next slot the sweep looks at */
};

struct msg {
	struct msg *next;
	size_t len;
	char data[];
};

struct kv_mem;

struct mem_sub {
	struct kv_sub base;
	struct kv_mem *m;
	struct mem_sub *next; /* in m->subs, under m->mu */
	char *channel;
	kv_message_fn fn;
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu; /* guards the queue and stop */
	pthread_cond_t cv;
	struct msg *head, *tail;
	size_t nmsgs, nbytes;
	size_t dropped;
	bool stop;
};

struct kv_mem {
	struct kv base;
	pthread_mutex_t mu; /* guards keys, buckets and subs */
	struct table keys;
	struct table buckets;
	struct mem_sub *subs;
};

static uint64_t hash_key(const char *key)
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

static void table_init(struct table *t)
{
	t->nslots = TABLE_MIN_SLOTS;
	t->slots = xcalloc(t->nslots, sizeof(*t->slots));
	t->count = 0;
	t->cursor = 0;
}

static void ent_free(struct ent *x)
{
	free(x->key);
	free(x->val);
	free(x);
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->nslots; i++) {
		struct ent *x = t->slots[i], *next;

		for (; x; x = next) {
			next = x->next;
			ent_free(x);
		}
	}
	free(t->slots);
	t->slots = NULL;
}

static bool expired(const struct ent *x, int64_t now)
{
	return x->expires && x->expires <= now;
}

/* Unlink and free the entry *pp points at. */
static void table_unlink(struct table *t, struct ent **pp)
{
	struct ent *x = *pp;

	*pp = x->next;
	t->count--;
	ent_free(x);
}

/*
 * The link that points at key's entry, or NULL when there is none. An entry
 * that has expired by now is removed and not returned.
 */
static struct ent **table_lookup(struct table *t, const char *key, int64_t now)
{
	uint64_t h = hash_key(key);
	struct ent **pp = &t->slots[h & (t->nslots - 1)];

	for (; *pp; pp = &(*pp)->next) {
		struct ent *x = *pp;

		if (x->hash != h || strcmp(x->key, key) != 0)
			continue;
		if (expired(x, now)) {
			table_unlink(t, pp);
			return NULL;
		}
		return pp;
	}
	return NULL;
}

static struct ent *table_find(struct table *t, const char *key, int64_t now)
{
	struct ent **pp = table_lookup(t, key, now);

	return pp ? *pp : NULL;
}

static void table_grow(struct table *t)
{
	size_t n = t->nslots * 2;
	struct ent **slots = xcalloc(n, sizeof(*slots));

	for (size_t i = 0; i < t->nslots; i++) {
		struct ent *x = t->slots[i], *next;

		for (; x; x = next) {
			next = x->next;
			x->next = slots[x->hash & (n - 1)];
			slots[x->hash & (n - 1)] = x;
		}
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	t->cursor = 0;
}

/* Add an entry for key, which must not be in t; the caller fills it in. */
static struct ent *table_add(struct table *t, const char *key)
{
	struct ent *x;
	size_t i;

	if (t->count >= t->nslots)
		table_grow(t);
	x = xcalloc(1, sizeof(*x));
	x->hash = hash_key(key);
	x->key = xstrdup(key);
	i = x->hash & (t->nslots - 1);
	x->next = t->slots[i];
	t->slots[i] = x;
	t->count++;
	return x;
}

/* Remove expired entries from the next few slots. */
static void table_sweep(struct table *t, int64_t now)
{
	for (int i = 0; i < SWEEP_SLOTS; i++) {
		struct ent **pp = &t->slots[t->cursor];

		while (*pp) {
			if (expired(*pp, now))
				table_unlink(t, pp);
			else
				pp = &(*pp)->next;
		}
		t->cursor = (t->cursor + 1) & (t->nslots - 1);
	}
}

static void ent_set_val(struct ent *x, const void *val, size_t len)
{
	char *p = xmalloc(len + 1);

	if (len)
		memcpy(p, val, len);
	p[len] = '\0';
	free(x->val);
	x->val = p;
	x->len = len;
}

static int64_t deadline(int64_t now, int64_t ttl_ms)
{
	return ttl_ms ? now + ttl_ms : 0;
}

static struct kv_mem *mem_of(struct kv *kv)
{
	return (struct kv_mem *)kv;
}

static void mem_free(struct kv *kv)
{
	struct kv_mem *m = mem_of(kv);

	assert(!m->subs);
	table_release(&m->keys);
	table_release(&m->buckets);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static int mem_ping(struct kv *kv, struct err *e)
{
	(void)kv;
	(void)e;
	return 0;
}

static int mem_get(struct kv *kv, const char *key, struct buf *out, struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	struct ent *x;
	int rc;

	pthread_mutex_lock(&m->mu);
	x = table_find(&m->keys, key, clock_mono_ms());
	if (!x) {
		rc = err_set(e, ERR_NOT_FOUND, "kv get %.100s: not found", key);
		goto out;
	}
	rc = buf_add(out, x->val, x->len);
	if (rc)
		rc = err_set(e, rc, "kv get %.100s: value of %zu bytes does not fit", key, x->len);
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_set(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
                   bool nx, struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	int64_t now = clock_mono_ms();
	struct ent *x;
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	table_sweep(&m->keys, now);
	x = table_find(&m->keys, key, now);
	if (x && nx) {
		rc = err_set(e, ERR_EXISTS, "kv set %.100s: exists", key);
		goto out;
	}
	if (!x)
		x = table_add(&m->keys, key);
	ent_set_val(x, val, len);
	x->expires = deadline(now, ttl_ms);
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_del(struct kv *kv, const char *key, struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	struct ent **pp;

	(void)e;
	pthread_mutex_lock(&m->mu);
	pp = table_lookup(&m->keys, key, clock_mono_ms());
	if (pp)
		table_unlink(&m->keys, pp);
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static int mem_incr(struct kv *kv, const char *key, int64_t by, int64_t ttl_ms, int64_t *out,
                    struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	int64_t now = clock_mono_ms(), v = 0;
	char text[24];
	struct ent *x;
	int rc = 0, n;

	pthread_mutex_lock(&m->mu);
	table_sweep(&m->keys, now);
	x = table_find(&m->keys, key, now);
	if (x && str_to_i64((struct str){x->val, x->len}, INT64_MIN, INT64_MAX, &v) != 0) {
		rc = err_set(e, ERR_INVALID, "kv incr %.100s: value is not an integer", key);
		goto out;
	}
	if (__builtin_add_overflow(v, by, &v)) {
		rc = err_set(e, ERR_INVALID, "kv incr %.100s: would overflow", key);
		goto out;
	}
	if (!x) {
		x = table_add(&m->keys, key);
		x->expires = deadline(now, ttl_ms);
	}
	n = snprintf(text, sizeof(text), "%lld", (long long)v);
	assert(n > 0 && (size_t)n < sizeof(text));
	ent_set_val(x, text, (size_t)n);
	*out = v;
out:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* The entry of a lock held with token, or NULL. */
static struct ent **find_lock(struct kv_mem *m, const char *key, const char *token, int64_t now)
{
	struct ent **pp = table_lookup(&m->keys, key, now);

	if (pp && !crypto_eq((*pp)->val, (*pp)->len, token, strlen(token)))
		pp = NULL;
	return pp;
}

static int mem_unlock(struct kv *kv, const char *key, const char *token, struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	struct ent **pp;
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	pp = find_lock(m, key, token, clock_mono_ms());
	if (pp)
		table_unlink(&m->keys, pp);
	else
		rc = err_set(e, ERR_NOT_FOUND, "kv unlock %.100s: not held with this token", key);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_extend(struct kv *kv, const char *key, const char *token, int64_t ttl_ms,
                      struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	int64_t now = clock_mono_ms();
	struct ent **pp;
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	pp = find_lock(m, key, token, now);
	if (pp)
		(*pp)->expires = deadline(now, ttl_ms);
	else
		rc = err_set(e, ERR_NOT_FOUND, "kv lock extend %.100s: not held with this token",
		             key);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_take(struct kv *kv, const char *bucket, double rate, double burst, int64_t *wait_ms,
                    struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	int64_t now_us = clock_mono_us(), now = now_us / 1000;
	struct ent *x;
	int rc = 0;

	pthread_mutex_lock(&m->mu);
	table_sweep(&m->buckets, now);
	x = table_find(&m->buckets, bucket, now);
	if (!x) {
		x = table_add(&m->buckets, bucket);
		x->tokens = burst;
		x->last_us = now_us;
	}
	if (!kv_bucket_take(&x->tokens, (double)(now_us - x->last_us) / 1000.0, rate, burst,
	                    wait_ms))
		rc = err_set(e, ERR_BUSY, "kv take %.100s: rate limited for %lld ms", bucket,
		             (long long)*wait_ms);
	x->last_us = now_us;
	/* Once it would be full again the bucket is as good as absent. */
	x->expires = now + (int64_t)ceil(burst * 1000.0 / rate) + 1;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

static int mem_publish(struct kv *kv, const char *channel, const void *data, size_t len,
                       struct err *e)
{
	struct kv_mem *m = mem_of(kv);

	(void)e;
	pthread_mutex_lock(&m->mu);
	for (struct mem_sub *s = m->subs; s; s = s->next) {
		struct msg *x;

		if (strcmp(s->channel, channel) != 0)
			continue;
		pthread_mutex_lock(&s->mu);
		if (s->nmsgs >= QUEUE_MAX_MSGS || s->nbytes + len > QUEUE_MAX_BYTES) {
			/* Like a Redis client over its output limit: the
			 * subscriber is too slow, its messages are lost. */
			if (s->dropped++ % 1000 == 0)
				log_warn("msg=\"kv subscriber too slow, message dropped\" "
				         "channel=%.100s dropped=%zu",
				         channel, s->dropped);
			pthread_mutex_unlock(&s->mu);
			continue;
		}
		x = xmalloc(sizeof(*x) + len + 1);
		x->next = NULL;
		x->len = len;
		if (len)
			memcpy(x->data, data, len);
		x->data[len] = '\0';
		if (s->tail)
			s->tail->next = x;
		else
			s->head = x;
		s->tail = x;
		s->nmsgs++;
		s->nbytes += len;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

static void *deliver_main(void *arg)
{
	struct mem_sub *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct msg *x;

		while (!s->stop && !s->head)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->stop)
			break;
		x = s->head;
		s->head = x->next;
		if (!s->head)
			s->tail = NULL;
		s->nmsgs--;
		s->nbytes -= x->len;
		pthread_mutex_unlock(&s->mu);
		s->fn(s->arg, s->channel, x->data, x->len);
		free(x);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void sub_destroy(struct mem_sub *s)
{
	struct msg *x, *next;

	for (x = s->head; x; x = next) {
		next = x->next;
		free(x);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s->channel);
	free(s);
}

static int mem_subscribe(struct kv *kv, const char *channel, kv_message_fn fn, void *arg,
                         struct kv_sub **out, struct err *e)
{
	struct kv_mem *m = mem_of(kv);
	struct mem_sub *s = xcalloc(1, sizeof(*s));
	int rc;

	s->base.kv = kv;
	s->m = m;
	s->channel = xstrdup(channel);
	s->fn = fn;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	rc = pthread_create(&s->thread, NULL, deliver_main, s);
	if (rc) {
		rc = err_set(e, ERR_IO, "kv subscribe: cannot start a thread: %s", strerror(rc));
		sub_destroy(s);
		return rc;
	}
	pthread_mutex_lock(&m->mu);
	s->next = m->subs;
	m->subs = s;
	pthread_mutex_unlock(&m->mu);
	*out = &s->base;
	return 0;
}

static void mem_sub_free(struct kv_sub *sub)
{
	struct mem_sub *s = (struct mem_sub *)sub, **pp;
	struct kv_mem *m = s->m;

	/* From its own callback this would wait for itself forever. */
	assert(!pthread_equal(pthread_self(), s->thread));
	pthread_mutex_lock(&m->mu);
	for (pp = &m->subs; *pp != s; pp = &(*pp)->next)
		assert(*pp);
	*pp = s->next;
	pthread_mutex_unlock(&m->mu);

	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	sub_destroy(s);
}

static const struct kv_ops mem_ops = {
    .name = "memory",
    .free = mem_free,
    .ping = mem_ping,
    .get = mem_get,
    .set = mem_set,
    .del = mem_del,
    .incr = mem_incr,
    .unlock = mem_unlock,
    .extend = mem_extend,
    .publish = mem_publish,
    .subscribe = mem_subscribe,
    .sub_free = mem_sub_free,
    .take = mem_take,
};

int kv_mem_open(struct kv **out, struct err *e)
{
	struct kv_mem *m = xcalloc(1, sizeof(*m));

	(void)e;
	m->base.ops = &mem_ops;
	pthread_mutex_init(&m->mu, NULL);
	table_init(&m->keys);
	table_init(&m->buckets);
	*out = &m->base;
	return 0;
}
