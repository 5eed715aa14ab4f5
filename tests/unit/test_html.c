/*
 * Unit tests of the Telegram HTML check for posts: every allowed tag, nesting,
 * each kind of error with its message, entities, length counting in UTF-16
 * units at the text and caption limits, URLs and escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "posts/html.h"

/* Check s (a C string) with the text limit; returns the code, fills *info. */
static int check(const char *s, struct html_info *info, struct err *e)
{
	memset(e, 0, sizeof(*e));
	return html_check(str_c(s), HTML_TEXT_MAX, info, e);
}

static void ok(const char *s, size_t units, size_t tags)
{
	struct html_info info = {99, 99};
	struct err e;
	int rc = check(s, &info, &e);

	if (rc != 0)
		fail_msg("%s: %s", s, e.msg);
	assert_int_equal(info.units, units);
	assert_int_equal(info.tags, tags);
}

/* s is invalid and the message is exactly msg. */
static void bad(const char *s, const char *msg)
{
	struct html_info info = {99, 99};
	struct err e;
	int rc = check(s, &info, &e);

	if (rc != -ERR_INVALID)
		fail_msg("%s: expected invalid, got %d (%s)", s, rc, e.msg);
	assert_int_equal(e.code, ERR_INVALID);
	assert_string_equal(e.msg, msg);
	assert_int_equal(info.units, 99); /* untouched */
}

/* s is invalid, whatever the message says. */
static void bad_any(const char *s)
{
	struct err e;

	if (check(s, NULL, &e) != -ERR_INVALID)
		fail_msg("%s: expected invalid", s);
	assert_true(e.msg[0] != '\0');
}

static void test_every_tag(void **state)
{
	(void)state;
	ok("plain", 5, 0);
	ok("", 0, 0);
	ok("<b>x</b>", 1, 1);
	ok("<strong>x</strong>", 1, 1);
	ok("<i>x</i>", 1, 1);
	ok("<em>x</em>", 1, 1);
	ok("<u>x</u>", 1, 1);
	ok("<ins>x</ins>", 1, 1);
	ok("<s>x</s>", 1, 1);
	ok("<strike>x</strike>", 1, 1);
	ok("<del>x</del>", 1, 1);
	ok("<span class=\"tg-spoiler\">x</span>", 1, 1);
	ok("<span class='tg-spoiler'>x</span>", 1, 1);
	ok("<tg-spoiler>x</tg-spoiler>", 1, 1);
	ok("<a href=\"https://example.org/a?b=1&amp;c=2\">link</a>", 4, 1);
	ok("<a href='http://example.org'>l</a>", 1, 1);
	ok("<a href=\"tg://user?id=123\">me</a>", 2, 1);
	ok("<code>x = 1;</code>", 6, 1);
	ok("<pre>line1\nline2</pre>", 11, 1);
	ok("<pre><code class=\"language-python\">print(1)</code></pre>", 8, 2);
	ok("<pre><code>x</code></pre>", 1, 2);
	ok("<blockquote>q</blockquote>", 1, 1);
	ok("<blockquote expandable>q</blockquote>", 1, 1);
	ok("<tg-emoji emoji-id=\"5368324170671202286\">\xF0\x9F\x91\x8D</tg-emoji>", 2, 1);
	/* Case-insensitive names, whitespace before '>'. */
	ok("<B>x</b >", 1, 1);
	ok("<A HREF=\"https://example.org\" >x</A>", 1, 1);
	ok("<a href = \"https://example.org\">x</a>", 1, 1);
}

static void test_nesting(void **state)
{
	char deep[16 * 7 + 16 * 8 + 1], *p = deep;
	struct err e;

	(void)state;
	ok("<b><i><u>x</u></i></b>", 1, 3);
	ok("<b>a</b><i>b</i>", 2, 2);
	ok("<a href=\"https://e.org\"><b>bold link</b></a>", 9, 2);
	ok("<blockquote><b>x</b><pre>y</pre></blockquote>", 2, 3);
	ok("<tg-spoiler><a href=\"https://e.org\">x</a></tg-spoiler>", 1, 2);
	bad("<b><i></b></i>", "</b> at byte 6 does not close <i> opened at byte 3");
	bad("<b>x", "unclosed <b> at byte 0");
	bad("ab<b>cd<i>x</i>", "unclosed <b> at byte 2");
	bad("x</b>", "</b> at byte 1 closes nothing");
	bad("<code><b>x</b></code>", "<b> at byte 6 cannot be inside <code>");
	bad("<pre><b>x</b></pre>", "<b> at byte 5 cannot be inside <pre>");
	bad("<pre><code>a</code><code>b</code></pre>", "<code> at byte 19 cannot be inside <pre>");
	bad("<a href=\"https://e.org\"><a href=\"https://e.org\">x</a></a>",
	    "<a> at byte 24 cannot be inside <a>");
	bad("<a href=\"https://e.org\"><code>x</code></a>",
	    "<code> at byte 24 cannot be inside <a>");
	bad("<blockquote><blockquote>x</blockquote></blockquote>",
	    "<blockquote> at byte 12 cannot be inside <blockquote>");

	/* Exactly HTML_MAX_DEPTH levels pass, one more fails. */
	for (int k = 0; k < HTML_MAX_DEPTH; k++)
		p += snprintf(p, 8, "<b>");
	for (int k = 0; k < HTML_MAX_DEPTH; k++)
		p += snprintf(p, 8, "</b>");
	ok(deep, 0, HTML_MAX_DEPTH);
	assert_int_equal(check("<b><b><b><b><b><b><b><b><b><b><b><b><b><b><b><b><b>x", NULL, &e),
	                 -ERR_INVALID);
	assert_string_equal(e.msg, "tags are nested more than 16 deep at byte 48");
}

static void test_errors(void **state)
{
	(void)state;
	bad("<div>x</div>", "tag <div> is not allowed (byte 0)");
	bad("a <script>", "tag <script> is not allowed (byte 2)");
	bad("x</div>", "tag </div> is not allowed (byte 1)");
	bad("1 < 2", "bare '<' at byte 2; write &lt;");
	bad("2 > 1", "bare '>' at byte 2; write &gt;");
	bad("a & b", "'&' at byte 2 does not start a character entity; write &amp;");
	bad("&nbsp;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&lt", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&#;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&#0;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&#xD800;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&#x110000;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("&#123456789;", "'&' at byte 0 does not start a character entity; write &amp;");
	bad("ok \xC3(", "invalid UTF-8 at byte 3");
	bad("\xED\xA0\x80", "invalid UTF-8 at byte 0");  /* a surrogate */
	bad("\xC0\xAF", "invalid UTF-8 at byte 0");      /* overlong */
	bad("x\xF0\x9F\x91", "invalid UTF-8 at byte 1"); /* truncated */
	bad("<b>x</b", "malformed end tag at byte 4");
	bad("<b x", "unclosed tag at byte 0");
	bad("<b/>", "self-closing tag at byte 0");
	bad("<br/>", "tag <br> is not allowed (byte 0)");
	bad("<b class=\"x\">y</b>", "attribute class=\"...\" is not allowed in <b> at byte 0");
	bad("<a>x</a>", "<a> at byte 0 needs its href attribute");
	bad("<a href=https://e.org>x</a>", "attribute value at byte 8 is not quoted");
	bad("<a href=\"https://e.org>x</a>", "unterminated attribute value at byte 8");
	bad("<a href=\"https://e.org/>\">x</a>", "bare '>' at byte 23; write &gt;");
	bad("<a href=\"https://e.org/?a=1&b=2\">x</a>",
	    "'&' at byte 27 does not start a character entity; write &amp;");
	bad("<a href=\"https://e.org' title='t\">x</a>", "bad link at byte 3: only http, https and "
	                                                 "tg URLs are allowed");
	bad("<a href=\"https://e.org\"href=\"https://e.org\">x</a>", "malformed tag at byte 0");
	bad("<a href=\"https://e.org\" HREF=\"https://e.org\">x</a>",
	    "duplicate attribute HREF at byte 24");
	bad("<a href=\"javascript:alert(1)\">x</a>",
	    "bad link at byte 3: only http, https and tg URLs are allowed");
	bad("<a href=\"https://e.org\" title=\"t\">x</a>",
	    "attribute title=\"...\" is not allowed in <a> at byte 0");
	bad("<span>x</span>", "<span> at byte 0 needs its class attribute");
	bad("<span class=\"red\">x</span>", "<span> at byte 0 needs class=\"tg-spoiler\"");
	bad("<code class=\"language-c\">x</code>",
	    "<code class> at byte 0 is only allowed inside <pre>");
	bad("<pre><code class=\"lang-c\">x</code></pre>",
	    "<code> at byte 5: class must be language-NAME");
	bad("<blockquote expandable=\"1\">x</blockquote>",
	    "attribute expandable=\"...\" is not allowed in <blockquote> at byte 0");
	bad("<tg-emoji>x</tg-emoji>", "<tg-emoji> at byte 0 needs its emoji-id attribute");
	bad("<tg-emoji emoji-id=\"12a\">x</tg-emoji>",
	    "<tg-emoji> at byte 0: emoji-id must be a number");
	bad("<a href=\"x\" a=\"1\" b=\"2\" c=\"3\" d=\"4\">",
	    "too many attributes in the tag at byte 0");
	bad_any("< b>x</b>");
	bad_any("<b\">x</b>");
	bad_any("<a href=\"https://e.org\"");

	/* NUL inside the slice is refused, not taken as the end. */
	{
		struct err e;

		assert_int_equal(html_check((struct str){"a\0b", 3}, 10, NULL, &e), -ERR_INVALID);
		assert_string_equal(e.msg, "NUL byte at byte 1");
	}
}

static void test_entities(void **state)
{
	(void)state;
	ok("&lt;b&gt; &amp; &quot;", 7, 0);
	ok("&#65;&#x42;&#X43;&#x1F600;", 5, 0); /* A B C and an emoji: 2 units */
	ok("&#0000065;", 1, 0);
	ok("<a href=\"https://e.org/?q=%22x%22&amp;y=&#49;\">x</a>", 1, 1);
}

static void test_counting(void **state)
{
	(void)state;
	/* Cyrillic: 2 bytes, 1 unit each. */
	ok("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", 6, 0); /* Привет */
	/* CJK (3 bytes) 1 unit; emoji and other astral characters 2 units. */
	ok("\xE4\xB8\xAD", 1, 0);
	ok("\xF0\x9F\x98\x80", 2, 0); /* U+1F600 */
	ok("\xF0\x9D\x90\x80", 2, 0); /* U+1D400 bold A */
	ok("<b>\xF0\x9F\x98\x80</b>\xF0\x9F\x98\x80", 4, 1);
	assert_int_equal(html_utf16_units(STR_LIT("\xD0\x9F\xD1\x80")), 2);
	assert_int_equal(html_utf16_units(STR_LIT("a\xF0\x9F\x98\x80z")), 4);
	assert_int_equal(html_utf16_units(STR_LIT("")), 0);
	/* Broken input never counts more than its bytes. */
	assert_int_equal(html_utf16_units(STR_LIT("\xF0")), 1);
	assert_int_equal(html_utf16_units(STR_LIT("\xF0\x9F")), 2);
}

/* A text of n units made of emoji (2 units, 4 bytes) plus 'x' if n is odd,
 * wrapped in <b>; caller frees. */
static char *text_of(size_t n)
{
	char *s = malloc(n * 2 + 16), *p = s;

	assert_non_null(s);
	p += snprintf(p, 4, "<b>");
	for (size_t k = 0; k + 1 < n; k += 2) {
		memcpy(p, "\xF0\x9F\x98\x80", 4);
		p += 4;
	}
	if (n % 2)
		*p++ = 'x';
	memcpy(p, "</b>", 5);
	return s;
}

static void test_limits(void **state)
{
	struct html_info info;
	struct err e;
	char *s;

	(void)state;
	s = text_of(HTML_TEXT_MAX);
	assert_int_equal(html_check(str_c(s), HTML_TEXT_MAX, &info, &e), 0);
	assert_int_equal(info.units, 4096);
	free(s);

	s = text_of(HTML_TEXT_MAX + 1);
	assert_int_equal(html_check(str_c(s), HTML_TEXT_MAX, &info, &e), -ERR_TOO_BIG);
	assert_int_equal(e.code, ERR_TOO_BIG);
	assert_string_equal(e.msg, "text is 4097 characters; the limit is 4096");
	assert_int_equal(info.units, 4097);
	free(s);

	s = text_of(HTML_CAPTION_MAX);
	assert_int_equal(html_check(str_c(s), HTML_CAPTION_MAX, &info, &e), 0);
	assert_int_equal(info.units, 1024);
	free(s);

	s = text_of(HTML_CAPTION_MAX + 1);
	assert_int_equal(html_check(str_c(s), HTML_CAPTION_MAX, &info, &e), -ERR_TOO_BIG);
	assert_string_equal(e.msg, "text is 1025 characters; the limit is 1024");
	free(s);

	/* An emoji that would cross the limit counts both halves. */
	assert_int_equal(html_check(STR_LIT("abc\xF0\x9F\x98\x80"), 5, &info, &e), 0);
	assert_int_equal(html_check(STR_LIT("abcd\xF0\x9F\x98\x80"), 5, &info, &e), -ERR_TOO_BIG);
	assert_string_equal(e.msg, "text is 6 characters; the limit is 5");
	/* Tags and entities do not count as text. */
	assert_int_equal(html_check(STR_LIT("<b>&amp;&lt;</b>"), 2, &info, &e), 0);
	assert_int_equal(info.units, 2);
	/* A NULL err is allowed. */
	assert_int_equal(html_check(STR_LIT("<div>"), 5, NULL, NULL), -ERR_INVALID);
}

static void test_urls(void **state)
{
	static const char *const good[] = {
	    "https://example.org",
	    "http://example.org/",
	    "HTTPS://Example.ORG/path/to?q=1&r=2#frag",
	    "https://sub-domain.example.co.uk:8443/x",
	    "https://127.0.0.1:80",
	    "https://example.org?x",
	    "https://example.org.",
	    "https://example.org/%D0%B0",
	    "https://example.org/\xD0\xB0",
	    "tg://resolve?domain=herald_bot",
	    "tg://user?id=1",
	};
	static const char *const bad_urls[] = {
	    "",
	    "javascript:alert(1)",
	    "JavaScript://example.org",
	    "ftp://example.org/file",
	    "https://",
	    "https:///path",
	    "https://:80",
	    "https://exa mple.org",
	    "https://example.org/a b",
	    "https://example.org/\x01",
	    "https://user@example.org",
	    "https://[::1]/",
	    "https://example.org:0",
	    "https://example.org:65536",
	    "https://example.org:",
	    "https://example.org:80x",
	    "https://-example.org",
	    "https://example-.org",
	    "https://example..org",
	    "https://.example.org",
	    "https://ex_ample.org",
	    "https://example.org/\"onclick",
	    "https://example.org/<x>",
	    "example.org",
	    "//example.org",
	    "tg://",
	    "mailto:a@example.org",
	    "data:text/html,x",
	};
	char longurl[HTML_URL_MAX + 2];

	(void)state;
	for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++)
		if (!html_url_ok(str_c(good[k])))
			fail_msg("should pass: %s", good[k]);
	for (size_t k = 0; k < sizeof(bad_urls) / sizeof(bad_urls[0]); k++)
		if (html_url_ok(str_c(bad_urls[k])))
			fail_msg("should fail: %s", bad_urls[k]);

	memcpy(longurl, "https://e.org/", 14);
	memset(longurl + 14, 'a', sizeof(longurl) - 14);
	assert_true(html_url_ok((struct str){longurl, HTML_URL_MAX}));
	assert_false(html_url_ok((struct str){longurl, HTML_URL_MAX + 1}));
	/* The slice is bounded: bytes after it are not looked at. */
	assert_true(html_url_ok((struct str){"https://e.org bad", 13}));
}

static void test_escape(void **state)
{
	static const char *const inputs[] = {
	    "plain",
	    "",
	    "a < b && c > d",
	    "<b>\"quoted\"</b>",
	    "&amp; stays literal",
	    "\xD0\x9F\xF0\x9F\x98\x80 'single'",
	};
	struct buf b, small;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(html_escape(STR_LIT("a<b>&\"c'"), &b), 0);
	assert_string_equal(b.p, "a&lt;b&gt;&amp;&quot;c'");
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		struct str in = str_c(inputs[k]);
		struct html_info info;
		struct err e;

		buf_reset(&b);
		assert_int_equal(html_escape(in, &b), 0);
		/* The escaped text is valid HTML showing exactly the input. */
		assert_int_equal(html_check((struct str){b.p, b.len}, HTML_TEXT_MAX, &info, &e), 0);
		assert_int_equal(info.units, html_utf16_units(in));
		assert_int_equal(info.tags, 0);
		/* And usable as an attribute value. */
		buf_reset(&b);
		assert_int_equal(buf_adds(&b, "<a href=\"https://e.org/?q="), 0);
		assert_int_equal(html_escape(STR_LIT("x&y"), &b), 0);
		assert_int_equal(buf_adds(&b, "\">l</a>"), 0);
		assert_int_equal(html_check((struct str){b.p, b.len}, HTML_TEXT_MAX, &info, &e), 0);
	}
	buf_release(&b);

	/* Out of room: -ERR_TOO_BIG and the buffer as it was. */
	buf_init(&small, 7);
	assert_int_equal(buf_adds(&small, "ab"), 0);
	assert_int_equal(html_escape(STR_LIT("c<d"), &small), -ERR_TOO_BIG);
	assert_int_equal(small.len, 2);
	assert_string_equal(small.p, "ab");
	assert_int_equal(html_escape(STR_LIT("c>"), &small), 0);
	assert_string_equal(small.p, "abc&gt;");
	buf_release(&small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_tag), cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_errors),    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_counting),  cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_urls),      cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
