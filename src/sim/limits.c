/*
 * limits: Telegram's flood control as token buckets (protocols.md A.11): a
 * private chat refills one message a second and holds five (short bursts
 * pass), a channel twenty a minute and holds twenty, the bot as a whole
 * thirty a second. A send that finds a bucket empty is refused with 429 and
 * retry_after, the seconds until a message would pass, which also opens a
 * window for the whole bot: any send before it ends is another violation.
 * Injected failures are rules matched in the order they were added.
 */
#include "sim/sim_impl.h"

#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "lib/clock.h"

struct rate {
	double cap, per_s;
};

static const struct rate private_rate = {5, 1};
static const struct rate channel_rate = {20, 20.0 / 60.0};
static const struct rate global_rate = {30, 30};

static void refill(struct sim_bucket *b, struct rate r, int64_t now)
{
	if (!b->at_ms) {
		b->tokens = r.cap;
		b->at_ms = now;
		return;
	}
	b->tokens += (double)(now - b->at_ms) * r.per_s / 1000.0;
	if (b->tokens > r.cap)
		b->tokens = r.cap;
	b->at_ms = now;
}

/* Milliseconds until b holds a whole token; 0 when it does. */
static double wait_ms(const struct sim_bucket *b, struct rate r)
{
	if (b->tokens >= 1.0 - 1e-9)
		return 0;
	return (1.0 - b->tokens) / r.per_s * 1000.0;
}

bool sim_limit_take(struct sim_call *c, struct sim_chat *ch)
{
	struct sim *s = c->s;
	struct rate r = ch->type == SIM_PRIVATE ? private_rate : channel_rate;
	int64_t now = clock_mono_ms();
	double w;

	if (!s->rate_limits)
		return true;
	refill(&ch->bucket, r, now);
	refill(&s->global, global_rate, now);
	w = fmax(wait_ms(&ch->bucket, r), wait_ms(&s->global, global_rate));
	if (w > 0) {
		int after = (int)ceil(w / 1000.0);

		if (after < 1)
			after = 1;
		s->retry_until_ms = now + (int64_t)after * 1000;
		s->violations++;
		s->too_many++;
		c->retry_after = after;
		sim_fail(c, 429, "Too Many Requests: retry after %d", after);
		return false;
	}
	ch->bucket.tokens -= 1;
	s->global.tokens -= 1;
	return true;
}

struct sim_fail *sim_fail_match(struct sim *s, const char *method, bool has_chat, int64_t chat_id)
{
	for (size_t i = 0; i < s->nfails; i++) {
		struct sim_fail *f = &s->fails[i];

		if (f->remaining <= 0)
			continue;
		if (f->method[0] && !(f->method[0] == '*' && !f->method[1]) &&
		    strcasecmp(f->method, method) != 0)
			continue;
		if (f->has_chat && (!has_chat || f->chat_id != chat_id))
			continue;
		f->remaining--;
		return f;
	}
	return NULL;
}

json_t *sim_fail_json(const struct sim_fail *f)
{
	static const char *const kinds[] = {"error", "hang", "429"};
	json_t *o = json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)f->id, "method",
	                      f->method[0] ? f->method : "*", "kind", kinds[f->kind], "remaining",
	                      (json_int_t)f->remaining);

	if (f->has_chat)
		json_object_set_new(o, "chat_id", json_integer(f->chat_id));
	switch (f->kind) {
	case SIM_FAIL_ERROR:
		json_object_set_new(o, "status", json_integer(f->status));
		json_object_set_new(o, "description", json_string(f->description));
		break;
	case SIM_FAIL_HANG:
		json_object_set_new(o, "hang_ms", json_integer(f->hang_ms));
		break;
	case SIM_FAIL_429:
		json_object_set_new(o, "retry_after", json_integer(f->retry_after));
		break;
	}
	return o;
}

void sim_fails_clear(struct sim *s)
{
	for (size_t i = 0; i < s->nfails; i++)
		free(s->fails[i].description);
	free(s->fails);
	s->fails = NULL;
	s->nfails = 0;
}
