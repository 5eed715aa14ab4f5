/*
 * kv: the public entry points. Each one checks its arguments once, here, and
 * then calls the backend through its ops table (struct kv_ops in
 * kv_impl.h). What both backends share lives here too: lock tokens and the
 * token bucket rule.
 */
#include "kv/kv.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "kv/kv_impl.h"
#include "lib/crypto.h"

static int check_name(const char *what, const char *key, struct err *e)
{
	size_t n;

	if (!key || !*key)
		return err_set(e, ERR_INVALID, "%s: empty key", what);
	n = strnlen(key, KV_KEY_MAX + 1);
	if (n > KV_KEY_MAX)
		return err_set(e, ERR_TOO_BIG, "%s: key longer than %u bytes", what, KV_KEY_MAX);
	return 0;
}

static int check_ttl(const char *what, int64_t ttl_ms, bool required, struct err *e)
{
	if (ttl_ms < 0 || ttl_ms > KV_TTL_MAX || (required && ttl_ms == 0))
		return err_set(e, ERR_INVALID, "%s: bad ttl %lld ms", what, (long long)ttl_ms);
	return 0;
}

static int check_value(const char *what, const void *val, size_t len, struct err *e)
{
	if (!val && len)
		return err_set(e, ERR_INVALID, "%s: no value", what);
	if (len > KV_VALUE_MAX)
		return err_set(e, ERR_TOO_BIG, "%s: value of %zu bytes is over %u", what, len,
		               KV_VALUE_MAX);
	return 0;
}

static int check_token(const char *what, const char *token, struct err *e)
{
	if (!token || strnlen(token, KV_TOKEN_SIZE) != KV_TOKEN_SIZE - 1)
		return err_set(e, ERR_INVALID, "%s: malformed lock token", what);
	return 0;
}

int kv_open(struct kv **out, const char *url, struct err *e)
{
	int rc;

	*out = NULL;
	if (!url || !*url)
		rc = kv_mem_open(out, e);
	else
		rc = kv_redis_open(out, url, e);
	if (rc == 0)
		atomic_init(&(*out)->nsubs, 0);
	return rc;
}

void kv_free(struct kv *kv)
{
	if (!kv)
		return;
	/* A subscription's thread still refers to the kv. */
	assert(atomic_load(&kv->nsubs) == 0);
	kv->ops->free(kv);
}

const char *kv_backend(const struct kv *kv)
{
	return kv->ops->name;
}

int kv_ping(struct kv *kv, struct err *e)
{
	return kv->ops->ping(kv, e);
}

int kv_get(struct kv *kv, const char *key, struct buf *out, struct err *e)
{
	int rc = check_name("kv get", key, e);

	if (rc == 0)
		rc = kv->ops->get(kv, key, out, e);
	return rc;
}

static int set(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms, bool nx,
               struct err *e)
{
	int rc = check_name("kv set", key, e);

	if (rc == 0)
		rc = check_value("kv set", val, len, e);
	if (rc == 0)
		rc = check_ttl("kv set", ttl_ms, false, e);
	if (rc == 0)
		rc = kv->ops->set(kv, key, val, len, ttl_ms, nx, e);
	return rc;
}

int kv_set(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
           struct err *e)
{
	return set(kv, key, val, len, ttl_ms, false, e);
}

int kv_set_nx(struct kv *kv, const char *key, const void *val, size_t len, int64_t ttl_ms,
              struct err *e)
{
	return set(kv, key, val, len, ttl_ms, true, e);
}

int kv_del(struct kv *kv, const char *key, struct err *e)
{
	int rc = check_name("kv del", key, e);

	if (rc == 0)
		rc = kv->ops->del(kv, key, e);
	return rc;
}

int kv_incr(struct kv *kv, const char *key, int64_t by, int64_t ttl_ms, int64_t *out, struct err *e)
{
	int rc = check_name("kv incr", key, e);

	if (rc == 0)
		rc = check_ttl("kv incr", ttl_ms, false, e);
	if (rc == 0)
		rc = kv->ops->incr(kv, key, by, ttl_ms, out, e);
	return rc;
}

int kv_lock(struct kv *kv, const char *key, int64_t ttl_ms, char token[KV_TOKEN_SIZE],
            struct err *e)
{
	/* 24 random bytes are exactly 32 base64url characters; crypto_token
	 * wants room for a partial last character, hence the bigger buffer. */
	char tok[KV_TOKEN_SIZE + 1];
	int rc;

	token[0] = '\0';
	rc = check_name("kv lock", key, e);
	if (rc == 0)
		rc = check_ttl("kv lock", ttl_ms, true, e);
	if (rc)
		goto out;
	crypto_token("", 24, tok, sizeof(tok));
	assert(strlen(tok) == KV_TOKEN_SIZE - 1);
	rc = kv->ops->set(kv, key, tok, KV_TOKEN_SIZE - 1, ttl_ms, true, e);
	if (rc == -ERR_EXISTS) {
		rc = err_set(e, ERR_BUSY, "kv lock: held by someone else");
		goto out;
	}
	if (rc)
		goto out;
	memcpy(token, tok, KV_TOKEN_SIZE);
out:
	return rc;
}

int kv_unlock(struct kv *kv, const char *key, const char *token, struct err *e)
{
	int rc = check_name("kv unlock", key, e);

	if (rc == 0)
		rc = check_token("kv unlock", token, e);
	if (rc == 0)
		rc = kv->ops->unlock(kv, key, token, e);
	return rc;
}

int kv_lock_extend(struct kv *kv, const char *key, const char *token, int64_t ttl_ms, struct err *e)
{
	int rc = check_name("kv lock extend", key, e);

	if (rc == 0)
		rc = check_token("kv lock extend", token, e);
	if (rc == 0)
		rc = check_ttl("kv lock extend", ttl_ms, true, e);
	if (rc == 0)
		rc = kv->ops->extend(kv, key, token, ttl_ms, e);
	return rc;
}

int kv_publish(struct kv *kv, const char *channel, const void *msg, size_t len, struct err *e)
{
	int rc = check_name("kv publish", channel, e);

	if (rc == 0)
		rc = check_value("kv publish", msg, len, e);
	if (rc == 0)
		rc = kv->ops->publish(kv, channel, msg, len, e);
	return rc;
}

int kv_subscribe(struct kv *kv, const char *channel, kv_message_fn fn, void *arg,
                 struct kv_sub **out, struct err *e)
{
	int rc;

	*out = NULL;
	rc = check_name("kv subscribe", channel, e);
	if (rc == 0 && !fn)
		rc = err_set(e, ERR_INVALID, "kv subscribe: no callback");
	if (rc == 0)
		rc = kv->ops->subscribe(kv, channel, fn, arg, out, e);
	if (rc == 0)
		atomic_fetch_add(&kv->nsubs, 1);
	return rc;
}

void kv_sub_free(struct kv_sub *sub)
{
	struct kv *kv;

	if (!sub)
		return;
	kv = sub->kv;
	kv->ops->sub_free(sub);
	atomic_fetch_sub(&kv->nsubs, 1);
}

int kv_take(struct kv *kv, const char *bucket, double rate, double burst, int64_t *wait_ms,
            struct err *e)
{
	int64_t wait = 0;
	int rc = check_name("kv take", bucket, e);

	if (rc == 0 && !(rate >= KV_RATE_MIN && rate <= KV_RATE_MAX))
		rc = err_set(e, ERR_INVALID, "kv take: rate out of range");
	if (rc == 0 && !(burst >= 1 && burst <= KV_BURST_MAX))
		rc = err_set(e, ERR_INVALID, "kv take: burst out of range");
	if (rc == 0)
		rc = kv->ops->take(kv, bucket, rate, burst, &wait, e);
	if (wait_ms)
		*wait_ms = rc == -ERR_BUSY ? wait : 0;
	return rc;
}

bool kv_bucket_take(double *tokens, double elapsed_ms, double rate, double burst, int64_t *wait_ms)
{
	double t = *tokens;

	if (elapsed_ms > 0)
		t += elapsed_ms * rate / 1000.0;
	if (t > burst)
		t = burst;
	if (t >= 1.0) {
		*tokens = t - 1.0;
		*wait_ms = 0;
		return true;
	}
	*tokens = t;
	*wait_ms = (int64_t)ceil((1.0 - t) * 1000.0 / rate);
	if (*wait_ms < 1)
		*wait_ms = 1;
	return false;
}
