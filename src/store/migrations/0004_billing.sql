-- Billing (issue 5): plan prices, subscriptions, orders, the ledger of
-- payments and refunds, the provider event ledger, and the transactions of
-- Payme and Click as their protocols need them (protocols.md C and D).
-- Money is an integer in minor units beside an ISO code: USD in cents, UZS
-- in tiyin (1 so'm = 100 tiyin), XTR in whole Telegram Stars. provider is
-- one of stripe, payme, click, stars. Rows about money are never deleted and
-- do not cascade: a user who has paid cannot be deleted by accident.

-- What a plan costs, per currency and period (month, year); the operator
-- may change these. A plan with no price row cannot be bought: free has
-- none, it is what a user has without a live subscription. The defaults
-- follow product.md section 6; yearly costs about ten months. Stars are
-- priced near what Telegram charges buyers (about 50 Stars a dollar).
CREATE TABLE plan_prices (
	plan_id TEXT NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	currency TEXT NOT NULL CHECK (currency IN ('USD', 'UZS', 'XTR')),
	period TEXT NOT NULL CHECK (period IN ('month', 'year')),
	amount BIGINT NOT NULL CHECK (amount > 0),
	updated_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (plan_id, currency, period)
);
INSERT INTO plan_prices (plan_id, currency, period, amount) VALUES
	('pro', 'USD', 'month', 999),
	('pro', 'USD', 'year', 9999),
	('pro', 'UZS', 'month', 12000000),
	('pro', 'UZS', 'year', 120000000),
	('pro', 'XTR', 'month', 500),
	('pro', 'XTR', 'year', 5000),
	('business', 'USD', 'month', 2999),
	('business', 'USD', 'year', 29999),
	('business', 'UZS', 'month', 36000000),
	('business', 'UZS', 'year', 360000000),
	('business', 'XTR', 'month', 1500),
	('business', 'XTR', 'year', 15000);

-- A user's paid plan over time. state is moved only by billing/subs.c:
-- trialing, active, past_due (the period ended unpaid or a renewal failed;
-- the plan holds until grace_until), canceled (will not renew; the plan
-- holds until current_period_end), expired (over for good: a new purchase
-- starts a new row). At most one live (trialing, active, past_due,
-- canceled) subscription per user. provider_subscription_id and
-- provider_customer_id: Stripe's sub_... and cus_... (NULL for the others,
-- which do not renew on their own). cancel_at_period_end is 0 or 1, as the
-- provider last said. version counts updates, for compare-and-set when
-- webhooks race.
CREATE TABLE subscriptions (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id),
	plan_id TEXT NOT NULL REFERENCES plans(id),
	period TEXT NOT NULL CHECK (period IN ('month', 'year')),
	state TEXT NOT NULL
		CHECK (state IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
	provider TEXT NOT NULL CHECK (provider IN ('stripe', 'payme', 'click', 'stars')),
	provider_subscription_id TEXT,
	provider_customer_id TEXT,
	current_period_start BIGINT,
	current_period_end BIGINT,
	cancel_at_period_end BIGINT NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
	grace_until BIGINT,
	canceled_at BIGINT,
	ended_at BIGINT,
	version BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (provider, provider_subscription_id)
);
CREATE UNIQUE INDEX subscriptions_live ON subscriptions(user_id)
	WHERE state IN ('trialing', 'active', 'past_due', 'canceled');
CREATE INDEX subscriptions_user ON subscriptions(user_id, id);
-- Reminders before the end, period ends and grace ends, found by time.
CREATE INDEX subscriptions_period_end ON subscriptions(state, current_period_end);
CREATE INDEX subscriptions_grace ON subscriptions(state, grace_until);
CREATE INDEX subscriptions_customer ON subscriptions(provider, provider_customer_id);

-- What a user is buying: a plan for a period through a provider, at the
-- price of the moment (amount, currency). Payme's account.order_id, Click's
-- merchant_trans_id and the Stars invoice payload name an order; for Stripe
-- provider_ref is the Checkout Session (cs_...), for Stars the invoice
-- payload. state: pending (awaiting payment), reserved (a Payme or Click
-- transaction holds it), paid, canceled, expired (unpaid at expires_at),
-- refunded. subscription_id: the subscription it renews or started.
CREATE TABLE orders (
	id {{ID}},
	user_id BIGINT NOT NULL REFERENCES users(id),
	plan_id TEXT NOT NULL REFERENCES plans(id),
	period TEXT NOT NULL CHECK (period IN ('month', 'year')),
	provider TEXT NOT NULL CHECK (provider IN ('stripe', 'payme', 'click', 'stars')),
	amount BIGINT NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL CHECK (currency IN ('USD', 'UZS', 'XTR')),
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'reserved', 'paid', 'canceled', 'expired', 'refunded')),
	subscription_id BIGINT REFERENCES subscriptions(id),
	provider_ref TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	paid_at BIGINT,
	updated_at BIGINT NOT NULL,
	UNIQUE (provider, provider_ref)
);
CREATE INDEX orders_user ON orders(user_id, id);
CREATE INDEX orders_state ON orders(state, expires_at);

-- The ledger: every payment and refund, as the provider reported it.
-- kind: payment or refund (amount is positive either way; refund_of names
-- the payment a refund returns). provider_payment_id: Stripe's invoice for
-- payments and re_... for refunds, Payme's transaction id, Click's
-- click_trans_id, Stars' telegram_payment_charge_id (a Payme or Stars refund
-- reuses the payment's id, hence kind in the key). status: pending,
-- succeeded, failed; a failed payment may succeed later (a retried Stripe
-- invoice), attempts counts the tries. reason: the provider's failure or
-- refund reason, shown to the user and the operator.
CREATE TABLE payments (
	id {{ID}},
	kind TEXT NOT NULL CHECK (kind IN ('payment', 'refund')),
	user_id BIGINT NOT NULL REFERENCES users(id),
	subscription_id BIGINT REFERENCES subscriptions(id),
	order_id BIGINT REFERENCES orders(id),
	refund_of BIGINT REFERENCES payments(id),
	provider TEXT NOT NULL CHECK (provider IN ('stripe', 'payme', 'click', 'stars')),
	provider_payment_id TEXT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL CHECK (currency IN ('USD', 'UZS', 'XTR')),
	status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
	reason TEXT NOT NULL DEFAULT '',
	attempts BIGINT NOT NULL DEFAULT 1,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	UNIQUE (provider, provider_payment_id, kind)
);
CREATE INDEX payments_user ON payments(user_id, created_at);
CREATE INDEX payments_subscription ON payments(subscription_id, created_at);
CREATE INDEX payments_order ON payments(order_id);
CREATE INDEX payments_refund_of ON payments(refund_of);
-- Revenue and failures over time, per provider.
CREATE INDEX payments_created ON payments(created_at, provider);

-- Every provider event applied, once: written in the same transaction as
-- its effects, so a repeat finds its row and changes nothing. event_id:
-- Stripe's evt_..., and for the others a key made from what identifies the
-- call (e.g. Payme's method and transaction id, Click's click_trans_id and
-- action, Stars' telegram_payment_charge_id). effect: a short summary of
-- what it did ("subscription 7 active -> past_due", "ignored: stale").
-- answer: the reply sent, when a repeat must get the same bytes.
CREATE TABLE provider_events (
	id {{ID}},
	provider TEXT NOT NULL CHECK (provider IN ('stripe', 'payme', 'click', 'stars')),
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	user_id BIGINT,
	subscription_id BIGINT,
	effect TEXT NOT NULL DEFAULT '',
	answer TEXT,
	received_at BIGINT NOT NULL,
	UNIQUE (provider, event_id)
);
CREATE INDEX provider_events_received ON provider_events(received_at);

-- Payme Merchant API transactions (protocols.md C.3-C.7, C.10). id is our
-- own transaction id, answered to Payme as a string. payme_id: Payme's
-- 24-character id; payme_time: the time Payme sent in CreateTransaction
-- (the 12-hour timeout and GetStatement go by it); amount in tiyin; account:
-- the account object as received (JSON). state: 1 created, 2 performed, -1
-- canceled before perform, -2 canceled after perform. reason: Payme's cancel
-- reason, any integer, NULL unless canceled. create_time, perform_time and
-- cancel_time are ours, fixed once set so repeats answer the same; 0 means
-- not yet, as CheckTransaction answers. An order has at most one
-- transaction in state 1 or 2 (a one-time account).
CREATE TABLE payme_transactions (
	id {{ID}},
	payme_id TEXT NOT NULL UNIQUE,
	payme_time BIGINT NOT NULL,
	amount BIGINT NOT NULL CHECK (amount > 0),
	account TEXT NOT NULL,
	order_id BIGINT NOT NULL REFERENCES orders(id),
	state BIGINT NOT NULL CHECK (state IN (1, 2, -1, -2)),
	reason BIGINT,
	create_time BIGINT NOT NULL,
	perform_time BIGINT NOT NULL DEFAULT 0,
	cancel_time BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX payme_transactions_live ON payme_transactions(order_id)
	WHERE state IN (1, 2);
CREATE INDEX payme_transactions_order ON payme_transactions(order_id, state);
CREATE INDEX payme_transactions_time ON payme_transactions(payme_time);
-- Transactions still in state 1, to cancel them at the timeout.
CREATE INDEX payme_transactions_pending ON payme_transactions(state, payme_time);

-- Click SHOP API payments (protocols.md D.2-D.6). id is the
-- merchant_prepare_id we answer to Prepare (and merchant_confirm_id to
-- Complete). click_trans_id, service_id, click_paydoc_id, merchant_trans_id:
-- as Click sent them; amount: the amount text exactly as received (the sign
-- covers those bytes; "50000.00" is so'm), amount_minor the same in tiyin.
-- action (0 Prepare, 1 Complete), error and error_note, sign_time: those of
-- the last request applied. state: prepared, completed, canceled; answer:
-- our last reply's error code, for idempotent repeats. An order has at most
-- one completed payment.
CREATE TABLE click_transactions (
	id {{ID}},
	click_trans_id BIGINT NOT NULL UNIQUE,
	service_id BIGINT NOT NULL,
	click_paydoc_id BIGINT NOT NULL DEFAULT 0,
	merchant_trans_id TEXT NOT NULL,
	order_id BIGINT NOT NULL REFERENCES orders(id),
	amount TEXT NOT NULL,
	amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
	action BIGINT NOT NULL CHECK (action IN (0, 1)),
	error BIGINT NOT NULL DEFAULT 0,
	error_note TEXT NOT NULL DEFAULT '',
	sign_time TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('prepared', 'completed', 'canceled')),
	answer BIGINT NOT NULL DEFAULT 0,
	prepared_at BIGINT NOT NULL,
	completed_at BIGINT,
	canceled_at BIGINT
);
CREATE UNIQUE INDEX click_transactions_paid ON click_transactions(order_id)
	WHERE state = 'completed';
CREATE INDEX click_transactions_order ON click_transactions(order_id, state);
