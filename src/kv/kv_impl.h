/*
 * kv_impl: what kv.c shares with its backends (kv/mem.c, kv/redis.c) and
 * nothing else includes. A backend embeds struct kv as the first member of
 * its own handle and struct kv_sub as the first member of its subscriptions;
 * kv.c validates every argument before it calls through the ops table, so a
 * backend may assume keys are non-empty and bounded, ttls non-negative, etc.
 */
#ifndef HERALD_KV_IMPL_H
#define HERALD_KV_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "kv/kv.h"

#define KV_KEY_MAX   1024u              /* bytes in a key, channel or bucket name */
#define KV_VALUE_MAX (16u << 20)        /* bytes in a value or a message */
#define KV_TTL_MAX   ((int64_t)1 << 40) /* ms, about 35 years */
#define KV_RATE_MIN  0.001
#define KV_RATE_MAX  1e6
#define KV_BURST_MAX 1e9

struct kv_ops {
	const char *name;
	void (*free)(struct kv *kv);
	int (*ping)(struct kv *kv, struct err *e);
	int (*get)(struct kv *kv, const char *key, struct buf *out, struct err *e);
	/* nx: only when absent, -ERR_EXISTS otherwise */
	int (*set)(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
	           bool nx, struct err *e);
	int (*del)(struct kv *kv, const char *key, struct err *e);
	int (*incr)(struct kv *kv, const char *key, int64_t by, int64_t ttl_ms, int64_t *out,
	            struct err *e);
	/* Delete key if its value is token, else -ERR_NOT_FOUND. */
	int (*unlock)(struct kv *kv, const char *key, const char *token, struct err *e);
	/* Expire key ttl_ms from now if its value is token, else -ERR_NOT_FOUND. */
	int (*extend)(struct kv *kv, const char *key, const char *token, int64_t ttl_ms,
	              struct err *e);
	int (*publish)(struct kv *kv, const char *channel, const void *msg, size_t len,
	               struct err *e);
	int (*subscribe)(struct kv *kv, const char *channel, kv_message_fn fn, void *arg,
	                 struct kv_sub **out, struct err *e);
	void (*sub_free)(struct kv_sub *sub);
	/* *wait_ms is never NULL here. */
	int (*take)(struct kv *kv, const char *bucket, double rate, double burst, int64_t *wait_ms,
	            struct err *e);
};

struct kv {
	const struct kv_ops *ops;
	atomic_int nsubs; /* live subscriptions; kv_free asserts there are none */
};

struct kv_sub {
	struct kv *kv;
};

int kv_mem_open(struct kv **out, struct err *e) WUR;
int kv_redis_open(struct kv **out, const char *url, struct err *e) WUR;

/*
 * The token bucket rule both backends follow (redis.c repeats it in Lua):
 * refill *tokens by elapsed_ms at rate per second, capped at burst, then take
 * one if there is one. Returns true when taken (*wait_ms = 0); otherwise
 * *wait_ms is the time until one token will be there, at least 1.
 */
bool kv_bucket_take(double *tokens, double elapsed_ms, double rate, double burst, int64_t *wait_ms);

#endif
