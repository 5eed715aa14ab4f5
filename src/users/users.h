/*
 * users: the people Herald serves and how they prove who they are: API keys
 * (random, shown once, stored as SHA-256) and dashboard sessions (a random
 * token in a cookie, stored as SHA-256, with an expiry). Every change is
 * written to the audit log in the same transaction.
 */
#ifndef HERALD_USERS_H
#define HERALD_USERS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct store;

#define USERS_KEY_PREFIX     "hk_"
#define USERS_SESSION_PREFIX "hs_"
#define USERS_LOGIN_PREFIX   "hl_"
#define USERS_TOKEN_SIZE     64 /* a key or session token and its NUL */
#define USERS_NAME_MAX       128

struct user {
	int64_t id;
	int64_t telegram_id;
	int64_t created_at;
	char name[USERS_NAME_MAX * 4 + 1]; /* UTF-8 */
	char language[8];
	char time_zone[64];
	char plan[16];
	int64_t onboarded_at;   /* 0 until /start was completed */
	int64_t bot_blocked_at; /* 0 unless the user blocked the bot */
};

/* Add a user; -ERR_EXISTS when the Telegram id is taken. */
int users_add(struct store *st, int64_t telegram_id, const char *name, struct user *out,
              struct err *e) WUR;
int users_get_by_telegram(struct store *st, int64_t telegram_id, struct user *out,
                          struct err *e) WUR;

/* Change the fields that are not NULL; *out gets the updated user. */
int users_update(struct store *st, int64_t id, const char *name, const char *language,
                 const char *time_zone, struct user *out, struct err *e) WUR;

/* Create an API key for a user; key receives it (the only time it exists in
 * the clear). */
int users_apikey_create(struct store *st, int64_t user_id, char key[USERS_TOKEN_SIZE],
                        struct err *e) WUR;
/* The user owning key; -ERR_NOT_FOUND for an unknown or revoked key. */
int users_by_apikey(struct store *st, const char *key, size_t len, struct user *out,
                    struct err *e) WUR;

/* Open a session for a user lasting ttl_ms; token receives the cookie value. */
int users_session_create(struct store *st, int64_t user_id, int64_t ttl_ms,
                         char token[USERS_TOKEN_SIZE], int64_t *expires_at, struct err *e) WUR;
/* The user of a live session; -ERR_NOT_FOUND when unknown or expired. */
int users_by_session(struct store *st, const char *token, size_t len, struct user *out,
                     struct err *e) WUR;
/* Create a one-time login link token for a user, valid ttl_ms. */
int users_login_create(struct store *st, int64_t user_id, int64_t ttl_ms,
                       char token[USERS_TOKEN_SIZE], struct err *e) WUR;
/* Use a login token: *out gets its user. Single use: -ERR_NOT_FOUND when
 * unknown, used or expired (and for a second use of a good one). */
int users_login_consume(struct store *st, const char *token, size_t len, struct user *out,
                        struct err *e) WUR;
/* Record that the user with this Telegram id blocked (or unblocked) the bot;
 * unknown users are ignored. */
int users_set_blocked(struct store *st, int64_t telegram_id, int blocked, struct err *e) WUR;
/* Mark onboarding complete (keeps the first time). */
int users_set_onboarded(struct store *st, int64_t id, struct err *e) WUR;

/*
 * Lock user id's row for the rest of c's transaction: one user's changes
 * that count or move things (posts, channels, billing) happen one at a time,
 * and always take this lock first. -ERR_NOT_FOUND for no such user.
 */
struct store_conn;
int users_lock(struct store_conn *c, int64_t id, struct err *e) WUR;

/* Write an audit_log entry on c (inside the caller's transaction); actor 0
 * for none. */
struct store_conn;
int users_audit(struct store_conn *c, int64_t actor, const char *action, const char *subject,
                const char *detail, struct err *e) WUR;

/* End a session; ending an unknown one is not an error. */
int users_session_delete(struct store *st, const char *token, size_t len, struct err *e) WUR;

#endif
