-- The bot: plans (with the limits of product.md section 6), channels, the
-- update inbox, conversations, one-time login links and bot state.

CREATE TABLE plans (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	max_channels BIGINT NOT NULL,
	max_posts_month BIGINT NOT NULL,
	position BIGINT NOT NULL DEFAULT 0
);
INSERT INTO plans (id, name, max_channels, max_posts_month, position) VALUES
	('free', 'Free', 1, 30, 0),
	('pro', 'Pro', 3, 200, 1),
	('business', 'Business', 10, 2000, 2);

-- plan: until billing derives it from subscriptions; onboarded_at: the end
-- of /start; bot_blocked_at: the user blocked the bot (NULL: reachable).
ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
ALTER TABLE users ADD COLUMN onboarded_at BIGINT;
ALTER TABLE users ADD COLUMN bot_blocked_at BIGINT;

-- A channel a user connected. status: ok, missing_rights, bot_not_admin,
-- bot_removed, user_not_admin, unreachable; missing: the rights the bot
-- lacks, comma separated. removed_at: the user removed it (history kept).
CREATE TABLE channels (
	id {{ID}},
	owner_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	chat_id BIGINT NOT NULL,
	title TEXT NOT NULL DEFAULT '',
	username TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	missing TEXT NOT NULL DEFAULT '',
	checked_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	removed_at BIGINT,
	UNIQUE (owner_id, chat_id)
);
CREATE INDEX channels_chat ON channels(chat_id);

-- Every update received (webhook or polling), once per (bot, update id).
-- Handled in id order within a lane (a hash of the chat), so one chat's
-- updates keep their order. state: new, done, failed.
CREATE TABLE tg_updates (
	id {{ID}},
	bot_id BIGINT NOT NULL,
	update_id BIGINT NOT NULL,
	lane BIGINT NOT NULL,
	chat_id BIGINT NOT NULL DEFAULT 0,
	body TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT 'new',
	attempts BIGINT NOT NULL DEFAULT 0,
	error TEXT NOT NULL DEFAULT '',
	received_at BIGINT NOT NULL,
	done_at BIGINT,
	UNIQUE (bot_id, update_id)
);
CREATE INDEX tg_updates_pending ON tg_updates(state, lane, id);

-- Where a chat's conversation with the bot stands (survives restarts).
CREATE TABLE conversations (
	chat_id BIGINT PRIMARY KEY,
	state TEXT NOT NULL,
	data TEXT NOT NULL DEFAULT '{}',
	updated_at BIGINT NOT NULL
);

-- One-time dashboard login links from /login (stored as SHA-256).
CREATE TABLE login_tokens (
	token_hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT
);

-- Small named values the bot keeps (the polling offset).
CREATE TABLE bot_state (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
