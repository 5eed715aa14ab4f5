/*
 * Unit tests of the public channel page parser (collect/tme): every field of
 * the saved pages in tests/fixtures/tme/, changed markup and the private page
 * as distinct errors, the empty channel, fields that are rejected alone, and
 * the tables of counts and dates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collect/tme.h"
#include "lib/buf.h"
#include "lib/mem.h"

/* tests/fixtures/tme/<name>, read whole; the caller frees it. */
static char *fixture(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *p;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/tme/%s", HERALD_SOURCE_DIR, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static int parse_fixture(const char *name, struct tme_page *page, struct err *e)
{
	size_t len;
	char *html = fixture(name, &len);
	int rc;

	memset(e, 0, sizeof(*e));
	rc = tme_page_parse(html, len, page, e);
	free(html);
	return rc;
}

static int parse_str(const char *html, struct tme_page *page, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return tme_page_parse(html, strlen(html), page, e);
}

#define UNKNOWN   ((struct tme_count){0, false, false})
#define EXACT(v)  ((struct tme_count){(v), true, false})
#define APPROX(v) ((struct tme_count){(v), true, true})

static void count_is(struct tme_count got, struct tme_count want, int64_t id, const char *what)
{
	if (got.known != want.known || got.value != want.value || got.approx != want.approx)
		fail_msg("post %lld %s: got %s%lld%s, want %s%lld%s", (long long)id, what,
		         got.known ? "" : "unknown ", (long long)got.value, got.approx ? "~" : "",
		         want.known ? "" : "unknown ", (long long)want.value,
		         want.approx ? "~" : "");
}

struct want_post {
	int64_t id;
	int64_t date_ms;
	struct tme_count views, reactions, paid, forwards;
	enum tme_media media;
	bool edited, forwarded;
};

static void post_is(const struct tme_post *got, const struct want_post *want)
{
	assert_int_equal(got->id, want->id);
	if (got->date_ms != want->date_ms)
		fail_msg("post %lld date: got %lld, want %lld", (long long)want->id,
		         (long long)got->date_ms, (long long)want->date_ms);
	count_is(got->views, want->views, want->id, "views");
	count_is(got->reactions, want->reactions, want->id, "reactions");
	count_is(got->paid, want->paid, want->id, "paid reactions");
	count_is(got->forwards, want->forwards, want->id, "forwards");
	if (got->media != want->media)
		fail_msg("post %lld media: got %d, want %d", (long long)want->id, got->media,
		         want->media);
	if (got->edited != want->edited || got->forwarded != want->forwarded)
		fail_msg("post %lld: edited %d forwarded %d, want %d %d", (long long)want->id,
		         got->edited, got->forwarded, want->edited, want->forwarded);
	assert_int_equal(got->bad, 0);
}

/*
 * channel.html: 20 posts and a service message (106). Dates are the page's
 * datetime attributes converted to UTC by hand, e.g. 2026-07-01T12:30:00+03:00
 * is 09:30 UTC = 1782898200000.
 */
static const struct want_post channel_posts[] = {
    /* text only, no reaction bar */
    {101, 1782896400000, EXACT(987), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
    /* photo; 👍 1.2K + ❤ 340 */
    {102, 1782898200000, APPROX(1200), APPROX(1540), EXACT(0), UNKNOWN, TME_MEDIA_PHOTO, false,
     false},
    /* video, -04:00; 🔥 55.2K + custom emoji 1.1K, paid ⭐ 87 */
    {103, 1783032310000, APPROX(3400000), APPROX(56300), EXACT(87), UNKNOWN, TME_MEDIA_VIDEO, false,
     false},
    /* document, edited */
    {104, 1783062000000, APPROX(2050000), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_DOCUMENT, true,
     false},
    /* poll, +05:30 crosses midnight back to the 3rd */
    {105, 1783121400000, APPROX(12300), EXACT(12), EXACT(0), UNKNOWN, TME_MEDIA_POLL, false, false},
    /* forwarded text */
    {107, 1783160100000, EXACT(999), EXACT(3), EXACT(0), UNKNOWN, TME_MEDIA_TEXT, false, true},
    /* album of two photos and a video */
    {108, 1783261200000, APPROX(45600), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_VIDEO, false, false},
    /* text with a link preview (which has an image) */
    {111, 1783317600000, APPROX(1200), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
    /* a reply: the preview of post 101 is not this post's content */
    {112, 1783368000000, EXACT(640), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
    /* sticker, voice: media the parser does not know */
    {113, 1783415100000, APPROX(5100), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_OTHER, false, false},
    {114, 1783483200000, EXACT(702), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_OTHER, false, false},
    /* photo, signed and edited; paid 1.5K, 👍 230 */
    {115, 1783509071000, APPROX(8800), EXACT(230), APPROX(1500), UNKNOWN, TME_MEDIA_PHOTO, true,
     false},
    /* the only post with .tgme_widget_message_forwards */
    {116, 1783522800000, EXACT(610), UNKNOWN, UNKNOWN, EXACT(42), TME_MEDIA_TEXT, false, false},
    {117, 1783555200000, APPROX(1000), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
    /* +14:00 */
    {118, 1783591199000, APPROX(102000), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_VIDEO, false, false},
    /* signed but not edited */
    {119, 1783670400000, EXACT(7), EXACT(7), EXACT(0), UNKNOWN, TME_MEDIA_PHOTO, false, false},
    {120, 1783771200000, APPROX(2300), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_DOCUMENT, false, false},
    {121, 1783841400000, APPROX(1900000), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
    /* album of three photos, edited, +01:00 */
    {122, 1783968300000, EXACT(640), EXACT(21), EXACT(0), UNKNOWN, TME_MEDIA_PHOTO, true, false},
    {125, 1784017800000, EXACT(58), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
};

static void test_channel_page(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	if (parse_fixture("channel.html", &page, &e) != 0)
		fail_msg("channel.html: %s", e.msg);
	assert_string_equal(page.title, "Herald & Friends 🔔");
	assert_string_equal(page.username, "heraldtest");
	count_is(page.subscribers, APPROX(12300), 0, "subscribers");
	assert_int_equal(page.before, 101);
	assert_int_equal(page.bad, 0);
	assert_int_equal(page.nbad, 0);
	assert_string_equal(page.why, "");
	assert_int_equal(page.nposts, ARRAY_SIZE(channel_posts));
	for (size_t i = 0; i < page.nposts; i++)
		post_is(&page.posts[i], &channel_posts[i]);
	tme_page_release(&page);
	assert_null(page.posts);
	assert_null(page.title);
	assert_int_equal(page.nposts, 0);
}

/* Reactions off: no bar anywhere, so no reaction count is known; the older
 * page comes only from <link rel="prev">. */
static void test_no_reactions(void **state)
{
	static const struct want_post want[] = {
	    {41, 1767229140000, EXACT(15), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false, false},
	    {42, 1767261600000, APPROX(1500), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_PHOTO, false,
	     false},
	    {43, 1767268800000, EXACT(230), UNKNOWN, UNKNOWN, UNKNOWN, TME_MEDIA_TEXT, false,
	     false},
	};
	struct tme_page page;
	struct err e;

	(void)state;
	if (parse_fixture("no_reactions.html", &page, &e) != 0)
		fail_msg("no_reactions.html: %s", e.msg);
	assert_string_equal(page.title, "Quiet News");
	assert_string_equal(page.username, "QuietNews");
	count_is(page.subscribers, EXACT(1), 0, "subscribers"); /* "1 subscriber" */
	assert_int_equal(page.before, 41);
	assert_int_equal(page.nbad, 0);
	assert_int_equal(page.nposts, 3);
	for (size_t i = 0; i < page.nposts; i++)
		post_is(&page.posts[i], &want[i]);
	tme_page_release(&page);
}

static void test_empty_channel(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	if (parse_fixture("empty.html", &page, &e) != 0)
		fail_msg("empty.html: %s", e.msg);
	assert_int_equal(page.nposts, 0);
	assert_string_equal(page.title, "Fresh Start");
	assert_string_equal(page.username, "freshstart");
	count_is(page.subscribers, EXACT(3), 0, "subscribers");
	assert_int_equal(page.before, 0);
	assert_int_equal(page.nbad, 0);
	tme_page_release(&page);
}

static void test_changed_markup(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("changed.html", &page, &e), -ERR_INVALID);
	assert_int_equal(e.code, ERR_INVALID);
	assert_string_equal(e.msg, "markup changed: data-post on a <div> that is not a "
	                           ".tgme_widget_message");
	/* nothing partial */
	assert_null(page.posts);
	assert_null(page.title);
	assert_int_equal(page.nposts, 0);
	assert_string_equal(page.username, "");
	tme_page_release(&page);
}

static void test_private_channel(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	assert_int_equal(parse_fixture("private.html", &page, &e), -ERR_NOT_FOUND);
	assert_int_equal(e.code, ERR_NOT_FOUND);
	assert_string_equal(e.msg, "channel has no public preview (private, unknown or disabled)");
	assert_null(page.posts);
	assert_int_equal(page.nposts, 0);
	tme_page_release(&page);
}

/* A page around history, a history section around posts. */
#define PAGE(history)                                                                              \
	"<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"                         \
	"<div class=\"tgme_channel_info\"><div class=\"tgme_channel_info_header_username\">"       \
	"<a href=\"https://t.me/chan\">@chan</a></div></div>"                                      \
	"<section class=\"tgme_channel_history js-message_history\">" history                      \
	"</section></body></html>"
#define FOOT(id, datetime)                                                                         \
	"<div class=\"tgme_widget_message_footer\"><div class=\"tgme_widget_message_info\">"       \
	"<span class=\"tgme_widget_message_meta\"><a class=\"tgme_widget_message_date\" "          \
	"href=\"https://t.me/chan/" #id "\"><time datetime=\"" datetime "\">00:00</time></a>"      \
	"</span></div></div>"
#define POST(id, inner)                                                                            \
	"<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_widget_message\" "              \
	"data-post=\"chan/" #id "\">" inner                                                        \
	FOOT(id, "2026-01-01T00:00:00+00:00") "</div></div>"

static void changed(const char *html, const char *msg)
{
	struct tme_page page;
	struct err e;
	int rc = parse_str(html, &page, &e);

	if (rc != -ERR_INVALID)
		fail_msg("expected invalid (%s), got %d: %s", msg, rc, e.msg);
	assert_string_equal(e.msg, msg);
	assert_null(page.posts);
	assert_int_equal(page.nposts, 0);
}

static void test_changed_variants(void **state)
{
	(void)state;
	changed("<html><body><p>Nothing here</p></body></html>",
	        "markup changed: no .tgme_channel_history");
	changed("just text", "markup changed: no .tgme_channel_history");
	changed("", "markup changed: no .tgme_channel_history");
	changed(PAGE("<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_widget_message\">"
	             "</div></div>"),
	        "markup changed: a .tgme_widget_message without data-post");
	changed(PAGE("<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_post\" "
	             "data-post=\"chan/5\"></div></div>"),
	        "markup changed: data-post on a <div> that is not a .tgme_widget_message");
	changed(
	    PAGE("<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_post\"></div></div>"),
	    "markup changed: a .tgme_widget_message_wrap without .tgme_widget_message");
	changed(PAGE("<div class=\"tgme_widget_message\" data-post=\"chan/x\"></div>"),
	        "markup changed: data-post \"chan/x\"");
	changed(PAGE("<div class=\"tgme_widget_message\" data-post=\"chan/-5\"></div>"),
	        "markup changed: data-post \"chan/-5\"");
	changed(PAGE("<div class=\"tgme_widget_message\" data-post=\"5\"></div>"),
	        "markup changed: data-post \"5\"");
	changed(PAGE(POST(5, "") POST(6, "") "<div class=\"tgme_widget_message\" "
	                                     "data-post=\"other/7\"></div>"),
	        "markup changed: data-post \"other/7\" is not of channel chan");
	changed(PAGE(POST(5, "") POST(5, "")), "markup changed: post 5 twice");
	changed(PAGE("<span class=\"tgme_widget_message_views\">12</span>"),
	        "markup changed: .tgme_widget_message_views outside a .tgme_widget_message");
	changed(PAGE(POST(5, "<div class=\"tgme_widget_message\" data-post=\"chan/6\"></div>")),
	        "markup changed: .tgme_widget_message inside post 5");
	/* the header names another channel than the posts */
	changed("<div class=\"tgme_channel_info_header_username\"><a>@other</a></div>"
	        "<section class=\"tgme_channel_history\">" POST(5, "") "</section>",
	        "markup changed: posts of chan on the page of @other");
	changed("<section class=\"tgme_channel_history\"></section>"
	        "<section class=\"tgme_channel_history\"></section>",
	        "markup changed: two .tgme_channel_history");
}

/* Nesting past libxml2's limit stops its parser: an error, not the part of
 * the page before it. */
static void test_too_deep(void **state)
{
	struct tme_page page;
	struct err e;
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_adds(&b, "<section class=\"tgme_channel_history\">"), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(buf_adds(&b, "<div>"), 0);
	assert_int_equal(buf_adds(&b, POST(5, "")), 0);
	assert_int_equal(tme_page_parse(b.p, b.len, &page, &e), -ERR_INVALID);
	assert_non_null(strstr(e.msg, "markup changed: html parsing stopped early"));
	assert_int_equal(page.nposts, 0);
	buf_release(&b);
}

static void test_too_big(void **state)
{
	struct tme_page page;
	struct err e;
	char *html = calloc(1, TME_PAGE_MAX + 1);

	(void)state;
	assert_non_null(html);
	assert_int_equal(tme_page_parse(html, TME_PAGE_MAX + 1, &page, &e), -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
	free(html);
}

/* A history with only a service message is a channel with no posts. */
static void test_service_only(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	if (parse_str(
	        PAGE("<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_widget_message "
	             "service_message\" data-post=\"chan/1\"><div "
	             "class=\"tgme_widget_message_text\">Channel created</div></div></div>"),
	        &page, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(page.nposts, 0);
	assert_string_equal(page.username, "chan");
	tme_page_release(&page);
}

/* Malformed numbers and dates reject their field only, and say so. */
static void test_rejected_fields(void **state)
{
	struct tme_page page;
	struct err e;
	const struct tme_post *p;

	(void)state;
	if (parse_str(
	        PAGE(
	            /* views "1.2X", a reaction "lots" */
	            "<div class=\"tgme_widget_message_wrap\"><div class=\"tgme_widget_message\" "
	            "data-post=\"chan/7\"><div class=\"tgme_widget_message_reactions\"><span "
	            "class=\"tgme_reaction\"><b>x</b>3</span><span class=\"tgme_reaction "
	            "tgme_reaction_paid\"><b>*</b>lots</span></div><span "
	            "class=\"tgme_widget_message_views\">1.2X</span>" FOOT(
	                7, "2026-01-01T00:00:00+00:00") "</div></div>"
	                                                /* February 30th, forwards "-1" */
	                                                "<div "
	                                                "class=\"tgme_widget_message_wrap\"><div "
	                                                "class=\"tgme_widget_message\" "
	                                                "data-post=\"chan/8\"><span "
	                                                "class=\"tgme_widget_message_views\">5</"
	                                                "span>"
	                                                "<span "
	                                                "class=\"tgme_widget_message_forwards\">-1<"
	                                                "/span>" FOOT(8, "2026-02-30T00:00:00+00:"
	                                                                 "00") "</div></div>"
	                                                                       /* no date at all */
	                                                                       "<div "
	                                                                       "class=\"tgme_"
	                                                                       "widget_message_"
	                                                                       "wrap\"><div "
	                                                                       "class=\"tgme_"
	                                                                       "widget_message\" "
	                                                                       "data-post=\"chan/"
	                                                                       "9\"><span "
	                                                                       "class=\"tgme_"
	                                                                       "widget_message_"
	                                                                       "views\">9</span>"
	                                                                       "</div></div>" POST(
	                                                                           10,
	                                                                           "<span "
	                                                                           "class=\"tgme_"
	                                                                           "widget_message_"
	                                                                           "views\">10</"
	                                                                           "span>")),
	        &page, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(page.nposts, 4);
	assert_int_equal(page.nbad, 5);
	assert_string_equal(page.why, "post 7: reaction \"lots\"");

	p = &page.posts[0];
	assert_int_equal(p->id, 7);
	assert_int_equal(p->bad, TME_BAD_VIEWS | TME_BAD_REACTIONS);
	count_is(p->views, UNKNOWN, 7, "views");
	count_is(p->reactions, UNKNOWN, 7, "reactions");
	count_is(p->paid, UNKNOWN, 7, "paid");
	assert_int_equal(p->date_ms, 1767225600000);

	p = &page.posts[1];
	assert_int_equal(p->bad, TME_BAD_DATE | TME_BAD_FORWARDS);
	assert_int_equal(p->date_ms, 0);
	count_is(p->views, EXACT(5), 8, "views");
	count_is(p->forwards, UNKNOWN, 8, "forwards");

	p = &page.posts[2];
	assert_int_equal(p->bad, TME_BAD_DATE);
	count_is(p->views, EXACT(9), 9, "views");

	p = &page.posts[3];
	assert_int_equal(p->bad, 0);
	count_is(p->views, EXACT(10), 10, "views");
	assert_int_equal(p->media, TME_MEDIA_OTHER);
	tme_page_release(&page);
}

/* Page fields: a first counter that is not subscribers, pagination links
 * that disagree, a username that is not one, an empty title. */
static void test_rejected_page_fields(void **state)
{
	struct tme_page page;
	struct err e;

	(void)state;
	if (parse_str("<head><link rel=\"prev\" href=\"/s/chan?before=40\"></head>"
	              "<div class=\"tgme_channel_info_header_title\"> </div>"
	              "<div class=\"tgme_channel_info_header_username\"><a>@no-dashes</a></div>"
	              "<div class=\"tgme_channel_info_counter\"><span class=\"counter_value\">12"
	              "</span> <span class=\"counter_type\">photos</span></div>"
	              "<section class=\"tgme_channel_history\"><a class=\"tme_messages_more\" "
	              "data-before=\"41\"></a>" POST(41, "") "</section>",
	              &page, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(page.bad,
	                 TME_BAD_TITLE | TME_BAD_USERNAME | TME_BAD_SUBSCRIBERS | TME_BAD_BEFORE);
	assert_int_equal(page.nbad, 4);
	assert_string_equal(page.why, "title empty");
	assert_null(page.title);
	assert_string_equal(page.username, ""); /* not taken from data-post either */
	count_is(page.subscribers, UNKNOWN, 0, "subscribers");
	assert_int_equal(page.before, 0);
	assert_int_equal(page.nposts, 1);
	tme_page_release(&page);

	/* Without a header username, the posts name the channel; a malformed
	 * data-before is rejected. */
	if (parse_str("<section class=\"tgme_channel_history\"><a class=\"tme_messages_more\" "
	              "data-before=\"4x\"></a>" POST(41, "") "</section>",
	              &page, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(page.username, "chan");
	assert_int_equal(page.bad, TME_BAD_BEFORE);
	assert_int_equal(page.before, 0);
	tme_page_release(&page);
}

#define NBSP  "\xc2\xa0"     /* U+00A0 no-break space */
#define NNBSP "\xe2\x80\xaf" /* U+202F narrow no-break space */

struct count_case {
	const char *in;
	int64_t value;
	bool approx;
};

static void test_count(void **state)
{
	static const struct count_case good[] = {
	    {"0", 0, false},
	    {"7", 7, false},
	    {"987", 987, false},
	    {"1,234", 1234, false},
	    {"1 234", 1234, false},
	    {"12,345,678", 12345678, false},
	    {"1" NBSP "234", 1234, false},
	    {"1" NNBSP "234" NNBSP "567", 1234567, false},
	    {"1234567", 1234567, false},
	    {"  42\n", 42, false},
	    {"1K", 1000, true},
	    {"1.2K", 1200, true},
	    {"55.2K", 55200, true},
	    {"999.9K", 999900, true},
	    {"1.234K", 1234, true},
	    {"3.4M", 3400000, true},
	    {"2.05M", 2050000, true},
	    {"1.000001M", 1000001, true},
	    {"1.5B", 1500000000, true},
	    {"1,234.5K", 1234500, true},
	    {"9223372036854775807", INT64_MAX, false},
	    {"9223372036.854775807B", INT64_MAX, true},
	    {"9223372036854775K", 9223372036854775000, true},
	};
	static const char *const bad[] = {
	    "",
	    " ",
	    "-5",
	    "+5",
	    "1.2",
	    "1.K",
	    ".5K",
	    "1.2k",
	    "1.2 K",
	    "1.2KK",
	    "1.2T",
	    "K",
	    "1.2345K",
	    "1.0000001M",
	    "12,34",
	    "1,2345",
	    "1234,567",
	    ",123",
	    "123,",
	    "1,234 567",
	    "1  234",
	    "1,,234",
	    "12a",
	    "0x10",
	    "1e3",
	    "9223372036854775808",
	    "9223372036854776K",
	    "99999999999B",
	    "1\xc2" /* half a no-break space */ "234",
	    NBSP,
	};
	int64_t v;
	bool approx;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = -1;
		approx = !good[i].approx;
		if (tme_count(str_c(good[i].in), &v, &approx) != 0)
			fail_msg("\"%s\" rejected", good[i].in);
		if (v != good[i].value || approx != good[i].approx)
			fail_msg("\"%s\": %lld%s, want %lld%s", good[i].in, (long long)v,
			         approx ? "~" : "", (long long)good[i].value,
			         good[i].approx ? "~" : "");
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -1;
		approx = true;
		if (tme_count(str_c(bad[i]), &v, &approx) != -ERR_INVALID)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)v);
		assert_int_equal(v, -1); /* untouched */
		assert_true(approx);
	}
	/* the slice ends where it says, NUL or not */
	assert_int_equal(tme_count((struct str){"1.2K9", 4}, &v, &approx), 0);
	assert_int_equal(v, 1200);
}

static void test_datetime(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} good[] = {
	    {"1970-01-01T00:00:00+00:00", 0},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2026-07-14T08:30:00+00:00", 1784017800000},
	    {"2026-07-14T11:30:00+03:00", 1784017800000},
	    {"2026-07-14T11:30:00+0300", 1784017800000},
	    {"2026-07-13T22:00:00-10:30", 1784017800000},
	    {"2026-07-14T08:30:00.250Z", 1784017800250},
	    {"2026-07-14T08:30:00.1+00:00", 1784017800100},
	    {"2026-07-14T08:30:00.123456789Z", 1784017800123},
	    {"2024-02-29T12:00:00Z", 1709208000000},
	    {"2000-02-29T00:00:00Z", 951782400000},
	    {"1969-12-31T23:59:59Z", -1000},
	    {"2026-01-01T00:30:00+01:00", 1767223800000},
	};
	static const char *const bad[] = {
	    "",
	    "2026-07-14",
	    "2026-07-14T08:30:00",
	    "2026-07-14 08:30:00+00:00",
	    "2026-07-14T08:30+00:00",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2026-07-14T24:00:00Z",
	    "2026-07-14T08:60:00Z",
	    "2026-07-14T08:30:60Z",
	    "2026-07-14T08:30:00+24:00",
	    "2026-07-14T08:30:00+03:60",
	    "2026-07-14T08:30:00+3:00",
	    "2026-07-14T08:30:00.Z",
	    "2026-07-14T08:30:00Zjunk",
	    "2026-07-14T08:30:00+00:00 ",
	    "0000-01-01T00:00:00Z",
	    "20260714T083000Z",
	    "2026-7-14T08:30:00Z",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		ms = 42;
		if (tme_datetime(str_c(good[i].in), &ms) != 0)
			fail_msg("\"%s\" rejected", good[i].in);
		if (ms != good[i].ms)
			fail_msg("\"%s\": %lld, want %lld", good[i].in, (long long)ms,
			         (long long)good[i].ms);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ms = 42;
		if (tme_datetime(str_c(bad[i]), &ms) != -ERR_INVALID)
			fail_msg("\"%s\" accepted as %lld", bad[i], (long long)ms);
		assert_int_equal(ms, 42);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel_page),
	    cmocka_unit_test(test_no_reactions),
	    cmocka_unit_test(test_empty_channel),
	    cmocka_unit_test(test_changed_markup),
	    cmocka_unit_test(test_private_channel),
	    cmocka_unit_test(test_changed_variants),
	    cmocka_unit_test(test_too_deep),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_service_only),
	    cmocka_unit_test(test_rejected_fields),
	    cmocka_unit_test(test_rejected_page_fields),
	    cmocka_unit_test(test_count),
	    cmocka_unit_test(test_datetime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
