/*
 * users: identity on the store. Tokens never reach the database in the
 * clear: both lookups hash what the client sent and compare hashes through a
 * UNIQUE index, so a leaked database gives no usable key.
 */
#include "users/users.h"

#include <stdio.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/mem.h"
#include "store/store.h"

#define USER_COLS                                                                                  \
	"u.id, u.telegram_id, u.name, u.language, u.time_zone, u.created_at, u.plan, "             \
	"u.onboarded_at, u.bot_blocked_at"
#define USER_COLS_BARE                                                                             \
	"id, telegram_id, name, language, time_zone, created_at, plan, onboarded_at, "             \
	"bot_blocked_at"

static void copy_text(char *dst, size_t dstsz, const char *src)
{
	size_t n = strnlen(src, dstsz - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void row_to_user(const struct store_res *res, size_t row, struct user *u)
{
	u->id = store_res_int(res, row, 0);
	u->telegram_id = store_res_int(res, row, 1);
	copy_text(u->name, sizeof(u->name), store_res_text(res, row, 2));
	copy_text(u->language, sizeof(u->language), store_res_text(res, row, 3));
	copy_text(u->time_zone, sizeof(u->time_zone), store_res_text(res, row, 4));
	u->created_at = store_res_int(res, row, 5);
	copy_text(u->plan, sizeof(u->plan), store_res_text(res, row, 6));
	u->onboarded_at = store_res_int(res, row, 7);
	u->bot_blocked_at = store_res_int(res, row, 8);
}

/* The first row of res as a user (-ERR_NOT_FOUND when none); frees res. */
static int take_user(struct store_res *res, struct user *out, struct err *e)
{
	int rc = 0;

	if (store_res_rows(res) == 0)
		rc = err_set(e, ERR_NOT_FOUND, "no such user");
	else
		row_to_user(res, 0, out);
	store_res_free(res);
	return rc;
}

/* Run a query expected to return one user row. */
static int one_user(struct store *st, const char *sql, const struct store_val *args, size_t n,
                    struct user *out, struct err *e)
{
	struct store_res *res = NULL;
	int rc = store_exec(st, sql, args, n, &res, e);

	if (rc)
		return rc;
	return take_user(res, out, e);
}

int users_lock(struct store_conn *c, int64_t id, struct err *e)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(id)};
	int rc = store_query(c, "UPDATE users SET plan = plan WHERE id = $1", a, 1, &r, e);

	if (!rc && store_res_changes(r) != 1)
		rc = err_set(e, ERR_NOT_FOUND, "no such user");
	store_res_free(r);
	return rc;
}

int users_audit(struct store_conn *c, int64_t actor, const char *action, const char *subject,
                const char *detail, struct err *e)
{
	struct store_val a[] = {SV_INT(clock_now_ms()), actor ? SV_INT(actor) : SV_NULL,
	                        SV_TEXT(action), SV_TEXT(subject), SV_TEXT(detail)};

	return store_query(c,
	                   "INSERT INTO audit_log (at, actor_user_id, action, subject, detail) "
	                   "VALUES ($1, $2, $3, $4, $5)",
	                   a, ARRAY_SIZE(a), NULL, e);
}

/*
 * Run one write and its audit entry in a transaction. The write's first row
 * (if any) is returned through res.
 */
static int write_audited(struct store *st, const char *sql, const struct store_val *args, size_t n,
                         int64_t actor, const char *action, const char *subject,
                         struct store_res **res, struct err *e)
{
	struct store_conn *c;
	int rc = store_conn_get(st, &c, e);

	if (rc)
		return rc;
	rc = store_begin(c, e);
	if (rc)
		goto out;
	rc = store_query(c, sql, args, n, res, e);
	if (!rc)
		rc = users_audit(c, actor, action, subject, "", e);
	if (!rc)
		rc = store_commit(c, e);
	if (rc) {
		store_rollback(c);
		if (res) {
			store_res_free(*res);
			*res = NULL;
		}
	}
out:
	store_conn_put(st, c);
	return rc;
}

int users_add(struct store *st, int64_t telegram_id, const char *name, struct user *out,
              struct err *e)
{
	struct store_val a[] = {SV_INT(telegram_id), SV_TEXT(name ? name : ""),
	                        SV_INT(clock_now_ms())};
	struct store_res *res = NULL;
	char subject[32];
	int rc;

	if (telegram_id <= 0)
		return err_set(e, ERR_INVALID, "a Telegram id is a positive number");
	if (name && strlen(name) > USERS_NAME_MAX)
		return err_set(e, ERR_INVALID, "a name is at most %d bytes", USERS_NAME_MAX);
	snprintf(subject, sizeof(subject), "telegram:%lld", (long long)telegram_id);
	rc = write_audited(st,
	                   "INSERT INTO users (telegram_id, name, created_at) "
	                   "VALUES ($1, $2, $3) RETURNING " USER_COLS_BARE,
	                   a, ARRAY_SIZE(a), 0, "user.add", subject, &res, e);
	if (rc == -ERR_EXISTS)
		return err_set(e, ERR_EXISTS, "a user with Telegram id %lld exists",
		               (long long)telegram_id);
	if (rc)
		return rc;
	return take_user(res, out, e);
}

int users_get_by_telegram(struct store *st, int64_t telegram_id, struct user *out, struct err *e)
{
	struct store_val a[] = {SV_INT(telegram_id)};

	return one_user(st, "SELECT " USER_COLS " FROM users u WHERE u.telegram_id = $1", a, 1, out,
	                e);
}

int users_update(struct store *st, int64_t id, const char *name, const char *language,
                 const char *time_zone, struct user *out, struct err *e)
{
	struct store_val a[] = {SV_INT(id), name ? SV_TEXT(name) : SV_NULL,
	                        language ? SV_TEXT(language) : SV_NULL,
	                        time_zone ? SV_TEXT(time_zone) : SV_NULL};
	struct store_res *res = NULL;
	char subject[32];
	int rc;

	snprintf(subject, sizeof(subject), "user:%lld", (long long)id);
	rc = write_audited(st,
	                   "UPDATE users SET name = COALESCE($2, name), "
	                   "language = COALESCE($3, language), "
	                   "time_zone = COALESCE($4, time_zone) "
	                   "WHERE id = $1 RETURNING " USER_COLS_BARE,
	                   a, ARRAY_SIZE(a), id, "user.update", subject, &res, e);
	if (rc)
		return rc;
	return take_user(res, out, e);
}

int users_apikey_create(struct store *st, int64_t user_id, char key[USERS_TOKEN_SIZE],
                        struct err *e)
{
	char hash[CRYPTO_SHA256_HEX], prefix[12], subject[32];
	struct store_val a[4];

	crypto_token(USERS_KEY_PREFIX, 32, key, USERS_TOKEN_SIZE);
	crypto_sha256_hex(key, strlen(key), hash);
	copy_text(prefix, sizeof(prefix), key);
	snprintf(subject, sizeof(subject), "user:%lld", (long long)user_id);
	a[0] = SV_INT(user_id);
	a[1] = SV_TEXT(hash);
	a[2] = SV_TEXT(prefix);
	a[3] = SV_INT(clock_now_ms());
	return write_audited(st,
	                     "INSERT INTO api_keys (user_id, key_hash, prefix, created_at) "
	                     "VALUES ($1, $2, $3, $4)",
	                     a, ARRAY_SIZE(a), user_id, "apikey.create", subject, NULL, e);
}

int users_by_apikey(struct store *st, const char *key, size_t len, struct user *out, struct err *e)
{
	char hash[CRYPTO_SHA256_HEX];
	struct store_val a[1];

	crypto_sha256_hex(key, len, hash);
	a[0] = SV_TEXT(hash);
	return one_user(st,
	                "SELECT " USER_COLS " FROM api_keys k JOIN users u ON u.id = k.user_id "
	                "WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
	                a, 1, out, e);
}

/*
 * Make a random token with prefix for user_id that lasts ttl_ms and store
 * its hash with sql, whose $1..$4 are user id, hash, now and the expiry;
 * audited as action. token receives it; *expires_at (may be NULL) too.
 */
static int issue_token(struct store *st, const char *prefix, const char *sql, const char *action,
                       int64_t user_id, int64_t ttl_ms, char token[USERS_TOKEN_SIZE],
                       int64_t *expires_at, struct err *e)
{
	char hash[CRYPTO_SHA256_HEX], subject[32];
	int64_t now = clock_now_ms();
	struct store_val a[4];

	crypto_token(prefix, 32, token, USERS_TOKEN_SIZE);
	crypto_sha256_hex(token, strlen(token), hash);
	if (expires_at)
		*expires_at = now + ttl_ms;
	snprintf(subject, sizeof(subject), "user:%lld", (long long)user_id);
	a[0] = SV_INT(user_id);
	a[1] = SV_TEXT(hash);
	a[2] = SV_INT(now);
	a[3] = SV_INT(now + ttl_ms);
	return write_audited(st, sql, a, ARRAY_SIZE(a), user_id, action, subject, NULL, e);
}

int users_session_create(struct store *st, int64_t user_id, int64_t ttl_ms,
                         char token[USERS_TOKEN_SIZE], int64_t *expires_at, struct err *e)
{
	return issue_token(st, USERS_SESSION_PREFIX,
	                   "INSERT INTO sessions (user_id, token_hash, created_at, expires_at) "
	                   "VALUES ($1, $2, $3, $4)",
	                   "session.create", user_id, ttl_ms, token, expires_at, e);
}

int users_by_session(struct store *st, const char *token, size_t len, struct user *out,
                     struct err *e)
{
	char hash[CRYPTO_SHA256_HEX];
	struct store_val a[2];

	crypto_sha256_hex(token, len, hash);
	a[0] = SV_TEXT(hash);
	a[1] = SV_INT(clock_now_ms());
	return one_user(st,
	                "SELECT " USER_COLS " FROM sessions s JOIN users u ON u.id = s.user_id "
	                "WHERE s.token_hash = $1 AND s.expires_at > $2",
	                a, 2, out, e);
}

int users_session_delete(struct store *st, const char *token, size_t len, struct err *e)
{
	char hash[CRYPTO_SHA256_HEX];
	struct store_val a[1];

	crypto_sha256_hex(token, len, hash);
	a[0] = SV_TEXT(hash);
	return store_exec(st, "DELETE FROM sessions WHERE token_hash = $1", a, 1, NULL, e);
}

int users_login_create(struct store *st, int64_t user_id, int64_t ttl_ms,
                       char token[USERS_TOKEN_SIZE], struct err *e)
{
	return issue_token(st, USERS_LOGIN_PREFIX,
	                   "INSERT INTO login_tokens (user_id, token_hash, created_at, expires_at) "
	                   "VALUES ($1, $2, $3, $4)",
	                   "login.create", user_id, ttl_ms, token, NULL, e);
}

int users_login_consume(struct store *st, const char *token, size_t len, struct user *out,
                        struct err *e)
{
	char hash[CRYPTO_SHA256_HEX];
	struct store_res *res = NULL;
	struct store_val a[2];
	int rc;

	crypto_sha256_hex(token, len, hash);
	a[0] = SV_TEXT(hash);
	a[1] = SV_INT(clock_now_ms());
	/* one UPDATE both checks and spends the token, so two uses cannot both win */
	rc = write_audited(st,
	                   "UPDATE login_tokens SET used_at = $2 "
	                   "WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 "
	                   "RETURNING user_id",
	                   a, 2, 0, "login.use", "", &res, e);
	if (rc)
		return rc;
	if (store_res_rows(res) == 0) {
		store_res_free(res);
		return err_set(e, ERR_NOT_FOUND, "this login link is unknown, used or expired");
	}
	a[0] = SV_INT(store_res_int(res, 0, 0));
	store_res_free(res);
	return one_user(st, "SELECT " USER_COLS " FROM users u WHERE u.id = $1", a, 1, out, e);
}

int users_set_blocked(struct store *st, int64_t telegram_id, int blocked, struct err *e)
{
	struct store_val a[] = {SV_INT(telegram_id), blocked ? SV_INT(clock_now_ms()) : SV_NULL};

	return store_exec(st, "UPDATE users SET bot_blocked_at = $2 WHERE telegram_id = $1", a, 2,
	                  NULL, e);
}

int users_set_onboarded(struct store *st, int64_t id, struct err *e)
{
	struct store_val a[] = {SV_INT(id), SV_INT(clock_now_ms())};

	return store_exec(
	    st, "UPDATE users SET onboarded_at = COALESCE(onboarded_at, $2) WHERE id = $1", a, 2,
	    NULL, e);
}
