-- Alerts (issue 6, docs/alerts.md): rules a user sets on a channel, and the
-- events they fired. Times are UTC ms of the product clock.

-- A rule: kind is spike, quiet, growth, milestone or delivery; params its
-- settings as a JSON object (spike {"threshold"}, quiet {"hours"}, growth
-- {"percent", "window_hours"}, milestone {"subscribers"}, delivery {}).
-- muted_until: events found before then are recorded but not sent.
-- removed_at: the rule no longer fires; its events stay.
CREATE TABLE alert_rules (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('spike', 'quiet', 'growth', 'milestone', 'delivery')),
	params TEXT NOT NULL DEFAULT '{}',
	muted_until BIGINT,
	created_at BIGINT NOT NULL,
	removed_at BIGINT
);
CREATE INDEX alert_rules_user ON alert_rules(user_id, id);
CREATE INDEX alert_rules_channel ON alert_rules(channel_id, kind);

-- One event of a rule, once: event_key names it (spike:post:<message
-- id>:<instant>, spike:channel:<instant>, quiet:<last post instant>,
-- growth:<instant>, milestone:<subscribers>, delivery:<delivery id>), and the
-- UNIQUE key makes a second finding of the same event change nothing. It is
-- written in one transaction with the alert job that sends it. at: when it
-- happened; detail: its numbers for the message (JSON). state: pending (the
-- job will send it), sent, muted (found while the rule was muted, or muted
-- before it went), failed (could not be sent: error says why).
CREATE TABLE alert_events (
	id {{ID}},
	rule_id BIGINT NOT NULL REFERENCES alert_rules(id) ON DELETE CASCADE,
	channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	event_key TEXT NOT NULL,
	at BIGINT NOT NULL,
	detail TEXT NOT NULL DEFAULT '{}',
	state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'muted', 'failed')),
	created_at BIGINT NOT NULL,
	sent_at BIGINT,
	error TEXT NOT NULL DEFAULT '',
	UNIQUE (rule_id, event_key)
);
CREATE INDEX alert_events_channel ON alert_events(channel_id, id);
