/*
 * test_tg: the Bot API client through tg.h, with a fake transport that
 * records every request (URL, content type, JSON body or multipart parts)
 * and plays back scripted answers: request encoding of the methods, the
 * decoding of every failure kind, retries (429, 5xx, timeouts), the
 * flood-control buckets on the in-memory kv and, when HERALD_TEST_REDIS is
 * set (tests/servers.py), shared by two clients on one Redis, and that the
 * token appears in no error message and no log line.
 */
#include "tg/tg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kv/kv.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/crypto.h"
#include "lib/hc.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "lib/str.h"

#define API    "http://tg.test"
#define SECRET "AAHsecretPartOfTheToken_-x9"
#define TOKEN  "123456:" SECRET

#define MAX_SENT    64
#define MAX_PARTS   16
#define MAX_ANSWERS 16

struct rec_part {
	char *name, *data, *filename, *ctype;
	size_t len;
};

struct sent {
	char *url, *ctype, *body;
	struct rec_part parts[MAX_PARTS];
	size_t nparts;
	long timeout_ms;
	int64_t at_ms; /* monotonic */
};

struct answer {
	long status;
	const char *body;
	int rc;              /* non-zero: the transport fails with this (negative) code */
	const char *err_msg; /* with rc */
	bool sent;           /* with rc: the request had reached the server */
};

struct fake {
	pthread_mutex_t mu;
	struct answer answers[MAX_ANSWERS];
	size_t nanswers, next;
	struct sent sent[MAX_SENT];
	size_t nsent;
	int64_t delay_ms;           /* each request takes this long */
	int inflight, max_inflight; /* requests under way at once */
};

static const char ok_msg[] = "{\"ok\":true,\"result\":{\"message_id\":7,\"chat\":{\"id\":42}}}";

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int fake_send(void *arg, const struct hc_req *rq, struct hc_resp *rs, struct err *e)
{
	struct fake *f = arg;
	struct answer a = {200, ok_msg, 0, NULL, false};
	struct sent *s;
	int rc = 0;

	pthread_mutex_lock(&f->mu);
	assert_true(f->nsent < MAX_SENT);
	s = &f->sent[f->nsent++];
	s->url = xstrdup(rq->url);
	s->timeout_ms = rq->timeout_ms;
	s->at_ms = clock_mono_ms();
	if (rq->parts) {
		assert_true(rq->nparts <= MAX_PARTS);
		for (size_t i = 0; i < rq->nparts; i++) {
			const struct hc_part *p = &rq->parts[i];
			struct rec_part *r = &s->parts[s->nparts++];

			r->name = xstrdup(p->name);
			r->data = xmalloc(p->len + 1); /* binary: may hold NULs */
			memcpy(r->data, p->data, p->len);
			r->data[p->len] = '\0';
			r->len = p->len;
			r->filename = dup_or_null(p->filename);
			r->ctype = dup_or_null(p->content_type);
		}
	} else {
		s->ctype = dup_or_null(rq->content_type);
		s->body = xstrndup(rq->body, rq->body_len);
	}
	if (f->next < f->nanswers)
		a = f->answers[f->next++];
	if (++f->inflight > f->max_inflight)
		f->max_inflight = f->inflight;
	pthread_mutex_unlock(&f->mu);
	if (f->delay_ms)
		clock_sleep_ms(f->delay_ms);
	pthread_mutex_lock(&f->mu);
	f->inflight--;
	pthread_mutex_unlock(&f->mu);

	buf_init(&rs->body, rq->max_response ? rq->max_response : 1 << 20);
	rs->sent = a.sent;
	if (a.rc)
		return err_set(e, -a.rc, "%s", a.err_msg ? a.err_msg : "fake transport failure");
	rs->status = a.status;
	rc = buf_adds(&rs->body, a.body);
	assert_int_equal(rc, 0);
	return 0;
}

static void fake_script(struct fake *f, long status, const char *body)
{
	assert_true(f->nanswers < MAX_ANSWERS);
	f->answers[f->nanswers++] = (struct answer){status, body, 0, NULL, false};
}

static void fake_fail(struct fake *f, int rc, const char *msg)
{
	assert_true(f->nanswers < MAX_ANSWERS);
	f->answers[f->nanswers++] = (struct answer){0, NULL, rc, msg, false};
}

static void fake_reset(struct fake *f)
{
	for (size_t i = 0; i < f->nsent; i++) {
		struct sent *s = &f->sent[i];

		free(s->url);
		free(s->ctype);
		free(s->body);
		for (size_t j = 0; j < s->nparts; j++) {
			free(s->parts[j].name);
			free(s->parts[j].data);
			free(s->parts[j].filename);
			free(s->parts[j].ctype);
		}
	}
	f->nsent = f->nanswers = f->next = 0;
	memset(f->sent, 0, sizeof(f->sent));
}

/* Per test: a fake, its transport, and a client made by new_client. */
struct fx {
	struct fake fake;
	struct tg_transport tr;
	struct tg_client *c;
	struct kv *kv;
};

static int setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));

	pthread_mutex_init(&x->fake.mu, NULL);
	x->tr = (struct tg_transport){.send = fake_send, .arg = &x->fake};
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	tg_client_free(x->c);
	kv_free(x->kv);
	fake_reset(&x->fake);
	pthread_mutex_destroy(&x->fake.mu);
	free(x);
	return 0;
}

/* Options for the tests: fast backoff, and whatever o sets on top. */
static struct tg_client *new_client(struct fx *x, const struct tg_opts *over)
{
	struct tg_opts o = {0};
	struct err e = {0};

	if (over)
		o = *over;
	o.api = API;
	o.token = TOKEN;
	o.transport = &x->tr;
	if (!o.backoff_ms)
		o.backoff_ms = 10;
	tg_client_free(x->c);
	x->c = NULL;
	assert_int_equal(tg_client_new(&x->c, &o, &e), 0);
	return x->c;
}

static struct kv *mem_kv(struct fx *x)
{
	struct err e = {0};

	assert_int_equal(kv_open(&x->kv, NULL, &e), 0);
	return x->kv;
}

static json_t *sent_json(const struct sent *s)
{
	json_error_t je;
	json_t *v;

	assert_non_null(s->body);
	assert_string_equal(s->ctype, "application/json");
	v = json_loads(s->body, 0, &je);
	assert_non_null(v);
	return v;
}

static const struct rec_part *part(const struct sent *s, const char *name)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (strcmp(s->parts[i].name, name) == 0)
			return &s->parts[i];
	return NULL;
}

static json_t *markup(void)
{
	return json_pack("{s:[[{s:s,s:s},{s:s,s:s}]]}", "inline_keyboard", "text", "Pay", "url",
	                 "https://example.org/pay", "text", "Refresh", "callback_data",
	                 "refresh:42");
}

/* ---- construction ---- */

static void test_client_new(void **state)
{
	struct fx *x = *state;
	static const char *const bad[] = {
	    "",      "nocolon",      ":s3kr1t",      "12a4:s3kr1t",
	    "1234:", "1234:s3k/r1t", "1234:s3k r1t", "99999999999999999999:s3kr1t"};
	struct tg_client *c = NULL;
	struct err e;

	new_client(x, NULL);
	assert_int_equal(tg_client_bot_id(x->c), 123456);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tg_opts o = {.api = API, .token = bad[i], .transport = &x->tr};

		memset(&e, 0, sizeof(e));
		assert_int_equal(tg_client_new(&c, &o, &e), -ERR_INVALID);
		assert_null(c);
		assert_int_equal(e.code, ERR_INVALID);
		assert_true(e.msg[0] != '\0');
		if (strlen(bad[i]) > 3)
			assert_null(strstr(e.msg, bad[i]));
		assert_null(strstr(e.msg, "s3k"));
	}
	{
		struct tg_opts o = {.token = TOKEN, .chat_burst = 0.5};

		assert_int_equal(tg_client_new(&c, &o, &e), -ERR_INVALID);
		assert_null(c);
	}
}

/* ---- request encoding ---- */

static void test_send_message_json(void **state)
{
	struct fx *x = *state;
	json_t *mk = markup(), *msg = NULL, *body;
	struct tg_send_opts o = {.parse_mode = "HTML",
	                         .reply_markup = mk,
	                         .silent = true,
	                         .protect = true,
	                         .no_preview = true,
	                         .reply_to = 99};
	struct tg_error te;

	new_client(x, NULL);
	assert_int_equal(tg_send_message(x->c, -1001234567890LL, "<b>hi</b> é", &o, &msg, &te), 0);
	assert_int_equal(te.fail, TG_FAIL_NONE);
	assert_int_equal(json_integer_value(json_object_get(msg, "message_id")), 7);
	json_decref(msg);

	assert_int_equal(x->fake.nsent, 1);
	assert_string_equal(x->fake.sent[0].url, API "/bot" TOKEN "/sendMessage");
	body = sent_json(&x->fake.sent[0]);
	assert_int_equal(json_integer_value(json_object_get(body, "chat_id")), -1001234567890LL);
	assert_string_equal(json_string_value(json_object_get(body, "text")), "<b>hi</b> é");
	assert_string_equal(json_string_value(json_object_get(body, "parse_mode")), "HTML");
	assert_true(json_equal(json_object_get(body, "reply_markup"), mk));
	assert_true(json_is_true(json_object_get(body, "disable_notification")));
	assert_true(json_is_true(json_object_get(body, "protect_content")));
	assert_true(json_is_true(
	    json_object_get(json_object_get(body, "link_preview_options"), "is_disabled")));
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(body, "reply_parameters"), "message_id")),
	                 99);
	json_decref(body);

	/* no options: none of them is sent */
	assert_int_equal(tg_send_message(x->c, 42, "plain", NULL, NULL, NULL), 0);
	body = sent_json(&x->fake.sent[1]);
	assert_int_equal(json_object_size(body), 2);
	json_decref(body);
	/* the caller's markup is left as it was */
	assert_int_equal(mk->refcount, 1);
	json_decref(mk);
}

static void test_send_photo_multipart(void **state)
{
	struct fx *x = *state;
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0binary";
	json_t *mk = markup(), *v;
	struct tg_send_opts o = {.reply_markup = mk, .silent = true};
	struct tg_media m = {.kind = "photo",
	                     .filename = "r.png",
	                     .content_type = "image/png",
	                     .data = png,
	                     .len = sizeof(png) - 1,
	                     .caption = "Weekly report",
	                     .parse_mode = "HTML"};
	const struct rec_part *p;
	const struct sent *s;
	json_error_t je;

	new_client(x, NULL);
	assert_int_equal(tg_send_media(x->c, -1001234567890LL, &m, &o, NULL, NULL), 0);
	s = &x->fake.sent[0];
	assert_string_equal(s->url, API "/bot" TOKEN "/sendPhoto");
	assert_null(s->body);
	assert_non_null(p = part(s, "chat_id"));
	assert_string_equal(p->data, "-1001234567890");
	assert_null(p->filename);
	assert_non_null(p = part(s, "caption"));
	assert_string_equal(p->data, "Weekly report");
	assert_non_null(p = part(s, "parse_mode"));
	assert_string_equal(p->data, "HTML");
	assert_non_null(p = part(s, "disable_notification"));
	assert_string_equal(p->data, "true");
	/* objects travel as JSON strings in a form */
	assert_non_null(p = part(s, "reply_markup"));
	assert_null(p->filename);
	v = json_loads(p->data, 0, &je);
	assert_non_null(v);
	assert_true(json_equal(v, mk));
	json_decref(v);
	assert_non_null(p = part(s, "photo"));
	assert_string_equal(p->filename, "r.png");
	assert_string_equal(p->ctype, "image/png");
	assert_int_equal(p->len, sizeof(png) - 1);
	assert_memory_equal(p->data, png, sizeof(png) - 1);
	json_decref(mk);

	/* by reference: JSON, the field is the file_id */
	m = (struct tg_media){.kind = "document", .ref = "BQACAgIAAxkB"};
	assert_int_equal(tg_send_media(x->c, 42, &m, NULL, NULL, NULL), 0);
	s = &x->fake.sent[1];
	assert_string_equal(s->url, API "/bot" TOKEN "/sendDocument");
	v = sent_json(s);
	assert_string_equal(json_string_value(json_object_get(v, "document")), "BQACAgIAAxkB");
	json_decref(v);

	/* a string parameter with a NUL in it goes whole into its field */
	{
		json_t *params =
		    json_pack("{s:i,s:s%}", "chat_id", 42, "caption", "a\0b", (size_t)3);
		struct tg_file f = {.field = "document", .data = "D", .len = 1};

		assert_non_null(params);
		assert_int_equal(tg_call(x->c, "sendDocument", params, &f, 1, NULL, NULL), 0);
		json_decref(params);
		assert_non_null(p = part(&x->fake.sent[2], "caption"));
		assert_int_equal(p->len, 3);
		assert_memory_equal(p->data, "a\0b", 3);
		assert_non_null(p = part(&x->fake.sent[2], "document"));
		assert_string_equal(p->filename, "file");
	}

	m.kind = "sticker";
	assert_int_equal(tg_send_media(x->c, 42, &m, NULL, NULL, NULL), -ERR_INVALID);
	assert_int_equal(x->fake.nsent, 3);
}

static void test_send_media_group(void **state)
{
	struct fx *x = *state;
	struct tg_media items[3] = {
	    {.kind = "photo", .ref = "https://example.org/a.jpg", .caption = "Album"},
	    {.kind = "photo",
	     .filename = "b.jpg",
	     .content_type = "image/jpeg",
	     .data = "BB",
	     .len = 2},
	    {.kind = "video", .filename = "c.mp4", .data = "CCC", .len = 3, .caption = "ignored"},
	};
	json_t *media, *msgs = NULL;
	const struct rec_part *p;
	const struct sent *s;
	json_error_t je;

	new_client(x, NULL);
	fake_script(&x->fake, 200,
	            "{\"ok\":true,\"result\":[{\"message_id\":1},{\"message_id\":2}]}");
	assert_int_equal(tg_send_media_group(x->c, 42, items, 3, NULL, &msgs, NULL), 0);
	assert_true(json_is_array(msgs));
	assert_int_equal(json_array_size(msgs), 2);
	json_decref(msgs);

	s = &x->fake.sent[0];
	assert_string_equal(s->url, API "/bot" TOKEN "/sendMediaGroup");
	assert_non_null(p = part(s, "media"));
	media = json_loads(p->data, 0, &je);
	assert_non_null(media);
	assert_int_equal(json_array_size(media), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(media, 0), "media")),
	                    "https://example.org/a.jpg");
	assert_string_equal(json_string_value(json_object_get(json_array_get(media, 0), "caption")),
	                    "Album");
	assert_string_equal(json_string_value(json_object_get(json_array_get(media, 1), "media")),
	                    "attach://file1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(media, 2), "media")),
	                    "attach://file2");
	assert_string_equal(json_string_value(json_object_get(json_array_get(media, 2), "type")),
	                    "video");
	assert_null(json_object_get(json_array_get(media, 2), "caption"));
	json_decref(media);
	assert_non_null(p = part(s, "file1"));
	assert_string_equal(p->filename, "b.jpg");
	assert_string_equal(p->ctype, "image/jpeg");
	assert_string_equal(p->data, "BB");
	assert_non_null(p = part(s, "file2"));
	assert_string_equal(p->data, "CCC");
	assert_null(part(s, "file0"));

	/* all by reference: plain JSON */
	items[1] = (struct tg_media){.kind = "photo", .ref = "AgAC"};
	assert_int_equal(tg_send_media_group(x->c, 42, items, 2, NULL, NULL, NULL), 0);
	media = sent_json(&x->fake.sent[1]);
	assert_true(json_is_array(json_object_get(media, "media")));
	json_decref(media);

	assert_int_equal(tg_send_media_group(x->c, 42, items, 1, NULL, NULL, NULL), -ERR_INVALID);
	assert_int_equal(x->fake.nsent, 2);
}

static void test_get_chat(void **state)
{
	struct fx *x = *state;
	static const char *const names[] = {"herald_news", "@herald_news"};
	json_t *chat = NULL, *body;

	new_client(x, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		fake_script(&x->fake, 200,
		            "{\"ok\":true,\"result\":{\"id\":-1001,\"type\":\"channel\",\"x\":1}}");
		assert_int_equal(tg_get_chat(x->c, 0, names[i], &chat, NULL), 0);
		assert_int_equal(json_integer_value(json_object_get(chat, "id")), -1001);
		json_decref(chat);
		body = sent_json(&x->fake.sent[i]);
		assert_string_equal(x->fake.sent[i].url, API "/bot" TOKEN "/getChat");
		assert_string_equal(json_string_value(json_object_get(body, "chat_id")),
		                    "@herald_news");
		json_decref(body);
	}
	assert_int_equal(tg_get_chat(x->c, -100777, NULL, &chat, NULL), 0);
	json_decref(chat);
	body = sent_json(&x->fake.sent[2]);
	assert_int_equal(json_integer_value(json_object_get(body, "chat_id")), -100777);
	json_decref(body);
}

static void test_other_methods(void **state)
{
	struct fx *x = *state;
	struct tg_invoice inv = {.title = "Pro",
	                         .description = "One month",
	                         .payload = "plan:pro:1",
	                         .currency = "XTR",
	                         .label = "Pro",
	                         .amount = 250};
	json_t *body, *r = NULL;
	int64_t n = 0;
	size_t i = 0;

	new_client(x, &(struct tg_opts){.timeout_ms = 5000});

	fake_script(&x->fake, 200, "{\"ok\":true,\"result\":[]}");
	assert_int_equal(tg_get_updates(x->c, 101, 100, 25, tg_allowed_updates, &r, NULL), 0);
	assert_true(json_is_array(r));
	json_decref(r);
	/* the long poll's own time is added to the request timeout */
	assert_int_equal(x->fake.sent[i].timeout_ms, 5000 + 25000);
	body = sent_json(&x->fake.sent[i++]);
	assert_int_equal(json_integer_value(json_object_get(body, "offset")), 101);
	assert_int_equal(json_integer_value(json_object_get(body, "limit")), 100);
	assert_int_equal(json_integer_value(json_object_get(body, "timeout")), 25);
	assert_int_equal(json_array_size(json_object_get(body, "allowed_updates")), 9);
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(body, "allowed_updates"), 7)),
	    "message_reaction_count");
	json_decref(body);

	assert_int_equal(tg_get_updates(x->c, 0, 0, 0, NULL, NULL, NULL), 0);
	assert_int_equal(x->fake.sent[i].timeout_ms, 5000);
	body = sent_json(&x->fake.sent[i++]);
	assert_null(json_object_get(body, "allowed_updates"));
	json_decref(body);

	assert_int_equal(
	    tg_set_webhook(x->c, "https://h.example/tg", "s3cr3t", tg_allowed_updates, true, NULL),
	    0);
	assert_string_equal(x->fake.sent[i].url, API "/bot" TOKEN "/setWebhook");
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "url")),
	                    "https://h.example/tg");
	assert_string_equal(json_string_value(json_object_get(body, "secret_token")), "s3cr3t");
	assert_true(json_is_true(json_object_get(body, "drop_pending_updates")));
	assert_true(json_is_array(json_object_get(body, "allowed_updates")));
	json_decref(body);

	assert_int_equal(tg_send_invoice(x->c, 42, &inv, NULL, NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "currency")), "XTR");
	assert_null(json_object_get(body, "provider_token"));
	assert_int_equal(json_array_size(json_object_get(body, "prices")), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(body, "prices"), 0), "amount")),
	                 250);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(body, "prices"), 0), "label")),
	                    "Pro");
	json_decref(body);

	inv.currency = "USD";
	inv.provider_token = "284685063:TEST:abc";
	assert_int_equal(tg_send_invoice(x->c, 42, &inv, NULL, NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "provider_token")),
	                    "284685063:TEST:abc");
	json_decref(body);

	assert_int_equal(tg_answer_pre_checkout_query(x->c, "pcq1", false, "Sold out", NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "pre_checkout_query_id")),
	                    "pcq1");
	assert_true(json_is_false(json_object_get(body, "ok")));
	assert_string_equal(json_string_value(json_object_get(body, "error_message")), "Sold out");
	json_decref(body);

	assert_int_equal(tg_answer_pre_checkout_query(x->c, "pcq2", true, NULL, NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_true(json_is_true(json_object_get(body, "ok")));
	assert_null(json_object_get(body, "error_message"));
	json_decref(body);

	fake_script(&x->fake, 200, "{\"ok\":true,\"result\":{\"message_id\":555}}");
	assert_int_equal(tg_copy_message(x->c, 42, -100999, 12, NULL, &n, NULL), 0);
	assert_int_equal(n, 555);
	body = sent_json(&x->fake.sent[i++]);
	assert_int_equal(json_integer_value(json_object_get(body, "from_chat_id")), -100999);
	assert_int_equal(json_integer_value(json_object_get(body, "message_id")), 12);
	json_decref(body);

	fake_script(&x->fake, 200, "{\"ok\":true,\"result\":1234}");
	assert_int_equal(tg_get_chat_member_count(x->c, -100999, &n, NULL), 0);
	assert_int_equal(n, 1234);
	i++;
	fake_script(&x->fake, 200, "{\"ok\":true,\"result\":\"many\"}");
	assert_int_equal(tg_get_chat_member_count(x->c, -100999, &n, NULL), -ERR_INTERNAL);
	i++;

	fake_script(&x->fake, 200, "{\"ok\":true,\"result\":true}");
	assert_int_equal(tg_answer_callback_query(x->c, "cb1", "Done", true, NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "callback_query_id")), "cb1");
	assert_true(json_is_true(json_object_get(body, "show_alert")));
	json_decref(body);

	assert_int_equal(tg_edit_message_reply_markup(x->c, 42, 7, NULL, NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_null(json_object_get(body, "reply_markup"));
	json_decref(body);

	assert_int_equal(tg_refund_star_payment(x->c, 42, "ch_1", NULL), 0);
	body = sent_json(&x->fake.sent[i++]);
	assert_string_equal(json_string_value(json_object_get(body, "telegram_payment_charge_id")),
	                    "ch_1");
	json_decref(body);

	assert_int_equal(tg_pin_chat_message(x->c, -100999, 5, true, NULL), 0);
	assert_int_equal(tg_delete_message(x->c, -100999, 5, NULL), 0);
	assert_int_equal(tg_delete_webhook(x->c, false, NULL), 0);
	assert_int_equal(tg_get_webhook_info(x->c, &r, NULL), 0);
	json_decref(r);
	assert_int_equal(tg_get_me(x->c, &r, NULL), 0);
	json_decref(r);
	assert_string_equal(x->fake.sent[i + 4].url, API "/bot" TOKEN "/getMe");
	body = sent_json(&x->fake.sent[i + 4]);
	assert_int_equal(json_object_size(body), 0);
	json_decref(body);

	/* text that is not UTF-8 never leaves */
	n = (int64_t)x->fake.nsent;
	assert_int_equal(tg_send_message(x->c, 42, "bad \xff", NULL, NULL, NULL), -ERR_INVALID);
	assert_int_equal(x->fake.nsent, (size_t)n);
}

static void test_send_method(void **state)
{
	(void)state;
	assert_true(tg_is_send_method("sendMessage"));
	assert_true(tg_is_send_method("sendmediagroup"));
	assert_true(tg_is_send_method("sendInvoice"));
	assert_true(tg_is_send_method("copyMessage"));
	assert_false(tg_is_send_method("getChat"));
	assert_false(tg_is_send_method("editMessageText"));
	assert_false(tg_is_send_method("send"));
	assert_false(tg_is_send_method(NULL));
}

/* ---- decoding ---- */

static void test_decode_kinds(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum tg_fail fail;
		int rc;
	} cases[] = {
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}",
	     TG_FAIL_CHAT_NOT_FOUND, -ERR_NOT_FOUND},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message text is "
	     "empty\"}",
	     TG_FAIL_BAD_REQUEST, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message is too "
	     "long\"}",
	     TG_FAIL_BAD_REQUEST, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message is not "
	     "modified: "
	     "specified new message content and reply markup are exactly the same as a current "
	     "content and reply markup of the message\"}",
	     TG_FAIL_NOT_MODIFIED, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message to edit not "
	     "found\"}",
	     TG_FAIL_MESSAGE_GONE, -ERR_NOT_FOUND},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message to delete "
	     "not "
	     "found\"}",
	     TG_FAIL_MESSAGE_GONE, -ERR_NOT_FOUND},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: message can't be "
	     "deleted\"}",
	     TG_FAIL_MESSAGE_GONE, -ERR_NOT_FOUND},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: query is too old and "
	     "response timeout expired or query ID is invalid\"}",
	     TG_FAIL_QUERY_TOO_OLD, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: group chat was "
	     "upgraded "
	     "to a supergroup chat\",\"parameters\":{\"migrate_to_chat_id\":-1001234567890}}",
	     TG_FAIL_MIGRATED, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: not enough rights to "
	     "send text messages to the chat\"}",
	     TG_FAIL_NO_RIGHTS, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: need administrator "
	     "rights in the channel chat\"}",
	     TG_FAIL_NO_RIGHTS, -ERR_INVALID},
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: "
	     "CHAT_ADMIN_REQUIRED\"}",
	     TG_FAIL_NO_RIGHTS, -ERR_INVALID},
	    {401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}",
	     TG_FAIL_UNAUTHORIZED, -ERR_AUTH},
	    {403,
	     "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked by the "
	     "user\"}",
	     TG_FAIL_BLOCKED, -ERR_NOT_FOUND},
	    {403,
	     "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot is not a member of "
	     "the "
	     "channel chat\"}",
	     TG_FAIL_KICKED, -ERR_NOT_FOUND},
	    {403,
	     "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was kicked from "
	     "the "
	     "group chat\"}",
	     TG_FAIL_KICKED, -ERR_NOT_FOUND},
	    {403,
	     "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: user is deactivated\"}",
	     TG_FAIL_KICKED, -ERR_NOT_FOUND},
	    {404, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}",
	     TG_FAIL_NOT_FOUND, -ERR_NOT_FOUND},
	    {409,
	     "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict: terminated by other "
	     "getUpdates request; make sure that only one bot instance is running\"}",
	     TG_FAIL_CONFLICT, -ERR_CONFLICT},
	    {409,
	     "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict: can't use getUpdates "
	     "method "
	     "while webhook is active; use deleteWebhook to delete the webhook first\"}",
	     TG_FAIL_CONFLICT, -ERR_CONFLICT},
	    {429,
	     "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after "
	     "35\",\"parameters\":{\"retry_after\":35}}",
	     TG_FAIL_RETRY_AFTER, -ERR_BUSY},
	    {500, "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}",
	     TG_FAIL_SERVER, -ERR_UNAVAILABLE},
	    /* error_code missing: the HTTP status counts; unknown fields are fine */
	    {403,
	     "{\"ok\":false,\"description\":\"Forbidden: bot was blocked by the "
	     "user\",\"new\":[1]}",
	     TG_FAIL_BLOCKED, -ERR_NOT_FOUND},
	};
	struct tg_error te;
	json_t *r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		r = (json_t *)1;
		rc = tg_decode(cases[i].status, cases[i].body, strlen(cases[i].body), &r, &te);
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(te.fail, cases[i].fail);
		assert_int_equal(te.code, cases[i].status);
		assert_int_equal(te.err.code, -cases[i].rc);
		assert_null(r);
		assert_true(strlen(te.description) > 0);
		assert_non_null(strstr(cases[i].body, te.description));
		assert_non_null(strstr(te.err.msg, te.description));
	}
	assert_int_equal(tg_decode(429, cases[20].body, strlen(cases[20].body), NULL, &te),
	                 -ERR_BUSY);
	assert_int_equal(te.retry_after, 35);
	assert_int_equal(tg_decode(400, cases[8].body, strlen(cases[8].body), NULL, &te),
	                 -ERR_INVALID);
	assert_int_equal(te.migrate_to, -1001234567890LL);

	/* success, with unknown fields and a description */
	{
		static const char ok[] = "{\"ok\":true,\"description\":\"fine\",\"future\":{},"
		                         "\"result\":{\"id\":5,\"is_bot\":true}}";

		assert_int_equal(tg_decode(200, ok, strlen(ok), &r, &te), 0);
		assert_int_equal(te.fail, TG_FAIL_NONE);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
		json_decref(r);
		assert_int_equal(tg_decode(200, ok, strlen(ok), NULL, NULL), 0);
	}
}

static void test_decode_malformed(void **state)
{
	static const char html[] = "<html><head><title>502 Bad Gateway</title></head></html>";
	static const struct {
		long status;
		const char *body;
		enum tg_fail fail;
		int rc;
	} cases[] = {
	    {200, "not json", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "[1,2]", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "{\"result\":{}}", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "{\"ok\":\"yes\",\"result\":{}}", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "{\"ok\":true}", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {200, "{\"ok\":true,\"result\":1", TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {400, html, TG_FAIL_MALFORMED, -ERR_INTERNAL},
	    {502, html, TG_FAIL_SERVER, -ERR_UNAVAILABLE},
	    {503, "", TG_FAIL_SERVER, -ERR_UNAVAILABLE},
	};
	struct tg_error te;
	json_t *r;
	char deep[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		r = (json_t *)1;
		assert_int_equal(
		    tg_decode(cases[i].status, cases[i].body, strlen(cases[i].body), &r, &te),
		    cases[i].rc);
		assert_int_equal(te.fail, cases[i].fail);
		assert_null(r);
		assert_true(te.err.msg[0] != '\0');
	}
	assert_int_equal(tg_decode(200, NULL, 0, NULL, &te), -ERR_INTERNAL);
	/* nesting deeper than the bound is refused before jansson sees it */
	memset(deep, '[', sizeof(deep));
	assert_int_equal(tg_decode(200, deep, sizeof(deep), NULL, &te), -ERR_INTERNAL);
	/* a long description is cut, on a UTF-8 boundary */
	{
		struct buf b;
		int rc;

		buf_init(&b, 4096);
		rc = buf_adds(&b,
		              "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: x");
		for (int i = 0; i < 200 && rc == 0; i++)
			rc = buf_adds(&b, "é");
		if (rc == 0)
			rc = buf_adds(&b, "\"}");
		assert_int_equal(rc, 0);
		assert_int_equal(tg_decode(400, b.p, b.len, NULL, &te), -ERR_INVALID);
		assert_true(strlen(te.description) < sizeof(te.description));
		assert_true(strlen(te.description) >= sizeof(te.description) - 3);
		assert_non_null(strstr(b.p, te.description));
		buf_release(&b);
	}
}

/* ---- retries ---- */

static const char too_many[] = "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
                               "Requests: retry after 1\",\"parameters\":{\"retry_after\":1}}";
static const char server_error[] =
    "{\"ok\":false,\"error_code\":500,\"description\":\"Internal Server Error\"}";

static void test_retry_after(void **state)
{
	struct fx *x = *state;
	struct tg_error te;
	json_t *msg = NULL;

	new_client(x, &(struct tg_opts){.kv = mem_kv(x)});
	fake_script(&x->fake, 429, too_many);
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, &msg, &te), 0);
	assert_int_equal(te.fail, TG_FAIL_NONE);
	assert_non_null(msg);
	json_decref(msg);
	assert_int_equal(x->fake.nsent, 2);
	assert_true(x->fake.sent[1].at_ms - x->fake.sent[0].at_ms >= 1000);
	/* the same request both times */
	assert_string_equal(x->fake.sent[0].body, x->fake.sent[1].body);
	assert_string_equal(x->fake.sent[0].url, x->fake.sent[1].url);
}

static void test_retry_after_pauses_everyone(void **state)
{
	struct fx *x = *state;
	struct tg_client *other = NULL;
	struct tg_opts o = {.api = API, .token = TOKEN, .transport = &x->tr, .max_attempts = 1};
	struct tg_error te;
	struct buf v;
	struct err e = {0};
	int64_t until, t0;

	o.kv = mem_kv(x);
	new_client(x, &o);
	assert_int_equal(tg_client_new(&other, &o, &e), 0);

	fake_script(&x->fake, 429, too_many);
	t0 = clock_now_ms();
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), -ERR_BUSY);
	assert_int_equal(te.fail, TG_FAIL_RETRY_AFTER);
	assert_int_equal(te.retry_after, 1);
	assert_int_equal(te.code, 429);
	/* the pause: the Unix ms until which nobody sends */
	buf_init(&v, 64);
	assert_int_equal(kv_get(x->kv, "tg:pause", &v, &e), 0);
	assert_int_equal(str_to_i64((struct str){v.p, v.len}, 0, INT64_MAX, &until), 0);
	assert_true(until >= t0 + 1000 && until <= clock_now_ms() + 1000);
	buf_release(&v);

	/* another client (a node) on the same kv waits for it before sending,
	 * to another chat; a method that sends nothing does not wait */
	assert_int_equal(tg_get_chat(other, 77, NULL, NULL, NULL), 0);
	assert_true(clock_now_ms() < until);
	assert_int_equal(tg_send_message(other, 43, "hi", NULL, NULL, NULL), 0);
	assert_int_equal(x->fake.nsent, 3);
	assert_true(clock_now_ms() >= until);
	tg_client_free(other);
}

struct sender {
	struct tg_client *c;
	int64_t chat;
	int rc;
};

static void *send_one(void *arg)
{
	struct sender *s = arg;

	s->rc = tg_send_message(s->c, s->chat, "hi", NULL, NULL, NULL);
	return NULL;
}

/* After a 429 window the senders waiting for it go one at a time (a second
 * 429 would otherwise find all their requests already on the way). */
static void test_after_a_window_one_sender_at_a_time(void **state)
{
	struct fx *x = *state;
	struct tg_opts o = {.api = API, .token = TOKEN, .transport = &x->tr, .max_attempts = 1};
	struct sender s[4];
	pthread_t t[4];
	int64_t t0;

	o.kv = mem_kv(x);
	new_client(x, &o);
	fake_script(&x->fake, 429, too_many);
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, NULL), -ERR_BUSY);
	t0 = clock_mono_ms();
	x->fake.delay_ms = 50;
	x->fake.max_inflight = 0;
	for (int i = 0; i < 4; i++) {
		s[i] = (struct sender){x->c, 100 + i, -1};
		assert_int_equal(pthread_create(&t[i], NULL, send_one, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(s[i].rc, 0);
	}
	assert_int_equal(x->fake.nsent, 5);
	assert_int_equal(x->fake.max_inflight, 1);
	for (size_t i = 1; i < 5; i++)
		assert_true(x->fake.sent[i].at_ms >= t0 + 900);
}

static void test_retry_after_over_budget(void **state)
{
	struct fx *x = *state;
	static const char long_wait[] =
	    "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many Requests: retry after "
	    "30\",\"parameters\":{\"retry_after\":30}}";
	struct tg_error te;
	int64_t t0 = clock_mono_ms();

	new_client(x, &(struct tg_opts){.max_wait_ms = 2000});
	fake_script(&x->fake, 429, long_wait);
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), -ERR_BUSY);
	assert_int_equal(te.fail, TG_FAIL_RETRY_AFTER);
	assert_int_equal(te.retry_after, 30);
	assert_int_equal(x->fake.nsent, 1);
	assert_true(clock_mono_ms() - t0 < 1000);
}

static void test_5xx_retried(void **state)
{
	struct fx *x = *state;
	static const char html[] = "<html><body><h1>502 Bad Gateway</h1></body></html>";
	struct tg_error te;
	json_t *msg = NULL;

	new_client(x, &(struct tg_opts){.backoff_ms = 50});
	fake_script(&x->fake, 502, html);
	fake_script(&x->fake, 500, server_error);
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, &msg, &te), 0);
	json_decref(msg);
	assert_int_equal(x->fake.nsent, 3);
	/* exponential: 50 ms, then 100 ms (plus jitter) */
	assert_true(x->fake.sent[1].at_ms - x->fake.sent[0].at_ms >= 50);
	assert_true(x->fake.sent[2].at_ms - x->fake.sent[1].at_ms >= 100);
}

static void test_5xx_exhausted(void **state)
{
	struct fx *x = *state;
	struct tg_error te;
	json_t *msg = (json_t *)1;

	new_client(x, &(struct tg_opts){.max_attempts = 3});
	for (int i = 0; i < 4; i++)
		fake_script(&x->fake, 500, server_error);
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, &msg, &te), -ERR_UNAVAILABLE);
	assert_null(msg);
	assert_int_equal(te.fail, TG_FAIL_SERVER);
	assert_int_equal(te.code, 500);
	assert_int_equal(te.err.code, ERR_UNAVAILABLE);
	assert_non_null(strstr(te.err.msg, "sendMessage"));
	assert_int_equal(x->fake.nsent, 3);
}

static void test_network_retried(void **state)
{
	struct fx *x = *state;
	struct tg_error te;

	new_client(x, &(struct tg_opts){.max_attempts = 3});
	fake_fail(&x->fake, -ERR_TIMEOUT, "http request timed out");
	fake_fail(&x->fake, -ERR_UNAVAILABLE, "http request failed: Couldn't connect to server");
	assert_int_equal(tg_get_me(x->c, NULL, &te), 0);
	assert_int_equal(x->fake.nsent, 3);

	fake_reset(&x->fake);
	for (int i = 0; i < 3; i++)
		fake_fail(&x->fake, -ERR_UNAVAILABLE, "http request failed: Couldn't connect");
	assert_int_equal(tg_get_me(x->c, NULL, &te), -ERR_UNAVAILABLE);
	assert_int_equal(te.fail, TG_FAIL_NETWORK);
	assert_non_null(strstr(te.err.msg, "Couldn't connect"));
	assert_true(te.unsent); /* nothing reached a server: safe to repeat */
	assert_int_equal(x->fake.nsent, 3);

	/* a timeout after the request went out: it may have been acted on */
	fake_reset(&x->fake);
	new_client(x, &(struct tg_opts){.max_attempts = 1});
	x->fake.answers[x->fake.nanswers++] =
	    (struct answer){0, NULL, -ERR_TIMEOUT, "http request timed out", true};
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), -ERR_UNAVAILABLE);
	assert_int_equal(te.fail, TG_FAIL_NETWORK);
	assert_false(te.unsent);

	/* a body over the bound is not retried */
	fake_reset(&x->fake);
	fake_fail(&x->fake, -ERR_TOO_BIG, "http response larger than 16777216 bytes");
	assert_int_equal(tg_get_me(x->c, NULL, &te), -ERR_INTERNAL);
	assert_int_equal(te.fail, TG_FAIL_MALFORMED);
	assert_int_equal(x->fake.nsent, 1);
}

static void test_4xx_not_retried(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum tg_fail fail;
	} cases[] = {
	    {400,
	     "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}",
	     TG_FAIL_CHAT_NOT_FOUND},
	    {403,
	     "{\"ok\":false,\"error_code\":403,\"description\":\"Forbidden: bot was blocked by the "
	     "user\"}",
	     TG_FAIL_BLOCKED},
	    {401, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}",
	     TG_FAIL_UNAUTHORIZED},
	    {409, "{\"ok\":false,\"error_code\":409,\"description\":\"Conflict: terminated\"}",
	     TG_FAIL_CONFLICT},
	    {200, "surprise", TG_FAIL_MALFORMED},
	};
	struct fx *x = *state;
	struct tg_error te;

	new_client(x, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fake_reset(&x->fake);
		fake_script(&x->fake, cases[i].status, cases[i].body);
		assert_true(tg_send_message(x->c, 42, "hi", NULL, NULL, &te) < 0);
		assert_int_equal(te.fail, cases[i].fail);
		assert_int_equal(x->fake.nsent, 1);
	}
}

/* ---- flood control ---- */

static int64_t send_n(struct tg_client *c, const int64_t *chats, size_t n)
{
	int64_t t0 = clock_mono_ms();

	for (size_t i = 0; i < n; i++)
		assert_int_equal(tg_send_message(c, chats[i], "hi", NULL, NULL, NULL), 0);
	return clock_mono_ms() - t0;
}

static void test_rate_private_chat(void **state)
{
	struct fx *x = *state;
	static const int64_t same[] = {42, 42, 42, 42, 42};
	static const int64_t differ[] = {1, 2, 3, 4, 5};

	new_client(x, &(struct tg_opts){.kv = mem_kv(x), .chat_rate = 2, .chat_burst = 1});
	/* one token at once, then one per 500 ms */
	assert_true(send_n(x->c, same, 5) >= 1990);
	assert_int_equal(x->fake.nsent, 5);
	/* other chats have buckets of their own */
	assert_true(send_n(x->c, differ, 5) < 400);
	/* so has the same chat as a group (a negative id) */
	assert_true(send_n(x->c, (const int64_t[]){-42}, 1) < 100);
}

static void test_rate_group(void **state)
{
	struct fx *x = *state;
	static const int64_t group[] = {-100123, -100123, -100123};
	json_t *p;
	int64_t t0;

	/* 600 a minute: one per 100 ms */
	new_client(x,
	           &(struct tg_opts){.kv = mem_kv(x), .group_per_minute = 600, .group_burst = 1});
	assert_true(send_n(x->c, group, 3) >= 195);
	/* by @username too */
	p = json_pack("{s:s,s:s}", "chat_id", "@herald_news", "text", "hi");
	t0 = clock_mono_ms();
	for (int i = 0; i < 3; i++)
		assert_int_equal(tg_call(x->c, "sendMessage", p, NULL, 0, NULL, NULL), 0);
	assert_true(clock_mono_ms() - t0 >= 195);
	json_decref(p);
}

static void test_rate_global(void **state)
{
	struct fx *x = *state;
	static const int64_t chats[] = {1, 2, 3, 4, 5, 6, 7};

	/* 20 a second with a burst of 20: 7 sends fit at once; then 1 per 50 ms */
	new_client(x, &(struct tg_opts){.kv = mem_kv(x), .global_rate = 20});
	assert_true(send_n(x->c, chats, 7) < 200);
	{
		int64_t many[30];

		for (size_t i = 0; i < ARRAY_SIZE(many); i++)
			many[i] = 1000 + (int64_t)i;
		/* 13 left in the bucket, 17 more at 20/s */
		assert_true(send_n(x->c, many, 30) >= 800);
	}
}

static void test_rate_bucket_over_budget(void **state)
{
	struct fx *x = *state;
	struct tg_error te;
	int64_t t0;

	new_client(x, &(struct tg_opts){
	                  .kv = mem_kv(x), .chat_rate = 0.1, .chat_burst = 1, .max_wait_ms = 500});
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), 0);
	t0 = clock_mono_ms();
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), -ERR_TIMEOUT);
	assert_int_equal(te.fail, TG_FAIL_RETRY_AFTER);
	assert_true(te.retry_after >= 9);
	assert_int_equal(te.err.code, ERR_TIMEOUT);
	assert_true(clock_mono_ms() - t0 < 300);
	assert_int_equal(x->fake.nsent, 1);
}

static void test_rate_kv_unavailable(void **state)
{
	struct fx *x = *state;
	static const int64_t same[] = {42, 42, 42};
	struct err e = {0};

	/* nothing listens on port 1: every kv call fails, sends go on */
	assert_int_equal(kv_open(&x->kv, "redis://127.0.0.1:1", &e), 0);
	new_client(x, &(struct tg_opts){.kv = x->kv, .chat_rate = 0.1, .chat_burst = 1});
	assert_true(send_n(x->c, same, 3) < 2000);
	assert_int_equal(x->fake.nsent, 3);
}

static void test_rate_redis_shared(void **state)
{
	struct fx *x = *state;
	const char *url = getenv("HERALD_TEST_REDIS");
	struct tg_client *other = NULL;
	struct kv *kv2 = NULL;
	struct err e = {0};
	uint32_t r;
	int64_t chat, t0;

	if (!url || !*url) {
		print_message("HERALD_TEST_REDIS is not set: shared buckets not tested\n");
		skip();
	}
	crypto_random(&r, sizeof(r));
	chat = 1000000 + (int64_t)(r % 1000000000u); /* a fresh bucket each run */
	assert_int_equal(kv_open(&x->kv, url, &e), 0);
	assert_int_equal(kv_open(&kv2, url, &e), 0);
	new_client(x, &(struct tg_opts){.kv = x->kv, .chat_rate = 4, .chat_burst = 1});
	assert_int_equal(tg_client_new(&other,
	                               &(struct tg_opts){.api = API,
	                                                 .token = TOKEN,
	                                                 .kv = kv2,
	                                                 .transport = &x->tr,
	                                                 .chat_rate = 4,
	                                                 .chat_burst = 1},
	                               &e),
	                 0);
	/* two nodes, one chat: together one send per 250 ms */
	t0 = clock_mono_ms();
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    tg_send_message(i % 2 ? other : x->c, chat, "hi", NULL, NULL, NULL), 0);
	assert_true(clock_mono_ms() - t0 >= 740);
	assert_int_equal(x->fake.nsent, 4);
	for (size_t i = 1; i < 4; i++)
		assert_true(x->fake.sent[i].at_ms - x->fake.sent[i - 1].at_ms >= 240);
	tg_client_free(other);
	kv_free(kv2);
}

/* ---- the token stays secret ---- */

static void test_token_never_leaks(void **state)
{
	struct fx *x = *state;
	char path[] = "/tmp/test_tg_log_XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	enum log_level old = log_threshold;
	struct tg_error te;
	struct buf logs;
	char chunk[4096];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_threshold = LOG_DEBUG;

	new_client(x, &(struct tg_opts){.max_attempts = 2});
	/* a server that echoes the URL back in its errors */
	fake_script(&x->fake, 400,
	            "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: no such "
	            "thing at /bot" TOKEN "/sendMessage\"}");
	assert_int_equal(tg_send_message(x->c, 42, "hi", NULL, NULL, &te), -ERR_INVALID);
	assert_null(strstr(te.description, SECRET));
	assert_null(strstr(te.err.msg, SECRET));
	assert_non_null(strstr(te.description, "no such thing"));

	/* a transport whose message names the URL */
	fake_fail(&x->fake, -ERR_UNAVAILABLE, "cannot reach " API "/bot" TOKEN "/getMe");
	fake_fail(&x->fake, -ERR_TIMEOUT, "timed out: " TOKEN);
	assert_int_equal(tg_get_me(x->c, NULL, &te), -ERR_UNAVAILABLE);
	assert_null(strstr(te.err.msg, SECRET));
	assert_non_null(strstr(te.err.msg, "timed out"));

	for (int i = 0; i < 2; i++)
		fake_script(&x->fake, 502, "<html>" TOKEN "</html>");
	assert_int_equal(tg_get_me(x->c, NULL, &te), -ERR_UNAVAILABLE);
	assert_null(strstr(te.err.msg, SECRET));

	assert_int_equal(tg_call(x->c, "get/../Me", NULL, NULL, 0, NULL, &te), -ERR_INVALID);
	assert_null(strstr(te.err.msg, SECRET));

	log_threshold = old;
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	buf_init(&logs, 1 << 20);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(buf_add(&logs, chunk, (size_t)n), 0);
	close(fd);
	unlink(path);
	/* the calls and the retries were logged, without the secret */
	assert_non_null(strstr(logs.p, "method=sendMessage status=400"));
	assert_non_null(strstr(logs.p, "level=warn msg=\"telegram call retried\" method=getMe"));
	assert_null(strstr(logs.p, SECRET));
	buf_release(&logs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_client_new, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_message_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_photo_multipart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_media_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_chat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_methods, setup, teardown),
	    cmocka_unit_test(test_send_method),
	    cmocka_unit_test(test_decode_kinds),
	    cmocka_unit_test(test_decode_malformed),
	    cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_pauses_everyone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_after_a_window_one_sender_at_a_time, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after_over_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_5xx_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_5xx_exhausted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_network_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_4xx_not_retried, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_private_chat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_global, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_bucket_over_budget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_kv_unavailable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_redis_shared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_never_leaks, setup, teardown),
	};

	/* hiredis writes with write(2); a closed connection must not kill us */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("tg", tests, NULL, NULL) ? 1 : 0;
}
