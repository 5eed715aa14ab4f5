-- Billing lifecycle (issue 5): reminders before a period ends, notices to
-- the user through the bot, and channels paused when a plan's limit drops.

-- When the reminder to pay for the next period went (Payme, Click and Stars
-- do not renew on their own); NULL: not yet for this period.
ALTER TABLE subscriptions ADD COLUMN reminded_at BIGINT;

-- What the user is told about billing, once each: kind is activated,
-- renewed, payment_failed, reminder, past_due, expired, cancel_requested,
-- reactivated, refunded, refunded_partial. detail: the provider's reason or
-- the amount, as shown. A notify job (sched) sends it through the bot in the
-- user's language and sets sent_at (or error when it could not be sent).
CREATE TABLE billing_notices (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id),
	kind TEXT NOT NULL,
	subscription_id BIGINT,
	payment_id BIGINT,
	order_id BIGINT,
	detail TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	sent_at BIGINT,
	error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX billing_notices_user ON billing_notices(user_id, id);

-- A channel over its owner's plan limit after a downgrade is paused, not
-- removed: its deliveries wait until the plan allows it again.
ALTER TABLE channels ADD COLUMN paused_at BIGINT;
