-- The scheduler's claim order (docs/scheduling.md, "Fairness"). Of the due
-- jobs that head their chat, the one due longest ago goes first (order_at,
-- not run_at: a job put back to wait for a rate bucket keeps its place),
-- and among jobs due at the same instant the chats take turns: seq is how
-- many jobs of the same chat and instant were queued before this one, so
-- every channel's first post goes before any channel's second. Without the
-- turns, 10,000 deliveries due in one minute went out in the order they
-- were created, and the channels created last were left to the end, where
-- their own limit (20 a minute) and not the bot's set the pace.
ALTER TABLE jobs ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_ready ON jobs(state, order_at, seq, id);
