/*
 * posts/spec: the check of a post spec (posts.h) into its canonical form,
 * and the reading of its schedule as a when_rule. Pure: no store.
 */
#include "posts/posts_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/mem.h"
#include "lib/str.h"
#include "posts/html.h"

static const char *const weekday_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const every_names[] = {
    [WHEN_DAILY] = "day", [WHEN_WEEKLY] = "week", [WHEN_MONTHLY] = "month"};
static const char *const adjust_names[] = {[WHEN_EXACT] = "exact",
                                           [WHEN_MOVED_FORWARD] = "moved_forward",
                                           [WHEN_AMBIGUOUS_FIRST] = "ambiguous_first"};

static const char *const spec_fields[] = {
    "text",     "media", "buttons",         "silent",
    "protect",  "pin",   "disable_preview", "delete_after_hours",
    "channels", "draft", "schedule"};

int posts_fault(struct post_fault *f, const char *code, const char *field, const char *fmt, ...)
{
	va_list ap;
	char msg[sizeof(f->err.msg)];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(f->field, sizeof(f->field), "%s", field);
	snprintf(f->code, sizeof(f->code), "%s", code);
	return err_set(&f->err, ERR_INVALID, "%s: %s", field, msg);
}

const char *posts_adjust_name(enum when_adjust a)
{
	return (size_t)a < ARRAY_SIZE(adjust_names) ? adjust_names[a] : "exact";
}

static int check_text(const json_t *text, bool caption, struct post_fault *f)
{
	const char *s = json_string_value(text);
	struct err e = {0};
	int rc;

	if (!s)
		return posts_fault(f, "invalid", "text", "must be a string of Telegram HTML");
	rc = html_check((struct str){s, json_string_length(text)},
	                caption ? HTML_CAPTION_MAX : HTML_TEXT_MAX, NULL, &e);
	if (rc == -ERR_TOO_BIG)
		return posts_fault(f, "too_long", "text", "%s%s", e.msg,
		                   caption ? " (a caption with media)" : "");
	if (rc)
		return posts_fault(f, "html", "text", "%s", e.msg);
	return 0;
}

/* file_id: what Telegram hands out (letters, digits, '-' and '_'). */
static bool file_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static bool web_url(const char *s)
{
	return (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0) &&
	       html_url_ok(str_c(s));
}

static int check_media(const json_t *in, json_t **out, struct post_fault *f)
{
	size_t i, n, docs = 0;
	json_t *item;
	char field[32];

	if (!json_is_array(in))
		return posts_fault(f, "invalid", "media", "must be an array");
	n = json_array_size(in);
	if (n > POST_MEDIA_MAX)
		return posts_fault(f, "album", "media", "an album has at most %d items, not %zu",
		                   POST_MEDIA_MAX, n);
	*out = json_array();
	json_array_foreach(in, i, item)
	{
		const char *type = json_string_value(json_object_get(item, "type"));
		const char *id = json_string_value(json_object_get(item, "file_id"));
		const char *url = json_string_value(json_object_get(item, "url"));

		snprintf(field, sizeof(field), "media[%zu]", i);
		if (!json_is_object(item) || json_object_size(item) != 2 || !type || (!id == !url))
			return posts_fault(f, "invalid", field,
			                   "must be {\"type\": ..., \"file_id\" or \"url\": ...}");
		if (strcmp(type, "photo") != 0 && strcmp(type, "video") != 0 &&
		    strcmp(type, "document") != 0)
			return posts_fault(f, "invalid", field,
			                   "type must be photo, video or document");
		if (id && !file_id_ok(id))
			return posts_fault(f, "invalid", field,
			                   "file_id is not a Telegram file id");
		if (url && !web_url(url))
			return posts_fault(f, "url", field, "url must be an http or https URL");
		docs += strcmp(type, "document") == 0;
		json_array_append_new(*out, json_pack("{s:s, s:s}", "type", type,
		                                      id ? "file_id" : "url", id ? id : url));
	}
	if (n > 1 && docs && docs != n)
		return posts_fault(f, "album", "media",
		                   "an album is photos and videos, or documents only");
	return 0;
}

static int check_buttons(const json_t *in, json_t **out, struct post_fault *f)
{
	size_t i, j, total = 0;
	json_t *row, *b;
	char field[48];

	if (!json_is_array(in))
		return posts_fault(f, "invalid", "buttons", "must be an array of rows");
	*out = json_array();
	json_array_foreach(in, i, row)
	{
		json_t *r;

		snprintf(field, sizeof(field), "buttons[%zu]", i);
		if (!json_is_array(row) || json_array_size(row) == 0 ||
		    json_array_size(row) > POST_ROW_MAX)
			return posts_fault(f, "invalid", field,
			                   "a row is an array of 1 to %d buttons", POST_ROW_MAX);
		r = json_array();
		json_array_append_new(*out, r);
		json_array_foreach(row, j, b)
		{
			const char *text = json_string_value(json_object_get(b, "text"));
			const char *url = json_string_value(json_object_get(b, "url"));
			size_t units;

			snprintf(field, sizeof(field), "buttons[%zu][%zu]", i, j);
			if (++total > POST_BUTTONS_MAX)
				return posts_fault(f, "invalid", "buttons", "at most %d buttons",
				                   POST_BUTTONS_MAX);
			if (!json_is_object(b) || json_object_size(b) != 2 || !text || !url)
				return posts_fault(f, "invalid", field,
				                   "must be {\"text\": ..., \"url\": ...}");
			units = html_utf16_units(str_c(text));
			if (units == 0 || units > POST_BUTTON_TEXT_MAX ||
			    !utf8_check(text, strlen(text), false))
				return posts_fault(f, "invalid", field,
				                   "text must be 1 to %d characters",
				                   POST_BUTTON_TEXT_MAX);
			snprintf(field, sizeof(field), "buttons[%zu][%zu].url", i, j);
			if (!html_url_ok(str_c(url)))
				return posts_fault(f, "url", field,
				                   "not a URL Telegram opens (http, https or tg)");
			json_array_append_new(r, json_pack("{s:s, s:s}", "text", text, "url", url));
		}
	}
	return 0;
}

static int check_channels(const json_t *in, json_t **out, struct post_fault *f)
{
	size_t i, n;
	json_t *v;
	char field[32];

	if (!json_is_array(in))
		return posts_fault(f, "invalid", "channels", "must be an array of channel ids");
	n = json_array_size(in);
	if (n > POST_CHANNELS_MAX)
		return posts_fault(f, "invalid", "channels", "at most %d channels",
		                   POST_CHANNELS_MAX);
	*out = json_array();
	json_array_foreach(in, i, v)
	{
		snprintf(field, sizeof(field), "channels[%zu]", i);
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return posts_fault(f, "invalid", field, "must be a channel id");
		for (size_t k = 0; k < i; k++)
			if (json_integer_value(json_array_get(in, k)) == json_integer_value(v))
				return posts_fault(f, "invalid", field,
				                   "channel %lld is listed twice",
				                   (long long)json_integer_value(v));
		json_array_append_new(*out, json_integer(json_integer_value(v)));
	}
	return 0;
}

/* "YYYY-MM-DD" into lt's date; 0 or -1. */
static int parse_date(const char *s, size_t n, struct when_local *lt)
{
	int64_t y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-' ||
	    str_to_i64((struct str){s, 4}, 1900, 9999, &y) ||
	    str_to_i64((struct str){s + 5, 2}, 1, 12, &m) ||
	    str_to_i64((struct str){s + 8, 2}, 1, 31, &d))
		return -1;
	lt->year = (int)y;
	lt->month = (int)m;
	lt->day = (int)d;
	return 0;
}

/*
 * "YYYY-MM-DDTHH:MM[:SS]" (local) or the same with "Z" / "+HH:MM" / "-HH:MM"
 * (an instant: *offset_min set, *instant true). 0 or -1.
 */
static int parse_at(const char *s, struct when_local *lt, bool *instant, int *offset_min,
                    int *seconds)
{
	size_t n = strlen(s), p = 16;
	int64_t h, mi, sec = 0, oh, om;

	*instant = false;
	*offset_min = 0;
	if (n < 16 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || parse_date(s, 10, lt) ||
	    str_to_i64((struct str){s + 11, 2}, 0, 23, &h) ||
	    str_to_i64((struct str){s + 14, 2}, 0, 59, &mi))
		return -1;
	if (p < n && s[p] == ':') {
		if (p + 3 > n || str_to_i64((struct str){s + p + 1, 2}, 0, 59, &sec))
			return -1;
		p += 3;
	}
	lt->hour = (int)h;
	lt->minute = (int)mi;
	*seconds = (int)sec;
	if (p == n)
		return 0;
	*instant = true;
	if (s[p] == 'Z' && p + 1 == n)
		return 0;
	if ((s[p] != '+' && s[p] != '-') || p + 6 != n || s[p + 3] != ':' ||
	    str_to_i64((struct str){s + p + 1, 2}, 0, 23, &oh) ||
	    str_to_i64((struct str){s + p + 4, 2}, 0, 59, &om))
		return -1;
	*offset_min = (int)(oh * 60 + om) * (s[p] == '-' ? -1 : 1);
	return 0;
}

static void local_text(const struct when_local *lt, char out[24])
{
	snprintf(out, 24, "%04d-%02d-%02dT%02d:%02d", lt->year % 10000, lt->month % 100,
	         lt->day % 100, lt->hour % 100, lt->minute % 100);
}

static int check_repeat(const json_t *in, const char *zone, struct when_rule *r, json_t **out,
                        struct post_fault *f)
{
	const char *key, *every = NULL;
	json_t *v, *wd = NULL;
	const char *until = NULL;
	struct err e = {0};

	if (!json_is_object(in))
		return posts_fault(f, "invalid", "schedule.repeat", "must be an object or null");
	json_object_foreach((json_t *)in, key, v)
	{
		if (strcmp(key, "every") == 0 && json_is_string(v)) {
			every = json_string_value(v);
		} else if (strcmp(key, "weekdays") == 0 && json_is_array(v)) {
			wd = v;
		} else if (strcmp(key, "month_day") == 0 && json_is_null(v)) {
			continue;
		} else if (strcmp(key, "month_day") == 0 && json_is_integer(v)) {
			if (json_integer_value(v) < 1 || json_integer_value(v) > 31)
				return posts_fault(f, "invalid", "schedule.repeat.month_day",
				                   "must be 1 to 31");
			r->month_day = (int)json_integer_value(v);
		} else if (strcmp(key, "until") == 0 && (json_is_string(v) || json_is_null(v))) {
			until = json_string_value(v);
		} else if (strcmp(key, "count") == 0 && (json_is_integer(v) || json_is_null(v))) {
			if (json_is_integer(v) &&
			    (json_integer_value(v) < 1 || json_integer_value(v) > WHEN_COUNT_MAX))
				return posts_fault(f, "invalid", "schedule.repeat.count",
				                   "must be 1 to %d", WHEN_COUNT_MAX);
			r->count = (int)json_integer_value(v);
		} else {
			char field[64];

			snprintf(field, sizeof(field), "schedule.repeat.%.40s", key);
			return posts_fault(f, "invalid", field,
			                   "not a field of repeat (every, weekdays, month_day, "
			                   "until, count), or of the wrong type");
		}
	}
	for (int i = WHEN_DAILY; i <= WHEN_MONTHLY; i++)
		if (every && strcmp(every, every_names[i]) == 0)
			r->freq = (enum when_freq)i;
	if (r->freq == WHEN_ONCE)
		return posts_fault(f, "invalid", "schedule.repeat.every",
		                   "must be \"day\", \"week\" or \"month\"");
	if (r->freq == WHEN_WEEKLY) {
		size_t i;
		json_t *d;

		json_array_foreach(wd, i, d)
		{
			size_t k = 0;

			while (
			    k < ARRAY_SIZE(weekday_names) &&
			    (!json_is_string(d) || strcmp(json_string_value(d), weekday_names[k])))
				k++;
			if (k == ARRAY_SIZE(weekday_names))
				return posts_fault(
				    f, "invalid", "schedule.repeat.weekdays",
				    "weekdays are mon, tue, wed, thu, fri, sat, sun");
			r->weekdays |= 1u << k;
		}
		if (!r->weekdays)
			return posts_fault(f, "invalid", "schedule.repeat.weekdays",
			                   "a weekly schedule needs at least one weekday");
	} else if (json_array_size(wd)) {
		return posts_fault(f, "invalid", "schedule.repeat.weekdays",
		                   "weekdays are for a weekly schedule");
	}
	if (r->freq == WHEN_MONTHLY && !r->month_day)
		r->month_day = r->start.day;
	if (until) {
		struct when_local u = {.hour = 23, .minute = 59};
		enum when_adjust adj;

		if (parse_date(until, strlen(until), &u) ||
		    when_to_utc(zone, &u, &r->until_ms, &adj, &e))
			return posts_fault(f, "invalid", "schedule.repeat.until",
			                   "must be a date YYYY-MM-DD");
		r->until_ms += 59999;
	}
	*out = json_pack("{s:s, s:o, s:o, s:o, s:o}", "every", every_names[r->freq], "weekdays",
	                 json_array(), "month_day",
	                 r->freq == WHEN_MONTHLY ? json_integer(r->month_day) : json_null(),
	                 "until", until ? json_string(until) : json_null(), "count",
	                 r->count ? json_integer(r->count) : json_null());
	for (size_t k = 0; k < ARRAY_SIZE(weekday_names); k++)
		if (r->weekdays & (1u << k))
			json_array_append_new(json_object_get(*out, "weekdays"),
			                      json_string(weekday_names[k]));
	return 0;
}

int posts_schedule(const json_t *sched, const char *user_zone, struct post_sched *ps,
                   json_t **canon, struct post_fault *f)
{
	const char *key, *at = NULL, *zone = user_zone;
	json_t *v, *repeat = NULL, *rep_out = NULL;
	struct when_local lt = {0};
	struct err e = {0};
	bool instant = false;
	int off = 0, sec = 0, rc;
	char text[24];

	memset(ps, 0, sizeof(*ps));
	if (!json_is_object(sched))
		return posts_fault(f, "invalid", "schedule", "must be an object or null");
	json_object_foreach((json_t *)sched, key, v)
	{
		if (strcmp(key, "at") == 0 && json_is_string(v)) {
			at = json_string_value(v);
		} else if (strcmp(key, "zone") == 0 && json_is_string(v)) {
			zone = json_string_value(v);
		} else if (strcmp(key, "repeat") == 0) {
			repeat = v;
		} else {
			char field[64];

			snprintf(field, sizeof(field), "schedule.%.40s", key);
			return posts_fault(f, "invalid", field,
			                   "not a field of schedule (at, zone, repeat), or of the "
			                   "wrong type");
		}
	}
	if (!at)
		return posts_fault(f, "invalid", "schedule.at",
		                   "required: \"now\", a local time YYYY-MM-DDTHH:MM, or an "
		                   "instant with Z or an offset");
	if (strlen(zone) >= sizeof(ps->zone) || when_to_local(zone, 0, &lt, NULL, NULL, &e))
		return posts_fault(f, "zone", "schedule.zone", "unknown time zone \"%.64s\"", zone);
	snprintf(ps->zone, sizeof(ps->zone), "%s", zone);
	if (strcmp(at, "now") == 0) {
		ps->now = true;
	} else if (parse_at(at, &lt, &instant, &off, &sec)) {
		return posts_fault(
		    f, "invalid", "schedule.at",
		    "\"%.40s\" is not \"now\", YYYY-MM-DDTHH:MM or an instant such as "
		    "2026-11-25T09:00:00Z",
		    at);
	} else if (instant) {
		rc = when_to_utc("UTC", &lt, &ps->at_ms, NULL, &e);
		if (rc)
			return posts_fault(f, "invalid", "schedule.at", "%s", e.msg);
		ps->at_ms += (int64_t)sec * 1000 - (int64_t)off * 60000;
		ps->instant = true;
	} else {
		ps->local = lt;
		rc = when_to_utc(zone, &lt, &ps->at_ms, &ps->adjust, &e);
		if (rc)
			return posts_fault(f, "invalid", "schedule.at", "%s", e.msg);
	}
	ps->rule.freq = WHEN_ONCE;
	if (repeat && !json_is_null(repeat)) {
		/* the rule's local time: the given local time, or the instant's */
		if (!ps->now && ps->instant &&
		    when_to_local(zone, ps->at_ms, &ps->local, NULL, NULL, &e))
			return posts_fault(f, "invalid", "schedule.at", "%s", e.msg);
		ps->rule.start = ps->local;
		ps->rule.hour = ps->local.hour;
		ps->rule.minute = ps->local.minute;
		rc = check_repeat(repeat, zone, &ps->rule, &rep_out, f);
		if (rc) {
			json_decref(rep_out);
			return rc;
		}
		/* "now": the rule starts when it is read (posts_first) */
		if (!ps->now && when_rule_check(&ps->rule, &e)) {
			json_decref(rep_out);
			return posts_fault(f, "invalid", "schedule.repeat", "%s", e.msg);
		}
	}
	if (ps->now)
		snprintf(text, sizeof(text), "now");
	else
		local_text(&ps->local, text);
	if (ps->instant) {
		*canon = json_pack("{s:s, s:s, s:o}", "at", at, "zone", zone, "repeat",
		                   rep_out ? rep_out : json_null());
	} else {
		*canon = json_pack("{s:s, s:s, s:o}", "at", text, "zone", zone, "repeat",
		                   rep_out ? rep_out : json_null());
	}
	ps->recurring = rep_out != NULL;
	return 0;
}

/* A recurring rule whose start is "now": today's date at now's local time. */
static int rule_at_now(struct post_sched *ps, int64_t now_ms, struct post_fault *f)
{
	struct err e = {0};

	if (when_to_local(ps->zone, now_ms, &ps->local, NULL, NULL, &e))
		return posts_fault(f, "invalid", "schedule.at", "%s", e.msg);
	ps->rule.start = ps->local;
	ps->rule.hour = ps->local.hour;
	ps->rule.minute = ps->local.minute;
	if (ps->rule.freq == WHEN_MONTHLY && !ps->rule.month_day)
		ps->rule.month_day = ps->local.day;
	if (when_rule_check(&ps->rule, &e))
		return posts_fault(f, "invalid", "schedule.repeat", "%s", e.msg);
	return 0;
}

int posts_first(struct post_sched *ps, int64_t now_ms, bool check_past, struct post_fault *f)
{
	struct err e = {0};
	int rc;

	if (ps->now) {
		ps->at_ms = now_ms;
		if (ps->recurring && (rc = rule_at_now(ps, now_ms, f)) != 0)
			return rc;
	}
	if (!ps->recurring) {
		ps->first_at = ps->at_ms;
	} else if (ps->now) {
		ps->first_at = now_ms; /* the first occurrence is now itself */
	} else {
		/* the first occurrence on or after the start date */
		rc = when_next(ps->zone, &ps->rule, INT64_MIN / 2, 0, &ps->first_at, &ps->adjust,
		               &e);
		if (rc == -ERR_NOT_FOUND)
			return posts_fault(f, "invalid", "schedule.repeat",
			                   "the schedule has no occurrence (is until before at?)");
		if (rc)
			return posts_fault(f, "invalid", "schedule", "%s", e.msg);
	}
	if (check_past && ps->first_at < now_ms - POST_PAST_GRACE_MS)
		return posts_fault(f, "past", "schedule.at", "the time is in the past");
	return 0;
}

static bool is_spec_field(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(spec_fields); i++)
		if (strcmp(key, spec_fields[i]) == 0)
			return true;
	return false;
}

int posts_check(const json_t *in, const char *user_zone, int64_t now_ms, bool check_past,
                json_t **canon, struct post_sched *ps, struct post_fault *f)
{
	json_t *out = NULL, *media = NULL, *buttons = NULL, *channels = NULL, *sched = NULL;
	const json_t *text = json_object_get(in, "text"), *v;
	const char *key;
	bool draft = false;
	int64_t delete_after = 0;
	int rc = 0;

	memset(ps, 0, sizeof(*ps));
	*canon = NULL;
	if (!json_is_object(in))
		return posts_fault(f, "invalid", "post", "must be a JSON object");
	json_object_foreach((json_t *)in, key, v)
	{
		if (!is_spec_field(key)) {
			char field[64];

			snprintf(field, sizeof(field), "%.60s", key[0] ? key : "\"\"");
			return posts_fault(f, "invalid", field, "not a field of a post");
		}
	}
	v = json_object_get(in, "draft");
	if (v && !json_is_boolean(v))
		return posts_fault(f, "invalid", "draft", "must be true or false");
	draft = json_is_true(v);
	v = json_object_get(in, "media");
	if (v && !json_is_null(v) && (rc = check_media(v, &media, f)) != 0)
		goto out;
	if (text && !json_is_null(text) && json_string_length(text) > 0 &&
	    (rc = check_text(text, media && json_array_size(media) > 0, f)) != 0)
		goto out;
	if (!draft && (!text || json_string_length(text) == 0) && json_array_size(media) == 0) {
		rc = posts_fault(f, "invalid", "text", "a post needs text or media");
		goto out;
	}
	v = json_object_get(in, "buttons");
	if (v && !json_is_null(v) && (rc = check_buttons(v, &buttons, f)) != 0)
		goto out;
	if (json_array_size(media) > 1 && json_array_size(buttons) > 0 &&
	    (!text || json_string_length(text) == 0)) {
		rc = posts_fault(f, "album", "buttons",
		                 "an album's buttons need text: Telegram sends them in a message "
		                 "after the album, with the text");
		goto out;
	}
	for (size_t i = 0; i < 4; i++) {
		static const char *const opts[] = {"silent", "protect", "pin", "disable_preview"};

		v = json_object_get(in, opts[i]);
		if (v && !json_is_boolean(v)) {
			rc = posts_fault(f, "invalid", opts[i], "must be true or false");
			goto out;
		}
	}
	v = json_object_get(in, "delete_after_hours");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > POST_DELETE_AFTER_MAX) {
			rc = posts_fault(f, "invalid", "delete_after_hours",
			                 "must be 0 (never) to %d hours: Telegram deletes only "
			                 "messages younger than 48 hours",
			                 POST_DELETE_AFTER_MAX);
			goto out;
		}
		delete_after = json_integer_value(v);
	}
	v = json_object_get(in, "channels");
	if (v && !json_is_null(v) && (rc = check_channels(v, &channels, f)) != 0)
		goto out;
	if (!draft && json_array_size(channels) == 0) {
		rc = posts_fault(f, "invalid", "channels", "choose at least one channel");
		goto out;
	}
	v = json_object_get(in, "schedule");
	if (v && !json_is_null(v)) {
		rc = posts_schedule(v, user_zone, ps, &sched, f);
		if (rc)
			goto out;
	} else {
		snprintf(ps->zone, sizeof(ps->zone), "%s", user_zone);
		ps->now = true;
		ps->rule.freq = WHEN_ONCE;
	}
	if (!draft && (rc = posts_first(ps, now_ms, check_past, f)) != 0)
		goto out;
	if (!draft && ps->now && ps->recurring) {
		/* "now" starts the rule at this minute: keep that local time */
		char at[24];

		local_text(&ps->local, at);
		json_object_set_new(sched, "at", json_string(at));
		if (ps->rule.freq == WHEN_MONTHLY)
			json_object_set_new(json_object_get(sched, "repeat"), "month_day",
			                    json_integer(ps->rule.month_day));
		ps->now = false;
	}
	out = json_pack("{s:s, s:o, s:o, s:b, s:b, s:b, s:b, s:I, s:o, s:b, s:o}", "text",
	                json_is_string(text) ? json_string_value(text) : "", "media",
	                media ? media : json_array(), "buttons", buttons ? buttons : json_array(),
	                "silent", json_is_true(json_object_get(in, "silent")), "protect",
	                json_is_true(json_object_get(in, "protect")), "pin",
	                json_is_true(json_object_get(in, "pin")), "disable_preview",
	                json_is_true(json_object_get(in, "disable_preview")), "delete_after_hours",
	                (json_int_t)delete_after, "channels", channels ? channels : json_array(),
	                "draft", draft, "schedule", sched ? sched : json_null());
	media = buttons = channels = sched = NULL;
	*canon = out;
	return 0;
out:
	json_decref(media);
	json_decref(buttons);
	json_decref(channels);
	json_decref(sched);
	return rc;
}

int posts_validate(const json_t *in, const char *user_zone, int64_t now_ms, json_t **canon,
                   struct post_when *w, struct post_fault *f)
{
	struct post_sched ps;
	int rc = posts_check(in, user_zone, now_ms, true, canon, &ps, f);

	if (rc)
		return rc;
	w->first_at = json_is_true(json_object_get(*canon, "draft")) ? 0 : ps.first_at;
	w->adjust = posts_adjust_name(ps.adjust);
	w->recurring = ps.recurring;
	return 0;
}
