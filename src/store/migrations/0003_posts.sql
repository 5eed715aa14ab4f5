-- Posts, their deliveries, durable jobs and idempotency keys (issue 4).

-- A post: its content (canonical JSON: text, media, buttons, options,
-- channels, schedule) as validated by posts/posts.c. status: draft,
-- scheduled, done (every occurrence expanded and settled), canceled.
-- Recurring posts are expanded ahead of time: expanded counts the
-- occurrences made into deliveries so far, expanded_to the last one's
-- instant. zone: the IANA zone the schedule is read in.
CREATE TABLE posts (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	status TEXT NOT NULL,
	spec TEXT NOT NULL,
	zone TEXT NOT NULL,
	first_at BIGINT,
	adjust TEXT NOT NULL DEFAULT 'exact',
	expanded BIGINT NOT NULL DEFAULT 0,
	expanded_to BIGINT NOT NULL DEFAULT 0,
	version BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX posts_user ON posts(user_id, id);
CREATE INDEX posts_expand ON posts(status, expanded_to);

-- One post to one channel at one occurrence. state: scheduled, sending,
-- sent, retrying, failed, uncertain, canceled. message_ids: a JSON array of
-- the Telegram messages it made (an album and its buttons message are
-- several); the first is the one pinned. lateness_ms: sent_at - due_at.
CREATE TABLE deliveries (
	id {{ID}},
	post_id BIGINT NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	user_id BIGINT NOT NULL,
	chat_id BIGINT NOT NULL,
	occurrence BIGINT NOT NULL,
	due_at BIGINT NOT NULL,
	state TEXT NOT NULL,
	attempts BIGINT NOT NULL DEFAULT 0,
	reason TEXT NOT NULL DEFAULT '',
	message_ids TEXT NOT NULL DEFAULT '[]',
	sending_at BIGINT,
	sent_at BIGINT,
	lateness_ms BIGINT,
	pinned_at BIGINT,
	deleted_at BIGINT,
	edited_at BIGINT,
	updated_at BIGINT NOT NULL,
	UNIQUE (post_id, channel_id, occurrence)
);
CREATE INDEX deliveries_user_due ON deliveries(user_id, due_at);
CREATE INDEX deliveries_state ON deliveries(state, due_at);

-- Durable jobs. kind: deliver, pin, delete, edit, notify, expand; ref: the
-- delivery (or post, for expand). Jobs of one chat_key (a channel's chat id;
-- 0: none) run one at a time in (order_at, id) order, each no earlier than
-- run_at. A worker leases a job (state leased, lease_owner, lease_until on
-- the real clock, renewed while it works); the watchdog takes back leases
-- that ran out. Finished jobs are deleted; dead ones stay with last_error.
CREATE TABLE jobs (
	id {{ID}},
	kind TEXT NOT NULL,
	ref BIGINT NOT NULL,
	chat_key BIGINT NOT NULL DEFAULT 0,
	order_at BIGINT NOT NULL,
	run_at BIGINT NOT NULL,
	state TEXT NOT NULL DEFAULT 'ready',
	lease_owner TEXT,
	lease_until BIGINT,
	attempts BIGINT NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_chat ON jobs(chat_key, state, order_at, id);
CREATE INDEX jobs_ref ON jobs(ref, kind);

-- Idempotency-Key of POST requests, per user. ref: what the first request
-- made (a post id); status and answer: its response, once recorded.
CREATE TABLE idempotency_keys (
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	idem_key TEXT NOT NULL,
	scope TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	ref BIGINT NOT NULL DEFAULT 0,
	status BIGINT NOT NULL DEFAULT 0,
	answer TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, idem_key)
);
