/*
 * Unit tests of posts: the spec check (fields, HTML and lengths, albums,
 * buttons, schedules read in a zone across daylight saving) and the store
 * side on a real SQLite file: deliveries made ahead of time, the monthly
 * plan limit, idempotency keys, edits and cancels; the order in which the
 * scheduler claims jobs. Nothing is sent here; the scheduler is tested end
 * to end against the simulator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/clock.h"
#include "lib/mem.h"
#include "posts/posts.h"
#include "sched/sched.h"
#include "store/store.h"
#include "users/users.h"

/* 2026-11-24T12:00:00Z */
#define NOW  1795521600000LL
#define HOUR 3600000LL
#define DAY  (24 * HOUR)

static json_t *spec(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	if (!v)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return v;
}

/* Check in and expect a fault with field and code. */
static void refused(const char *in, const char *field, const char *code)
{
	json_t *v = spec(in), *canon = NULL;
	struct post_when w;
	struct post_fault f = {0};
	int rc = posts_validate(v, "Europe/Berlin", NOW, &canon, &w, &f);

	if (rc == 0)
		fail_msg("accepted: %s", in);
	assert_int_equal(rc, -ERR_INVALID);
	if (strcmp(f.field, field) != 0 || strcmp(f.code, code) != 0)
		fail_msg("%s: got field %s code %s (%s), want %s %s", in, f.field, f.code,
		         f.err.msg, field, code);
	assert_null(canon);
	json_decref(v);
}

static json_t *accepted(const char *in, struct post_when *w)
{
	json_t *v = spec(in), *canon = NULL;
	struct post_fault f = {0};
	int rc = posts_validate(v, "Europe/Berlin", NOW, &canon, w, &f);

	if (rc)
		fail_msg("refused: %s: %s %s", in, f.field, f.err.msg);
	json_decref(v);
	return canon;
}

static void test_bad_specs(void **state)
{
	static char big[32768];
	size_t n = 0;

	(void)state;
	refused("[]", "post", "invalid");
	refused("{\"text\": \"hi\", \"color\": 1, \"channels\": [1]}", "color", "invalid");
	refused("{\"text\": \"<b>hi\", \"channels\": [1]}", "text", "html");
	refused("{\"text\": \"<div>hi</div>\", \"channels\": [1]}", "text", "html");
	refused("{\"text\": \"\", \"channels\": [1]}", "text", "invalid");
	refused("{\"text\": \"hi\", \"channels\": []}", "channels", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1, 1]}", "channels[1]", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [-3]}", "channels[0]", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"buttons\": [[{\"text\": \"Go\", "
	        "\"url\": \"javascript:alert(1)\"}]]}",
	        "buttons[0][0].url", "url");
	refused("{\"text\": \"hi\", \"channels\": [1], \"buttons\": [[]]}", "buttons[0]",
	        "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"buttons\": [[{\"text\": \"\", "
	        "\"url\": \"https://example.org\"}]]}",
	        "buttons[0][0]", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"delete_after_hours\": 48}",
	        "delete_after_hours", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"silent\": 1}", "silent", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"media\": [{\"type\": \"gif\", "
	        "\"file_id\": \"abc\"}]}",
	        "media[0]", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"media\": [{\"type\": \"photo\", "
	        "\"url\": \"ftp://example.org/a.png\"}]}",
	        "media[0]", "url");
	refused("{\"channels\": [1], \"media\": [{\"type\": \"photo\", \"file_id\": \"a\"}, "
	        "{\"type\": \"document\", \"file_id\": \"b\"}]}",
	        "media", "album");
	refused("{\"channels\": [1], \"media\": [{\"type\": \"photo\", \"file_id\": \"a\"}, "
	        "{\"type\": \"photo\", \"file_id\": \"b\"}], \"buttons\": [[{\"text\": \"Go\", "
	        "\"url\": \"https://example.org\"}]]}",
	        "buttons", "album");
	{
		/* eleven photos */
		char in[1024] = "{\"text\": \"x\", \"channels\": [1], \"media\": [";

		for (int i = 0; i < 11; i++)
			snprintf(in + strlen(in), sizeof(in) - strlen(in),
			         "%s{\"type\": \"photo\", \"file_id\": \"f%d\"}", i ? ", " : "", i);
		snprintf(in + strlen(in), sizeof(in) - strlen(in), "]}");
		refused(in, "media", "album");
	}
	/* 4097 UTF-16 units: 2048 emoji (2 units each) and one letter */
	n = (size_t)snprintf(big, sizeof(big), "{\"channels\": [1], \"text\": \"a");
	for (int i = 0; i < 2048; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\\ud83d\\ude00");
	snprintf(big + n, sizeof(big) - n, "\"}");
	refused(big, "text", "too_long");
	/* the same text is too long as a caption too */
	refused(
	    "{\"channels\": [1], \"media\": [{\"type\": \"photo\", \"file_id\": \"a\"}], "
	    "\"text\": \"<b>" /* 1025 characters follow */
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "</b>\"}",
	    "text", "too_long");
	/* schedules */
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-11-24T10:00\"}}",
	        "schedule.at", "past");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-11-24T11:58:00Z\"}}",
	        "schedule.at", "past");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-12-01T09:00\", \"zone\": \"Mars/Olympus\"}}",
	        "schedule.zone", "zone");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": \"tomorrow\"}}",
	        "schedule.at", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-02-30T09:00\"}}",
	        "schedule.at", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-12-01T09:00\", \"repeat\": {\"every\": \"week\"}}}",
	        "schedule.repeat.weekdays", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-12-01T09:00\", \"repeat\": {\"every\": \"hour\"}}}",
	        "schedule.repeat.every", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-12-01T09:00\", \"repeat\": {\"every\": \"day\", \"count\": 0}}}",
	        "schedule.repeat.count", "invalid");
	refused("{\"text\": \"hi\", \"channels\": [1], \"schedule\": {\"at\": "
	        "\"2026-12-01T09:00\", \"repeat\": {\"every\": \"day\", \"until\": "
	        "\"2026-11-30\"}}}",
	        "schedule.repeat", "invalid");
}

static void test_good_specs(void **state)
{
	struct post_when w;
	json_t *c;

	(void)state;
	/* defaults filled in; no schedule: due now */
	c = accepted("{\"text\": \"<b>Hi</b> &amp; bye\", \"channels\": [4]}", &w);
	assert_int_equal(w.first_at, NOW);
	assert_string_equal(json_string_value(json_object_get(c, "text")), "<b>Hi</b> &amp; bye");
	assert_false(json_is_true(json_object_get(c, "pin")));
	assert_int_equal(json_integer_value(json_object_get(c, "delete_after_hours")), 0);
	assert_true(json_is_null(json_object_get(c, "schedule")));
	json_decref(c);

	/* within the minute of grace: due at once */
	c = accepted("{\"text\": \"x\", \"channels\": [4], \"schedule\": {\"at\": "
	             "\"2026-11-24T11:59:30Z\"}}",
	             &w);
	assert_int_equal(w.first_at, NOW - 30000);
	json_decref(c);

	/* a local time in the user's zone (Berlin, CET in November) */
	c = accepted("{\"text\": \"x\", \"channels\": [4], \"schedule\": {\"at\": "
	             "\"2026-11-25T09:00\"}}",
	             &w);
	assert_int_equal(w.first_at, NOW + 20 * HOUR); /* 08:00Z on the 25th */
	assert_string_equal(w.adjust, "exact");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(c, "schedule"), "zone")),
	    "Europe/Berlin");
	json_decref(c);

	/* another zone, and an instant with an offset */
	c = accepted("{\"text\": \"x\", \"channels\": [4], \"schedule\": {\"at\": "
	             "\"2026-11-25T09:00\", \"zone\": \"Asia/Tashkent\"}}",
	             &w);
	assert_int_equal(w.first_at, NOW + 16 * HOUR); /* 04:00Z */
	json_decref(c);
	c = accepted("{\"text\": \"x\", \"channels\": [4], \"schedule\": {\"at\": "
	             "\"2026-11-25T09:00:00+05:00\"}}",
	             &w);
	assert_int_equal(w.first_at, NOW + 16 * HOUR);
	json_decref(c);

	/* an album of ten, buttons of eight in a row, delete after 47 hours */
	c = accepted(
	    "{\"text\": \"Album\", \"channels\": [4], \"delete_after_hours\": 47, "
	    "\"media\": [{\"type\": \"photo\", \"file_id\": \"a\"}, {\"type\": \"video\", "
	    "\"url\": \"https://example.org/v.mp4\"}, {\"type\": \"photo\", \"file_id\": "
	    "\"c\"}, {\"type\": \"photo\", \"file_id\": \"d\"}, {\"type\": \"photo\", "
	    "\"file_id\": \"e\"}, {\"type\": \"photo\", \"file_id\": \"f\"}, {\"type\": "
	    "\"photo\", \"file_id\": \"g\"}, {\"type\": \"photo\", \"file_id\": \"h\"}, "
	    "{\"type\": \"photo\", \"file_id\": \"i\"}, {\"type\": \"photo\", \"file_id\": "
	    "\"j\"}], \"buttons\": [[{\"text\": \"1\", \"url\": \"https://a.org\"}, "
	    "{\"text\": \"2\", \"url\": \"https://a.org\"}, {\"text\": \"3\", \"url\": "
	    "\"https://a.org\"}, {\"text\": \"4\", \"url\": \"https://a.org\"}, {\"text\": "
	    "\"5\", \"url\": \"https://a.org\"}, {\"text\": \"6\", \"url\": "
	    "\"https://a.org\"}, {\"text\": \"7\", \"url\": \"https://a.org\"}, {\"text\": "
	    "\"8\", \"url\": \"tg://resolve?domain=x\"}]]}",
	    &w);
	assert_int_equal(json_array_size(json_object_get(c, "media")), 10);
	json_decref(c);

	/* exactly 4096 units: 2048 emoji */
	{
		static char big[32768];
		size_t n = (size_t)snprintf(big, sizeof(big), "{\"channels\": [1], \"text\": \"");

		for (int i = 0; i < 2048; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "\\ud83d\\ude00");
		snprintf(big + n, sizeof(big) - n, "\"}");
		c = accepted(big, &w);
		json_decref(c);
	}

	/* a draft needs neither text nor channels, and has no time */
	c = accepted("{\"draft\": true}", &w);
	assert_int_equal(w.first_at, 0);
	json_decref(c);
}

/* Daylight saving: Berlin's spring gap and autumn overlap, New York's. */
static void test_schedule_dst(void **state)
{
	struct post_when w;
	struct post_fault f = {0};
	json_t *in, *c = NULL;

	(void)state;
	/* 2027-03-28 02:30 does not exist in Berlin: 03:30 CEST = 01:30Z */
	in = spec("{\"text\": \"x\", \"channels\": [1], \"schedule\": {\"at\": "
	          "\"2027-03-28T02:30\"}}");
	assert_int_equal(posts_validate(in, "Europe/Berlin", NOW, &c, &w, &f), 0);
	assert_string_equal(w.adjust, "moved_forward");
	assert_int_equal(w.first_at, 1806197400000LL);
	json_decref(in);
	json_decref(c);
	/* 2027-11-07 01:30 happens twice in New York: the first, EDT = 05:30Z */
	in = spec("{\"text\": \"x\", \"channels\": [1], \"schedule\": {\"at\": "
	          "\"2027-11-07T01:30\", \"zone\": \"America/New_York\"}}");
	assert_int_equal(posts_validate(in, "Europe/Berlin", NOW, &c, &w, &f), 0);
	assert_string_equal(w.adjust, "ambiguous_first");
	assert_int_equal(w.first_at, 1825565400000LL);
	json_decref(in);
	json_decref(c);
	/* weekly on Monday and Thursday from a Wednesday: first on Thursday */
	in = spec("{\"text\": \"x\", \"channels\": [1], \"schedule\": {\"at\": "
	          "\"2026-11-25T09:00\", \"repeat\": {\"every\": \"week\", \"weekdays\": [\"thu\", "
	          "\"mon\"], \"count\": 4}}}");
	assert_int_equal(posts_validate(in, "Europe/Berlin", NOW, &c, &w, &f), 0);
	assert_true(w.recurring);
	assert_int_equal(w.first_at, NOW + 44 * HOUR); /* Thursday 26th 08:00Z */
	json_decref(in);
	json_decref(c);
}

/* ---- the store side ------------------------------------------------------- */

struct fx {
	char dir[64];
	char url[128];
	struct store *st;
	struct user u, other;
	int64_t ch1, ch2, other_ch;
};

static int64_t add_channel(struct store *st, int64_t owner, int64_t chat)
{
	struct store_res *r = NULL;
	struct store_val a[] = {SV_INT(owner), SV_INT(chat)};
	struct err e = {0};
	int64_t id;

	assert_int_equal(store_exec(st,
	                            "INSERT INTO channels (owner_id, chat_id, title, status, "
	                            "checked_at, created_at) VALUES ($1, $2, 'T', 'ok', 0, 0) "
	                            "RETURNING id",
	                            a, 2, &r, &e),
	                 0);
	id = store_res_int(r, 0, 0);
	store_res_free(r);
	return id;
}

static int64_t count(struct store *st, const char *sql)
{
	struct store_res *r = NULL;
	struct err e = {0};
	int64_t n;

	if (store_exec(st, sql, NULL, 0, &r, &e))
		fail_msg("%s: %s", sql, e.msg);
	n = store_res_int(r, 0, 0);
	store_res_free(r);
	return n;
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct err e = {0};

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/herald-posts-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->url, sizeof(fx->url), "%s/t.db", fx->dir);
	assert_int_equal(store_open(&fx->st, fx->url, NULL, &e), 0);
	assert_int_equal(store_migrate(fx->st, NULL, &e), 0);
	assert_int_equal(users_add(fx->st, 9001, "Ann", &fx->u, &e), 0);
	assert_int_equal(users_update(fx->st, fx->u.id, NULL, NULL, "Europe/Berlin", &fx->u, &e),
	                 0);
	assert_int_equal(users_add(fx->st, 9002, "Bob", &fx->other, &e), 0);
	fx->ch1 = add_channel(fx->st, fx->u.id, -1001);
	fx->ch2 = add_channel(fx->st, fx->u.id, -1002);
	fx->other_ch = add_channel(fx->st, fx->other.id, -1003);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char path[160];

	store_free(fx->st);
	snprintf(path, sizeof(path), "%s/t.db", fx->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db-wal", fx->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t.db-shm", fx->dir);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static int create(struct fx *fx, const char *in, const struct post_idem *idem, int64_t *id,
                  struct post_fault *f)
{
	json_t *v = spec(in);
	int rc;

	memset(f, 0, sizeof(*f));
	rc = posts_create(fx->st, &fx->u, v, NOW, idem, id, f);
	if (rc)
		print_message("create: %s (%s %s)\n", f->err.msg, f->field, f->code);
	json_decref(v);
	return rc;
}

static void test_create_and_read(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	struct err e = {0};
	char in[256];
	json_t *p = NULL, *d = NULL;
	int64_t id = 0;

	snprintf(in, sizeof(in),
	         "{\"text\": \"Hello\", \"channels\": [%lld, %lld], \"schedule\": {\"at\": "
	         "\"2026-11-25T09:00\"}}",
	         (long long)fx->ch1, (long long)fx->ch2);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	assert_int_equal(posts_get(fx->st, fx->u.id, id, &p, &e), 0);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "scheduled");
	assert_int_equal(json_integer_value(json_object_get(p, "next_at")), NOW + 20 * HOUR);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(p, "deliveries"), "scheduled")), 2);
	json_decref(p);
	assert_int_equal(posts_deliveries(fx->st, fx->u.id, id, &d, &e), 0);
	assert_int_equal(json_array_size(d), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 0), "chat_id")),
	                 -1001);
	json_decref(d);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'deliver'"), 2);
	/* another user sees nothing */
	assert_int_equal(posts_get(fx->st, fx->other.id, id, &p, &e), -ERR_NOT_FOUND);
	assert_int_equal(posts_deliveries(fx->st, fx->other.id, id, &d, &e), -ERR_NOT_FOUND);

	/* a channel of another user: refused, nothing stored */
	snprintf(in, sizeof(in), "{\"text\": \"x\", \"channels\": [%lld, %lld]}",
	         (long long)fx->ch1, (long long)fx->other_ch);
	assert_int_equal(create(fx, in, NULL, &id, &f), -ERR_NOT_FOUND);
	assert_string_equal(f.field, "channels[1]");
	assert_string_equal(f.code, "not_owned");
	assert_int_equal(count(fx->st, "SELECT count(*) FROM posts"), 1);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM deliveries"), 2);
}

static void test_recurring_expansion(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	char in[256];
	int64_t id = 0;

	/* daily at 09:00 Berlin, 20 times: 8 days are made now (the horizon),
	 * and an expand job waits for the rest */
	snprintf(in, sizeof(in),
	         "{\"text\": \"Daily\", \"channels\": [%lld], \"schedule\": {\"at\": "
	         "\"2026-11-25T09:00\", \"repeat\": {\"every\": \"day\", \"count\": 20}}}",
	         (long long)fx->ch1);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM deliveries"), 8);
	assert_int_equal(count(fx->st, "SELECT max(due_at) - min(due_at) FROM deliveries"),
	                 7 * DAY);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'expand'"), 1);
	assert_int_equal(count(fx->st, "SELECT max(occurrence) FROM deliveries"), 7);
}

static void test_plan_limit(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	char in[256];
	int64_t id = 0;

	/* free plan: 30 a month. 28 posts on two channels on the 25th... */
	snprintf(in, sizeof(in),
	         "{\"text\": \"x\", \"channels\": [%lld, %lld], \"schedule\": {\"at\": "
	         "\"2026-11-25T09:00\"}}",
	         (long long)fx->ch1, (long long)fx->ch2);
	for (int i = 0; i < 15; i++)
		assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	/* ...the 31st and 32nd would pass the limit: refused, nothing stored */
	assert_int_equal(create(fx, in, NULL, &id, &f), -ERR_TOO_BIG);
	assert_string_equal(f.code, "plan_limit");
	assert_int_equal(count(fx->st, "SELECT count(*) FROM deliveries"), 30);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM posts"), 15);
	/* December is another month */
	snprintf(in, sizeof(in),
	         "{\"text\": \"x\", \"channels\": [%lld], \"schedule\": {\"at\": "
	         "\"2026-12-01T00:30\"}}",
	         (long long)fx->ch1);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	/* canceling frees its place */
	assert_int_equal(posts_cancel(fx->st, fx->u.id, 1, NOW, &f.err), 0);
	snprintf(in, sizeof(in), "{\"text\": \"x\", \"channels\": [%lld, %lld]}",
	         (long long)fx->ch1, (long long)fx->ch2);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
}

static void test_idempotency(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	struct post_idem k = {.key = "k-1", .hash = "aaaa"}, other = {.key = "k-1", .hash = "bbbb"};
	char in[128], *body = NULL;
	int64_t id = 0, again = 0;
	int status = 0;

	snprintf(in, sizeof(in), "{\"text\": \"x\", \"channels\": [%lld]}", (long long)fx->ch1);
	assert_int_equal(create(fx, in, &k, &id, &f), 0);
	assert_int_equal(posts_idem_answer(fx->st, fx->u.id, "k-1", &status, &body, &f.err),
	                 -ERR_NOT_FOUND);
	assert_int_equal(posts_idem_record(fx->st, fx->u.id, "k-1", 201, "{\"id\":1}", &f.err), 0);
	assert_int_equal(create(fx, in, &k, &again, &f), -ERR_EXISTS);
	assert_int_equal(again, id);
	assert_int_equal(posts_idem_answer(fx->st, fx->u.id, "k-1", &status, &body, &f.err), 0);
	assert_int_equal(status, 201);
	assert_string_equal(body, "{\"id\":1}");
	free(body);
	assert_int_equal(create(fx, in, &other, &again, &f), -ERR_CONFLICT);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM posts"), 1);
}

static void test_update_and_cancel(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	char in[256];
	json_t *patch, *d = NULL;
	int64_t id = 0;

	snprintf(in, sizeof(in),
	         "{\"text\": \"Old\", \"channels\": [%lld], \"schedule\": {\"at\": "
	         "\"2026-11-25T09:00\"}}",
	         (long long)fx->ch1);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	/* before sending: the time and channels change, deliveries are remade */
	snprintf(in, sizeof(in),
	         "{\"text\": \"New\", \"channels\": [%lld, %lld], \"schedule\": {\"at\": "
	         "\"2026-11-26T10:00\"}}",
	         (long long)fx->ch1, (long long)fx->ch2);
	patch = spec(in);
	assert_int_equal(posts_update(fx->st, &fx->u, id, patch, NOW, &f), 0);
	json_decref(patch);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM deliveries"), 2);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'deliver'"), 2);
	assert_int_equal(count(fx->st, "SELECT min(due_at) FROM deliveries"), NOW + 45 * HOUR);
	/* a bad edit changes nothing */
	patch = spec("{\"text\": \"<i>unclosed\"}");
	assert_int_equal(posts_update(fx->st, &fx->u, id, patch, NOW, &f), -ERR_INVALID);
	json_decref(patch);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM posts WHERE spec LIKE '%New%'"), 1);
	/* once one was sent, only text and buttons change; an edit job follows */
	assert_int_equal(store_exec(fx->st,
	                            "UPDATE deliveries SET state = 'sent', message_ids = '[7]' "
	                            "WHERE chat_id = -1001",
	                            NULL, 0, NULL, &f.err),
	                 0);
	assert_int_equal(store_exec(fx->st,
	                            "DELETE FROM jobs WHERE ref IN (SELECT id FROM deliveries "
	                            "WHERE chat_id = -1001)",
	                            NULL, 0, NULL, &f.err),
	                 0);
	patch = spec("{\"schedule\": {\"at\": \"2026-11-27T10:00\"}}");
	assert_int_equal(posts_update(fx->st, &fx->u, id, patch, NOW, &f), -ERR_CONFLICT);
	assert_string_equal(f.code, "not_editable");
	json_decref(patch);
	patch = spec("{\"text\": \"Newer\"}");
	assert_int_equal(posts_update(fx->st, &fx->u, id, patch, NOW, &f), 0);
	json_decref(patch);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'edit'"), 1);
	/* cancel: the pending delivery is canceled and its job gone; twice is fine */
	assert_int_equal(posts_cancel(fx->st, fx->u.id, id, NOW, &f.err), 0);
	assert_int_equal(posts_cancel(fx->st, fx->u.id, id, NOW, &f.err), 0);
	assert_int_equal(posts_deliveries(fx->st, fx->u.id, id, &d, &f.err), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "state")),
	                    "sent");
	assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "state")),
	                    "canceled");
	json_decref(d);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'deliver'"), 0);
	patch = spec("{\"text\": \"Late\"}");
	assert_int_equal(posts_update(fx->st, &fx->u, id, patch, NOW, &f), -ERR_CONFLICT);
	json_decref(patch);
	assert_int_equal(posts_cancel(fx->st, fx->other.id, id, NOW, &f.err), -ERR_NOT_FOUND);
}

static void test_resolve(void **state)
{
	struct fx *fx = *state;
	struct post_fault f;
	char in[128];
	int64_t id = 0;

	snprintf(in, sizeof(in), "{\"text\": \"x\", \"channels\": [%lld]}", (long long)fx->ch1);
	assert_int_equal(create(fx, in, NULL, &id, &f), 0);
	assert_int_equal(posts_resolve(fx->st, fx->u.id, 1, true, NOW, &f.err), -ERR_CONFLICT);
	assert_int_equal(
	    store_exec(fx->st, "UPDATE deliveries SET state = 'uncertain'", NULL, 0, NULL, &f.err),
	    0);
	assert_int_equal(store_exec(fx->st, "DELETE FROM jobs", NULL, 0, NULL, &f.err), 0);
	assert_int_equal(posts_resolve(fx->st, fx->other.id, 1, true, NOW, &f.err), -ERR_NOT_FOUND);
	assert_int_equal(posts_resolve(fx->st, fx->u.id, 1, true, NOW, &f.err), 0);
	assert_int_equal(count(fx->st, "SELECT count(*) FROM jobs WHERE kind = 'deliver'"), 1);
	assert_int_equal(posts_resolve(fx->st, fx->u.id, 1, false, NOW, &f.err), -ERR_CONFLICT);
}

static int64_t enqueue(struct store *st, int64_t chat, int64_t order_at, int64_t run_at)
{
	struct store_conn *c = NULL;
	struct err e = {0};

	assert_int_equal(store_conn_get(st, &c, &e), 0);
	assert_int_equal(
	    sched_enqueue(c, chat ? "deliver" : "notify", 1, chat, order_at, run_at, &e), 0);
	store_conn_put(st, c);
	return count(st, "SELECT max(id) FROM jobs");
}

/* The id of the job claimed at now, 0 when none is due. */
static int64_t claimed(struct store *st, int64_t now)
{
	struct sched_job j;
	struct err e = {0};
	int rc = sched_claim(st, "n1", NOW + DAY, now, &j, &e);

	assert_true(rc >= 0);
	return rc ? j.id : 0;
}

/* A job put back to wait until run_at (as a paced or retried one is). */
static void put_back(struct store *st, int64_t id, int64_t run_at)
{
	struct store_val a[] = {SV_INT(id), SV_INT(run_at)};
	struct err e = {0};

	assert_int_equal(
	    store_exec(st,
	               "UPDATE jobs SET state = 'ready', run_at = $2, lease_owner = NULL "
	               "WHERE id = $1",
	               a, 2, NULL, &e),
	    0);
}

static void done(struct store *st, int64_t id)
{
	struct store_val a[] = {SV_INT(id)};
	struct err e = {0};

	assert_int_equal(store_exec(st, "DELETE FROM jobs WHERE id = $1", a, 1, NULL, &e), 0);
}

/*
 * Claim order: one job at a time per chat, in the chat's order; of the due
 * heads the one due longest ago, so a job put back to wait for a bucket
 * (a later run_at, the same order_at) goes before jobs due after it that
 * never waited (the burst benchmark starved such channels to the end).
 */
static void test_claim_order(void **state)
{
	struct fx *fx = *state;
	struct store *st = fx->st;
	int64_t a1 = enqueue(st, -1, NOW, NOW), a2 = enqueue(st, -1, NOW + 1, NOW + 1);
	int64_t b1 = enqueue(st, -2, NOW, NOW), b2 = enqueue(st, -2, NOW + 1, NOW + 1);
	int64_t n = enqueue(st, 0, NOW + 5, NOW + 5);
	int64_t later = enqueue(st, -2, NOW + HOUR, NOW + HOUR);
	int64_t c1, c2;

	assert_int_equal(claimed(st, NOW - 1), 0);
	assert_int_equal(claimed(st, NOW + 10), a1);
	assert_int_equal(claimed(st, NOW + 10), b1); /* a2 waits for a1 */
	assert_int_equal(claimed(st, NOW + 10), n);  /* chat 0: no order */
	assert_int_equal(claimed(st, NOW + 10), 0);

	/* a1 waits for its bucket until NOW + 100; its chat waits with it */
	put_back(st, a1, NOW + 100);
	done(st, b1);
	assert_int_equal(claimed(st, NOW + 50), b2);
	done(st, b2);
	assert_int_equal(claimed(st, NOW + 50), 0);

	/* due after a1 and never paced: still after a1 once a1 is due again */
	c1 = enqueue(st, -3, NOW + 20, NOW + 20);
	c2 = enqueue(st, -4, NOW + 30, NOW + 30);
	assert_int_equal(claimed(st, NOW + 60), c1);
	assert_int_equal(claimed(st, NOW + 200), a1);
	assert_int_equal(claimed(st, NOW + 200), c2);
	done(st, a1);
	assert_int_equal(claimed(st, NOW + 200), a2);
	assert_int_equal(claimed(st, NOW + HOUR - 1), 0);
	assert_int_equal(claimed(st, NOW + HOUR), later);
}

/*
 * Among jobs due at the same instant the chats take turns, whatever order
 * they were queued in: a burst created channel by channel still goes out
 * one channel after another.
 */
static void test_claim_turns(void **state)
{
	struct fx *fx = *state;
	struct store *st = fx->st;
	int64_t a1 = enqueue(st, -1, NOW, NOW), a2 = enqueue(st, -1, NOW, NOW);
	int64_t a3 = enqueue(st, -1, NOW, NOW), b1 = enqueue(st, -2, NOW, NOW);
	int64_t b2 = enqueue(st, -2, NOW, NOW), c1 = enqueue(st, -3, NOW, NOW);
	int64_t want[] = {a1, b1, c1, a2, b2, a3};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		int64_t got = claimed(st, NOW);

		assert_int_equal(got, want[i]);
		done(st, got);
	}
	assert_int_equal(claimed(st, NOW), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_specs),
	    cmocka_unit_test(test_good_specs),
	    cmocka_unit_test(test_schedule_dst),
	    cmocka_unit_test_setup_teardown(test_create_and_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recurring_expansion, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plan_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_and_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_turns, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
