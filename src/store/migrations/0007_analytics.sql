-- Analytics (issue 6): what the collectors measured, validated before it is
-- stored (docs/analytics.md). Every number keeps its source (bot_api: the
-- Bot API's getChatMemberCount; updates: channel_post, edited_channel_post,
-- message_reaction_count and chat_member updates; page: the public channel
-- page), when it was measured and whether it is approximate (the public
-- page rounds: 1.2K). Times are UTC ms.

-- How often a plan's channels are collected, and how long their points are
-- kept (product.md section 4; the operator may change them).
ALTER TABLE plans ADD COLUMN collect_every_ms BIGINT NOT NULL DEFAULT 21600000;
ALTER TABLE plans ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 90;
UPDATE plans SET collect_every_ms = 3600000, retention_days = 365 WHERE id = 'pro';
UPDATE plans SET collect_every_ms = 900000, retention_days = 730 WHERE id = 'business';

-- Channel-level series: metric is members (a count at measured_at), joins
-- or leaves (events counted over the minute of measured_at). A second point
-- of the same series at the same instant is a duplicate and is dropped.
CREATE TABLE metric_points (
	id {{ID}},
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	metric TEXT NOT NULL,
	source TEXT NOT NULL,
	measured_at BIGINT NOT NULL,
	value BIGINT NOT NULL,
	approx INTEGER NOT NULL DEFAULT 0,
	UNIQUE (channel_id, metric, source, measured_at)
);
CREATE INDEX metric_points_series ON metric_points(channel_id, metric, measured_at);

-- The channel's posts, made through Herald or not, with their latest
-- numbers. NULL: unknown (reactions on a channel that hides them, views of
-- a private channel). views never go down here: a lower reading is flagged
-- (flags counts them) and the stored value stays.
CREATE TABLE channel_posts (
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	message_id BIGINT NOT NULL,
	posted_at BIGINT NOT NULL,
	kind TEXT NOT NULL DEFAULT 'text',
	views BIGINT,
	views_approx INTEGER NOT NULL DEFAULT 0,
	views_at BIGINT,
	views_24h BIGINT,
	views_48h BIGINT,
	reactions BIGINT,
	reactions_source TEXT NOT NULL DEFAULT '',
	forwards BIGINT,
	edited_at BIGINT,
	source TEXT NOT NULL,
	seen_at BIGINT NOT NULL,
	flags BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, message_id)
);
CREATE INDEX channel_posts_time ON channel_posts(channel_id, posted_at);

-- Views of a post over time, while it is young (reach at 24 h and 48 h,
-- view velocity for trending posts).
CREATE TABLE post_snapshots (
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	message_id BIGINT NOT NULL,
	measured_at BIGINT NOT NULL,
	views BIGINT NOT NULL,
	approx INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, message_id, measured_at)
);

-- One row per channel and UTC day, made by the collector: the last member
-- count, joins, leaves, posts published and views they had.
CREATE TABLE daily_rollups (
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	day BIGINT NOT NULL,
	members BIGINT,
	joins BIGINT NOT NULL DEFAULT 0,
	leaves BIGINT NOT NULL DEFAULT 0,
	posts BIGINT NOT NULL DEFAULT 0,
	views BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, day)
);

-- Each source's health per channel: its last success, its last failure
-- with the reason, and how many points it had rejected or flagged.
CREATE TABLE collect_sources (
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	source TEXT NOT NULL,
	ok_at BIGINT,
	error_at BIGINT,
	error TEXT NOT NULL DEFAULT '',
	rejected BIGINT NOT NULL DEFAULT 0,
	flagged BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (channel_id, source)
);

-- One collect job per channel at most (the tick makes missing ones).
CREATE UNIQUE INDEX jobs_collect ON jobs(ref) WHERE kind = 'collect';
