-- Users, API keys, dashboard sessions and the audit log.
-- {{ID}} is an auto-assigned 64-bit primary key in each backend's dialect.
-- Instants are Unix milliseconds in UTC.

CREATE TABLE users (
	id {{ID}},
	telegram_id BIGINT NOT NULL UNIQUE,
	name TEXT NOT NULL DEFAULT '',
	language TEXT NOT NULL DEFAULT 'en',
	time_zone TEXT NOT NULL DEFAULT 'UTC',
	created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	key_hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys(user_id);

CREATE TABLE sessions (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
	id {{ID}},
	at BIGINT NOT NULL,
	actor_user_id BIGINT,
	action TEXT NOT NULL,
	subject TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log(at);
