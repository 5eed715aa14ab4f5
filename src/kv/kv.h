/*
 * kv: coordination between threads and nodes. One interface, two backends:
 * in memory (one node) and Redis (hiredis, shared by a cluster). Keys and
 * channel names are NUL-terminated strings; values are bytes.
 */
#ifndef HERALD_KV_H
#define HERALD_KV_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

struct kv;
struct kv_sub;

#define KV_TOKEN_SIZE 33 /* a lock token: 32 characters and a NUL */

/*
 * Open a kv. url NULL or "" selects the in-memory backend; "redis://[:password@]host[:port][/db]"
 * selects Redis. Redis is connected lazily and reconnected after a failure,
 * so a server that is down does not stop the open. On failure *out is NULL.
 */
int kv_open(struct kv **out, const char *url, struct err *e) WUR;
void kv_free(struct kv *kv);
const char *kv_backend(const struct kv *kv); /* "memory" or "redis" */

/* A round trip: 0, or -ERR_UNAVAILABLE. Every call below may also return
 * -ERR_UNAVAILABLE when Redis cannot be reached. */
int kv_ping(struct kv *kv, struct err *e) WUR;

/* Append the value of key to out; -ERR_NOT_FOUND when absent or expired. */
int kv_get(struct kv *kv, const char *key, struct buf *out, struct err *e) WUR;
/* Set key; ttl_ms 0 keeps it until deleted. */
int kv_set(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
           struct err *e) WUR;
/* Set key only if absent: -ERR_EXISTS when it is present. */
int kv_set_nx(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
              struct err *e) WUR;
/* Delete key; deleting an absent key is not an error. */
int kv_del(struct kv *kv, const char *key, struct err *e) WUR;

/*
 * Atomically add by to the integer at key (absent counts as 0) and store the
 * result in *out. ttl_ms (0: none) is set when this call created the key.
 */
int kv_incr(struct kv *kv, const char *key, int64_t by, int64_t ttl_ms, int64_t *out,
            struct err *e) WUR;

/*
 * Take the lock named key for ttl_ms. On success token receives a random
 * token that proves ownership; -ERR_BUSY when someone else holds it. The lock
 * expires by itself after ttl_ms.
 */
int kv_lock(struct kv *kv, const char *key, int64_t ttl_ms, char token[KV_TOKEN_SIZE],
            struct err *e) WUR;
/* Release a lock held with token; -ERR_NOT_FOUND when it is not held with
 * that token (expired, or taken by another). */
int kv_unlock(struct kv *kv, const char *key, const char *token, struct err *e) WUR;
/* Extend a lock held with token to ttl_ms from now; -ERR_NOT_FOUND as above. */
int kv_lock_extend(struct kv *kv, const char *key, const char *token, int64_t ttl_ms,
                   struct err *e) WUR;

/* Publish msg on channel to every current subscriber (of any node). */
int kv_publish(struct kv *kv, const char *channel, const void *msg, size_t len, struct err *e) WUR;

typedef void (*kv_message_fn)(void *arg, const char *channel, const void *msg, size_t len);

/*
 * Call fn(arg, ...) for each message published on channel from the moment
 * this returns, on a thread of the kv's own. Redis subscriptions survive a
 * reconnect (messages published while disconnected are lost, as in Redis).
 * kv_sub_free() stops delivery: after it returns fn is not called again.
 */
int kv_subscribe(struct kv *kv, const char *channel, kv_message_fn fn, void *arg,
                 struct kv_sub **out, struct err *e) WUR;
void kv_sub_free(struct kv_sub *sub);

/*
 * Token bucket named bucket that refills at rate tokens per second up to
 * burst tokens (a new bucket starts full). Take one token: 0 when taken;
 * -ERR_BUSY when empty, with *wait_ms (may be NULL) set to the time until a
 * token will be available. Atomic across threads and, on Redis, nodes.
 */
int kv_take(struct kv *kv, const char *bucket, double rate, double burst, int64_t *wait_ms,
            struct err *e) WUR;

#endif
