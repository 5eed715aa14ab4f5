/*
 * webhook: the delivery thread. While a webhook URL is set it POSTs the
 * update at the head of the queue (so one at a time, in update_id order) as
 * application/json, with X-Telegram-Bot-Api-Secret-Token when a secret was
 * set. A 2xx answer removes the update; anything else (or no answer) is
 * retried after a backoff that starts at retry_base_ms and doubles up to
 * retry_max_ms, and after max_attempts tries the update is given up and the
 * next one goes. Failures set last_error_date and last_error_message as
 * getWebhookInfo shows them. The HTTP call runs without the mutex. While
 * the queue is empty the thread brings the audience model to the clock
 * once a minute, so its updates come even when the bot calls nothing.
 */
#include "sim/sim_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"

static const char *reason(long status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

void sim_webhook_record(struct sim *s, int64_t update_id, long status, int attempt,
                        const char *error)
{
	struct sim_attempt *a = &s->wh.log[s->wh.logpos];

	a->update_id = update_id;
	a->status = status;
	a->attempt = attempt;
	a->at_ms = clock_now_ms();
	snprintf(a->error, sizeof(a->error), "%s", error ? error : "");
	s->wh.logpos = (s->wh.logpos + 1) % SIM_MAX_ATTEMPTS;
	if (s->wh.nlog < SIM_MAX_ATTEMPTS)
		s->wh.nlog++;
}

static int64_t backoff(const struct sim_webhook *w, int failed)
{
	int64_t d = w->retry_base_ms;

	for (int i = 1; i < failed && d < w->retry_max_ms; i++)
		d *= 2;
	return d < w->retry_max_ms ? d : w->retry_max_ms;
}

/* Deliver the head update once; mu is held on entry and on return. */
static void deliver(struct sim *s)
{
	struct sim_webhook *w = &s->wh;
	struct hc_req rq = {0};
	struct hc_resp rs = {0};
	struct err e = {0};
	char secret_hdr[320], msg[sizeof(e.msg) + 32];
	int64_t id = s->updates[0].id;
	int attempt = w->attempt + 1, rc;
	char *body = json_dumps(s->updates[0].u, JSON_COMPACT);
	char *url = xstrdup(w->url);

	rq.method = "POST";
	rq.url = url;
	rq.content_type = "application/json";
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_ms = (long)w->timeout_ms;
	rq.max_response = 64 * 1024;
	if (w->secret) {
		snprintf(secret_hdr, sizeof(secret_hdr), "X-Telegram-Bot-Api-Secret-Token: %s",
		         w->secret);
		rq.headers[0] = secret_hdr;
	}
	pthread_mutex_unlock(&s->mu);
	rc = hc_do(&rq, &rs, &e);
	pthread_mutex_lock(&s->mu);

	msg[0] = '\0';
	if (rc == -ERR_TIMEOUT)
		snprintf(msg, sizeof(msg), "Read timeout expired");
	else if (rc)
		snprintf(msg, sizeof(msg), "Connection failed: %s", e.msg);
	else if (rs.status < 200 || rs.status > 299)
		snprintf(msg, sizeof(msg), "Wrong response from the webhook: %ld %s", rs.status,
		         reason(rs.status));
	sim_webhook_record(s, id, rc ? 0 : rs.status, attempt, msg[0] ? msg : NULL);
	log_debug("msg=\"webhook delivery\" update_id=%lld attempt=%d status=%ld", (long long)id,
	          attempt, rc ? 0 : rs.status);
	if (s->nupdates && s->updates[0].id == id) {
		if (!msg[0]) {
			w->delivered++;
			sim_updates_drop(s, 1);
		} else {
			w->failed++;
			w->last_error_date = clock_now_ms() / 1000;
			free(w->last_error_message);
			w->last_error_message = xstrdup(msg);
			if (attempt >= w->max_attempts) {
				w->given_up++;
				sim_updates_drop(s, 1);
			} else {
				w->attempt = attempt;
				w->next_at_ms = clock_mono_ms() + backoff(w, attempt);
			}
		}
	}
	sim_broadcast(s);
	hc_resp_release(&rs);
	free(body);
	free(url);
}

void *sim_webhook_main(void *arg)
{
	struct sim *s = arg;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		if (!s->wh.url) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		if (!s->nupdates) {
			/* nobody may be calling while the bot waits for deliveries:
			 * the audience's joins, leaves and reactions still come */
			sim_audience_tick(s);
			if (!s->nupdates)
				sim_wait_until(s, clock_mono_ms() + SIM_AUD_REACTION_STEP_S * 1000);
			continue;
		}
		if (s->wh.next_at_ms > clock_mono_ms()) {
			sim_wait_until(s, s->wh.next_at_ms);
			continue;
		}
		deliver(s);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

json_t *sim_webhook_info(struct sim *s)
{
	struct sim_webhook *w = &s->wh;
	json_t *o =
	    json_pack("{s:s, s:b, s:I}", "url", w->url ? w->url : "", "has_custom_certificate", 0,
	              "pending_update_count", (json_int_t)s->nupdates);

	if (w->url) {
		json_object_set_new(o, "max_connections", json_integer(w->max_connections));
		if (w->ip_address)
			json_object_set_new(o, "ip_address", json_string(w->ip_address));
		if (s->allowed)
			json_object_set_new(o, "allowed_updates", json_deep_copy(s->allowed));
	}
	if (w->last_error_date) {
		json_object_set_new(o, "last_error_date", json_integer(w->last_error_date));
		json_object_set_new(
		    o, "last_error_message",
		    json_string(w->last_error_message ? w->last_error_message : ""));
	}
	return o;
}
