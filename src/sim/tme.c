/*
 * tme: the public channel page GET /s/<username> as t.me serves it
 * (protocols.md A.12; docs/simulator.md, "The public page"), on the Bot
 * API's listener, so HERALD_TME_URL can point at the simulator.
 *
 * The page has t.me's markup: the channel's header (title, @username,
 * description, counters abbreviated as t.me does), then
 * section.tgme_channel_history with up to SIM_TME_PAGE_POSTS messages,
 * oldest first, each with its text, media, views, date, reactions and
 * "edited"; service messages are marked .service_message. ?before=<id>
 * shows the older ones and ?after=<id> the newer; the links to them are
 * a.tme_messages_more[data-before|data-after] and <link rel="prev|next">.
 * Counts are the audience model's (audience.c) at Telegram's clock. Only
 * a channel with a username has a page; any other name gets t.me's
 * contact page, which has no history section.
 *
 * A switch (POST /control/tme) makes pages fail for tests: an HTTP error,
 * a dropped connection, a delay, or markup whose classes are renamed, as
 * if t.me changed its page.
 */
#include "sim/sim_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/mem.h"
#include "sim/drivers.h"

#define PAGE_MAX      (8u << 20)
#define TME           "https://t.me"
#define CDN           "https://cdn4.telesco.pe/file/"
#define HANG_MAX_MS   600000
#define NAME_MAX_LEN  64
#define RENAMED_CLASS "tgmx_" /* what "tgme_" becomes in changed markup */

void sim_count_short(int64_t n, char *out, size_t outsz)
{
	int64_t tenths;
	char suffix = 'K';

	if (n < 1000) {
		snprintf(out, outsz, "%lld", (long long)(n < 0 ? 0 : n));
		return;
	}
	tenths = (n + 50) / 100; /* tenths of a thousand, half up */
	if (tenths >= 10000) {   /* 999950 on: 1000.0K is 1M */
		tenths = (n + 50000) / 100000;
		suffix = 'M';
	}
	if (tenths % 10)
		snprintf(out, outsz, "%lld.%lld%c", (long long)(tenths / 10),
		         (long long)(tenths % 10), suffix);
	else
		snprintf(out, outsz, "%lld%c", (long long)(tenths / 10), suffix);
}

/* ---- writing the page ---- */

struct page {
	struct buf b;
	int rc; /* the first failure to append; the page is dropped then */
};

static void put(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct page *p, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return;
	va_start(ap, fmt);
	p->rc = buf_vprintf(&p->b, fmt, ap);
	va_end(ap);
}

static void esc(struct page *p, const char *s)
{
	if (!p->rc)
		p->rc = drv_html(&p->b, s ? s : "");
}

/* Plain text: escaped, newlines as <br/>. */
static void text_plain(struct page *p, const char *s)
{
	for (; *s && !p->rc; s++) {
		if (*s == '\n') {
			put(p, "<br/>");
		} else {
			char one[2] = {*s, 0};

			esc(p, one);
		}
	}
}

/* The tag at s (after '<'): its name's length; *closing when "</". */
static size_t tag_name(const char *s, bool *closing)
{
	size_t n = 0;

	*closing = *s == '/';
	s += *closing;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
	       (s[n] >= '0' && s[n] <= '9') || s[n] == '-')
		n++;
	return n;
}

/*
 * A text sent with parse_mode HTML (the simulator checked its tags): the
 * formatting tags t.me keeps come out bare (<b>, <i>, <u>, <s>, <code>,
 * <pre>, <blockquote>), every other tag (links, spoilers, custom emoji)
 * leaves only its text; character entities stay, anything else is escaped.
 */
static void text_html(struct page *p, const char *s)
{
	static const struct {
		const char *in, *out;
	} keep[] = {{"b", "b"},   {"strong", "b"},  {"i", "i"},     {"em", "i"},
	            {"u", "u"},   {"ins", "u"},     {"s", "s"},     {"strike", "s"},
	            {"del", "s"}, {"code", "code"}, {"pre", "pre"}, {"blockquote", "blockquote"}};

	while (*s && !p->rc) {
		if (*s == '<') {
			bool closing;
			size_t n = tag_name(s + 1, &closing);
			const char *name = s + 1 + closing, *end = strchr(s, '>');

			for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
				if (strlen(keep[i].in) == n &&
				    strncasecmp(keep[i].in, name, n) == 0)
					put(p, "<%s%s>", closing ? "/" : "", keep[i].out);
			s = end ? end + 1 : s + strlen(s);
			continue;
		}
		if (*s == '&') {
			size_t n = strspn(s + 1, "#abcdefghijklmnopqrstuvwxyzABCDEFXx0123456789");

			if (n && s[1 + n] == ';') {
				put(p, "%.*s", (int)n + 2, s);
				s += n + 2;
				continue;
			}
		}
		if (*s == '\n') {
			put(p, "<br/>");
		} else {
			char one[2] = {*s, 0};

			esc(p, one);
		}
		s++;
	}
}

/* The title's first character (UTF-8), as t.me's round picture shows it. */
static void initial(struct page *p, const char *title)
{
	size_t n = 1;

	if (!title || !*title) {
		put(p, "?");
		return;
	}
	while (n < 4 && ((unsigned char)title[n] & 0xC0) == 0x80)
		n++;
	put(p, "%.*s", (int)n, title);
}

static void iso_time(int64_t t, char *iso, size_t isosz, char *hm, size_t hmsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(iso, isosz, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	strftime(hm, hmsz, "%H:%M", &tm);
}

static const char *str_field(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void media(struct page *p, const char *user, const struct sim_msg *sm)
{
	const json_t *m = sm->m, *v;
	json_int_t id = json_integer_value(json_object_get(m, "message_id"));

	if ((v = json_object_get(m, "photo")) && json_array_size(v)) {
		put(p,
		    "<a class=\"tgme_widget_message_photo_wrap\" href=\"" TME "/%s/%lld\" "
		    "style=\"width:800px;background-image:url('" CDN "%s.jpg')\">"
		    "<div class=\"tgme_widget_message_photo\" style=\"padding-top:56.25%%\"></div>"
		    "</a>\n",
		    user, (long long)id,
		    str_field(json_array_get(v, json_array_size(v) - 1), "file_unique_id"));
	} else if ((v = json_object_get(m, "video")) || (v = json_object_get(m, "animation"))) {
		json_int_t d = json_integer_value(json_object_get(v, "duration"));

		put(p,
		    "<a class=\"tgme_widget_message_video_player\" href=\"" TME "/%s/%lld\">"
		    "<i class=\"tgme_widget_message_video_thumb\" "
		    "style=\"background-image:url('" CDN "%s.jpg')\"></i>"
		    "<div class=\"tgme_widget_message_video_wrap\"></div>"
		    "<time class=\"message_video_duration js-message_video_duration\">%lld:%02lld"
		    "</time></a>\n",
		    user, (long long)id, str_field(v, "file_unique_id"), (long long)(d / 60),
		    (long long)(d % 60));
	} else if ((v = json_object_get(m, "document")) || (v = json_object_get(m, "audio"))) {
		put(p,
		    "<div class=\"tgme_widget_message_document_wrap\">"
		    "<div class=\"tgme_widget_message_document\">"
		    "<div class=\"tgme_widget_message_document_title accent_color\" dir=\"auto\">");
		esc(p, str_field(v, "file_name") ? str_field(v, "file_name") : "file");
		put(p,
		    "</div><div class=\"tgme_widget_message_document_extra\" dir=\"auto\">%lld B"
		    "</div></div></div>\n",
		    (long long)json_integer_value(json_object_get(v, "file_size")));
	} else if ((v = json_object_get(m, "poll"))) {
		json_t *opt;
		size_t i;

		put(p, "<div class=\"tgme_widget_message_poll js-poll\">"
		       "<div class=\"tgme_widget_message_poll_question\" dir=\"auto\">");
		esc(p, str_field(v, "question"));
		put(p,
		    "</div><div class=\"tgme_widget_message_poll_type\">%s</div>"
		    "<div class=\"tgme_widget_message_poll_options\">",
		    json_is_false(json_object_get(v, "is_anonymous")) ? "Poll" : "Anonymous poll");
		json_array_foreach(json_object_get(v, "options"), i, opt)
		{
			put(p, "<div class=\"tgme_widget_message_poll_option\">"
			       "<div class=\"tgme_widget_message_poll_option_text\" dir=\"auto\">");
			esc(p, str_field(opt, "text"));
			put(p, "</div></div>");
		}
		put(p, "</div></div>\n");
	}
}

/* Forwarded-from and reply previews. */
static void context(struct page *p, const char *user, const json_t *m)
{
	const json_t *origin = json_object_get(m, "forward_origin"), *reply;

	if (origin) {
		const json_t *chat = json_object_get(origin, "chat");
		const json_t *who = json_object_get(origin, "sender_user");
		const char *name = chat ? str_field(chat, "title") : str_field(who, "first_name");
		const char *un = chat ? str_field(chat, "username") : NULL;

		put(p, "<div class=\"tgme_widget_message_forwarded_from accent_color\">"
		       "Forwarded from ");
		if (un)
			put(p,
			    "<a class=\"tgme_widget_message_forwarded_from_name\" href=\"" TME
			    "/%s\">",
			    un);
		else
			put(p, "<span class=\"tgme_widget_message_forwarded_from_name\">");
		esc(p, name ? name : str_field(origin, "sender_user_name"));
		put(p, "%s</div>\n", un ? "</a>" : "</span>");
	}
	if ((reply = json_object_get(m, "reply_to_message"))) {
		const char *t = str_field(reply, "text");

		put(p,
		    "<a class=\"tgme_widget_message_reply\" href=\"" TME "/%s/%lld\">"
		    "<div class=\"tgme_widget_message_metatext js-message_reply_text\" "
		    "dir=\"auto\">",
		    user, (long long)json_integer_value(json_object_get(reply, "message_id")));
		esc(p, t ? t : str_field(reply, "caption"));
		put(p, "</div></a>\n");
	}
}

static void service_text(struct page *p, const json_t *m)
{
	if (json_object_get(m, "channel_chat_created"))
		put(p, "Channel created");
	else if (json_object_get(m, "pinned_message"))
		put(p, "Message pinned");
	else if (json_object_get(m, "new_chat_title")) {
		put(p, "Channel name was changed to «");
		esc(p, str_field(m, "new_chat_title"));
		put(p, "»");
	} else if (json_object_get(m, "new_chat_photo"))
		put(p, "Channel photo updated");
	else if (json_object_get(m, "delete_chat_photo"))
		put(p, "Channel photo removed");
	else
		put(p, "Service message");
}

static void message(struct page *p, const struct sim_chat *ch, const struct sim_msg *sm,
                    int64_t now)
{
	const json_t *m = sm->m;
	const char *user = ch->username, *text = str_field(m, "text");
	json_int_t id = json_integer_value(json_object_get(m, "message_id"));
	char iso[40], hm[8], n[24];
	struct sim_post_counts pc;

	if (!text)
		text = str_field(m, "caption");
	iso_time(json_integer_value(json_object_get(m, "date")), iso, sizeof(iso), hm, sizeof(hm));
	put(p, "<div class=\"tgme_widget_message_wrap js-widget_message_wrap\">\n");
	if (!sm->aud.counted) {
		put(p,
		    "<div class=\"tgme_widget_message service_message js-widget_message\" "
		    "data-post=\"%s/%lld\"><div class=\"tgme_widget_message_bubble\">"
		    "<div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">",
		    user, (long long)id);
		service_text(p, m);
		put(p, "</div></div></div>\n</div>\n");
		return;
	}
	sim_post_counts(sm, now, &pc);
	put(p,
	    "<div class=\"tgme_widget_message text_not_supported_wrap js-widget_message\" "
	    "data-post=\"%s/%lld\" data-view=\"%s-%lld\">\n"
	    "<div class=\"tgme_widget_message_user\"><a href=\"" TME "/%s\">"
	    "<i class=\"tgme_widget_message_user_photo bgcolor1\" data-content=\"",
	    user, (long long)id, user, (long long)id, user);
	initial(p, ch->title);
	put(p,
	    "\"></i></a></div>\n<div class=\"tgme_widget_message_bubble\">\n"
	    "<i class=\"tgme_widget_message_bubble_tail\"></i>\n"
	    "<div class=\"tgme_widget_message_author accent_color\">"
	    "<a class=\"tgme_widget_message_owner_name\" href=\"" TME "/%s\"><span dir=\"auto\">",
	    user);
	esc(p, ch->title);
	put(p, "</span></a></div>\n");
	context(p, user, m);
	media(p, user, sm);
	if (text && *text) {
		put(p, "<div class=\"tgme_widget_message_text js-message_text\" dir=\"auto\">");
		if (strcmp(sm->parse_mode, "HTML") == 0)
			text_html(p, text);
		else
			text_plain(p, text);
		put(p, "</div>\n");
	}
	if (pc.reactions_total) {
		put(p, "<div class=\"tgme_widget_message_reactions js-message_reactions\">");
		for (size_t k = 0; k < pc.nemoji; k++) {
			if (!pc.reactions[k])
				continue;
			sim_count_short(pc.reactions[k], n, sizeof(n));
			put(p,
			    "<span class=\"tgme_reaction\"><i "
			    "class=\"emoji\"><b>%s</b></i>%s</span>",
			    pc.emoji[k], n);
		}
		put(p, "</div>\n");
	}
	sim_count_short(pc.views, n, sizeof(n));
	put(p,
	    "<div class=\"tgme_widget_message_footer compact js-message_footer\">\n"
	    "<div class=\"tgme_widget_message_info short js-message_info\">\n"
	    "<span class=\"tgme_widget_message_views\">%s</span>"
	    "<span class=\"copyonly\"> views</span>",
	    n);
	if (str_field(m, "author_signature")) {
		put(p, "<span class=\"tgme_widget_message_from_author\" dir=\"auto\">");
		esc(p, str_field(m, "author_signature"));
		put(p, "</span>");
	}
	put(p,
	    "<span class=\"tgme_widget_message_meta\">%s<a class=\"tgme_widget_message_date\" "
	    "href=\"" TME "/%s/%lld\"><time datetime=\"%s\" class=\"time\">%s</time></a></span>\n"
	    "</div>\n</div>\n</div>\n</div>\n</div>\n",
	    sm->edited ? "edited " : "", user, (long long)id, iso, hm);
}

static void head(struct page *p, const struct sim_chat *ch, const char *prev, const char *next)
{
	put(p, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
	esc(p, ch->title);
	put(p, " – Telegram</title>\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
	       "<meta property=\"og:title\" content=\"");
	esc(p, ch->title);
	put(p, "\">\n<meta property=\"og:description\" content=\"");
	esc(p, ch->description);
	put(p, "\">\n<link rel=\"canonical\" href=\"" TME "/s/%s\">\n", ch->username);
	if (prev[0])
		put(p, "<link rel=\"prev\" href=\"/s/%s?before=%s\">\n", ch->username, prev);
	if (next[0])
		put(p, "<link rel=\"next\" href=\"/s/%s?after=%s\">\n", ch->username, next);
	put(p, "</head>\n<body class=\"widget_frame_base tgme_body\">\n<main class=\"tgme_main\">\n"
	       "<div class=\"tgme_container\">\n");
}

/* Counters after subscribers, as t.me lists them (only those above 0). */
static void counters(struct page *p, const struct sim_chat *ch)
{
	int64_t photos = 0, videos = 0, files = 0, links = 0;
	char n[24];

	for (size_t i = 0; i < ch->nmsgs; i++) {
		const struct sim_msg *sm = &ch->msgs[i];
		const char *t = str_field(sm->m, "text");

		if (sm->deleted || !sm->aud.counted)
			continue;
		if (!t)
			t = str_field(sm->m, "caption");
		photos += json_object_get(sm->m, "photo") != NULL;
		videos += json_object_get(sm->m, "video") || json_object_get(sm->m, "animation");
		files += json_object_get(sm->m, "document") || json_object_get(sm->m, "audio");
		links += t && (strstr(t, "http://") || strstr(t, "https://"));
	}
	sim_count_short(ch->member_count, n, sizeof(n));
	put(p,
	    "<div class=\"tgme_channel_info_counters\">\n"
	    "<div class=\"tgme_channel_info_counter\"><span class=\"counter_value\">%s</span> "
	    "<span class=\"counter_type\">%s</span></div>\n",
	    n, ch->member_count == 1 ? "subscriber" : "subscribers");
	{
		const struct {
			int64_t v;
			const char *one, *many;
		} c[] = {{photos, "photo", "photos"},
		         {videos, "video", "videos"},
		         {files, "file", "files"},
		         {links, "link", "links"}};

		for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
			if (!c[i].v)
				continue;
			sim_count_short(c[i].v, n, sizeof(n));
			put(p,
			    "<div class=\"tgme_channel_info_counter\"><span "
			    "class=\"counter_value\">%s"
			    "</span> <span class=\"counter_type\">%s</span></div>\n",
			    n, c[i].v == 1 ? c[i].one : c[i].many);
		}
	}
	put(p, "</div>\n");
}

/* The channel's page: messages newer than after (when >= 0), else older
 * than before (when > 0), else the newest. */
static void channel_page(struct page *p, const struct sim_chat *ch, int64_t before, int64_t after,
                         int64_t now)
{
	size_t *vis = xcalloc(ch->nmsgs + 1, sizeof(*vis)), nvis = 0, from, to;
	char prev[24] = "", next[24] = "";

	for (size_t i = 0; i < ch->nmsgs; i++)
		if (!ch->msgs[i].deleted)
			vis[nvis++] = i; /* message_id i + 1 */
	if (after >= 0) {
		for (from = 0; from < nvis && (int64_t)vis[from] + 1 <= after; from++)
			;
		to = from + SIM_TME_PAGE_POSTS < nvis ? from + SIM_TME_PAGE_POSTS : nvis;
	} else {
		for (to = 0; before > 0 && to < nvis && (int64_t)vis[to] + 1 < before; to++)
			;
		if (before <= 0)
			to = nvis;
		from = to > SIM_TME_PAGE_POSTS ? to - SIM_TME_PAGE_POSTS : 0;
	}
	if (from > 0 && from < nvis)
		snprintf(prev, sizeof(prev), "%zu", vis[from] + 1);
	if (to < nvis && to > from)
		snprintf(next, sizeof(next), "%zu", vis[to - 1] + 1);
	head(p, ch, prev, next);
	put(p, "<section class=\"tgme_right_column\">\n<div class=\"tgme_channel_info\">\n"
	       "<div class=\"tgme_channel_info_header\">\n"
	       "<i class=\"tgme_page_photo_image bgcolor1\" data-content=\"");
	initial(p, ch->title);
	put(p, "\"></i>\n<div class=\"tgme_channel_info_header_title\"><span dir=\"auto\">");
	esc(p, ch->title);
	put(p,
	    "</span></div>\n<div class=\"tgme_channel_info_header_username\">"
	    "<a href=\"" TME "/%s\">@%s</a></div>\n</div>\n",
	    ch->username, ch->username);
	counters(p, ch);
	if (ch->description && *ch->description) {
		put(p, "<div class=\"tgme_channel_info_description\">");
		text_plain(p, ch->description);
		put(p, "</div>\n");
	}
	put(p, "</div>\n</section>\n"
	       "<section class=\"tgme_channel_history js-message_history\">\n");
	if (prev[0])
		put(p,
		    "<div class=\"tgme_widget_message_centered js-messages_more_wrap\">"
		    "<a href=\"/s/%s?before=%s\" class=\"tme_messages_more js-messages_more\" "
		    "data-before=\"%s\"></a></div>\n",
		    ch->username, prev, prev);
	for (size_t i = from; i < to; i++)
		message(p, ch, &ch->msgs[vis[i]], now);
	if (next[0])
		put(p,
		    "<div class=\"tgme_widget_message_centered js-messages_more_wrap\">"
		    "<a href=\"/s/%s?after=%s\" class=\"tme_messages_more js-messages_more\" "
		    "data-after=\"%s\"></a></div>\n",
		    ch->username, next, next);
	put(p, "</section>\n</div>\n</main>\n</body>\n</html>\n");
	free(vis);
}

/* What t.me shows for a name without a public channel: the contact page. */
static void contact_page(struct page *p, const char *name)
{
	put(p, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
	       "<title>Telegram: Contact @");
	esc(p, name);
	put(p, "</title>\n</head>\n<body class=\"tgme_body\">\n<div class=\"tgme_page_wrap\">\n"
	       "<div class=\"tgme_page\">\n<div class=\"tgme_page_description\">If you have "
	       "<strong>Telegram</strong>, you can contact <a class=\"tgme_username_link\" "
	       "href=\"tg://resolve?domain=");
	esc(p, name);
	put(p, "\">@");
	esc(p, name);
	put(p, "</a> right away.</div>\n</div>\n</div>\n</body>\n</html>\n");
}

/* Rename every tgme_ class (and tme_messages_more): t.me changed its page. */
static void rename_classes(struct page *p)
{
	struct buf out;
	const char *s = p->b.p;

	buf_init(&out, PAGE_MAX);
	while (*s && !p->rc) {
		if (strncmp(s, "tgme_", 5) == 0) {
			p->rc = buf_adds(&out, RENAMED_CLASS);
			s += 5;
		} else if (strncmp(s, "tme_messages_more", 17) == 0) {
			p->rc = buf_adds(&out, "tme_more_messages");
			s += 17;
		} else {
			p->rc = buf_addch(&out, *s++);
		}
	}
	buf_release(&p->b);
	p->b = out;
}

/* A query integer >= 0; -1 when absent or not one (t.me ignores it then). */
static int64_t query_id(struct http_req *r, const char *name)
{
	const char *v = http_req_query(r, name);
	int64_t x;

	return v && !str_to_i64(str_c(v), 0, INT64_MAX, &x) ? x : -1;
}

static const char error_page[] = "<html><body>Server error</body></html>\n";

static int c_page(struct http_req *r)
{
	struct sim *s = r->ctx;
	struct str v = router_param(&r->match, "name");
	struct page p = {0};
	enum sim_tme_mode mode = SIM_TME_OK;
	char name[NAME_MAX_LEN + 1];
	struct sim_chat *ch;
	int status = 200, rc;

	snprintf(name, sizeof(name), "%.*s", (int)(v.len < NAME_MAX_LEN ? v.len : NAME_MAX_LEN),
	         v.p);
	buf_init(&p.b, PAGE_MAX);
	pthread_mutex_lock(&s->mu);
	s->tme.served++;
	if (s->tme.mode != SIM_TME_OK &&
	    (!s->tme.username[0] || strcasecmp(s->tme.username, name) == 0)) {
		mode = s->tme.mode;
		status = s->tme.status;
		if (s->tme.remaining > 0 && --s->tme.remaining == 0)
			s->tme.mode = SIM_TME_OK;
		if (mode == SIM_TME_HANG) {
			int64_t deadline = clock_mono_ms() + s->tme.hang_ms;

			while (!s->stopping && sim_wait_until(s, deadline))
				;
		}
	}
	if (mode == SIM_TME_ERROR || mode == SIM_TME_CLOSE) {
		pthread_mutex_unlock(&s->mu);
		buf_release(&p.b);
		if (mode == SIM_TME_CLOSE)
			return http_reply_close(r);
		return http_reply(r, status, "text/html; charset=utf-8", error_page,
		                  sizeof(error_page) - 1);
	}
	sim_audience_tick(s);
	ch = sim_chat_by_username(s, name);
	if (ch && ch->type == SIM_CHANNEL && ch->username)
		channel_page(&p, ch, query_id(r, "before"), query_id(r, "after"), sim_now_s(s));
	else
		contact_page(&p, name);
	pthread_mutex_unlock(&s->mu);
	if (mode == SIM_TME_MARKUP)
		rename_classes(&p);
	if (p.rc)
		rc = http_reply(r, 500, "text/plain", "page too large\n", 15);
	else
		rc = http_reply(r, 200, "text/html; charset=utf-8", p.b.p, p.b.len);
	buf_release(&p.b);
	return rc;
}

/* ---- the switch ---- */

static const char *const mode_names[] = {"ok", "error", "close", "hang", "markup"};

static json_t *tme_json(const struct sim_tme *t)
{
	return json_pack("{s:s, s:i, s:I, s:I, s:s?, s:I}", "mode", mode_names[t->mode], "status",
	                 t->status, "hang_ms", (json_int_t)t->hang_ms, "remaining",
	                 (json_int_t)t->remaining, "username", t->username[0] ? t->username : NULL,
	                 "requests", (json_int_t)t->served);
}

static int c_tme_get(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *o;

	pthread_mutex_lock(&s->mu);
	o = tme_json(&s->tme);
	pthread_mutex_unlock(&s->mu);
	return drv_reply(r, o);
}

static int c_tme_set(struct http_req *r)
{
	struct sim *s = r->ctx;
	json_t *b = drv_body(r), *o;
	struct sim_tme t = {.status = 502, .hang_ms = 5000};
	const char *mode, *user;
	int64_t v;
	bool known = false;

	if (!b)
		return -1;
	mode = drv_get_str(b, "mode");
	user = drv_get_str(b, "username");
	for (size_t i = 0; mode && i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(mode, mode_names[i]) == 0) {
			t.mode = (enum sim_tme_mode)i;
			known = true;
		}
	if (drv_get_i64(b, "status", &v) == 0)
		t.status = (int)(v >= 400 && v <= 599 ? v : 0);
	else if (json_object_get(b, "status"))
		t.status = 0;
	if (drv_get_i64(b, "hang_ms", &v) == 0)
		t.hang_ms = v >= 0 && v <= HANG_MAX_MS ? v : -1;
	else if (json_object_get(b, "hang_ms"))
		t.hang_ms = -1;
	if (drv_get_i64(b, "count", &v) == 0)
		t.remaining = v >= 1 ? v : -1;
	else if (json_object_get(b, "count"))
		t.remaining = -1;
	if (!known || !t.status || t.hang_ms < 0 || t.remaining < 0 ||
	    (user && (!*user || strlen(user) >= sizeof(t.username))) ||
	    (json_object_get(b, "username") && !user &&
	     !json_is_null(json_object_get(b, "username")))) {
		json_decref(b);
		return drv_fail(r, 400,
		                "mode is ok, error, close, hang or markup; status 400-599, "
		                "hang_ms 0-600000, count >= 1, username a channel's");
	}
	snprintf(t.username, sizeof(t.username), "%s", user ? user : "");
	json_decref(b);
	pthread_mutex_lock(&s->mu);
	t.served = s->tme.served;
	s->tme = t;
	o = tme_json(&s->tme);
	pthread_mutex_unlock(&s->mu);
	return drv_reply(r, o);
}

const struct route sim_tme_routes[] = {
    {"GET", "/s/{name}", c_page, 0, "a public channel's page, as t.me/s/<name>"},
    {"GET", "/control/tme", c_tme_get, 0, "the public page's failure switch"},
    {"POST", "/control/tme", c_tme_set, 0, "make the public page fail"},
};
const size_t sim_tme_nroutes = ARRAY_SIZE(sim_tme_routes);
