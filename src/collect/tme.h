/*
 * tme: the public web preview of a channel, https://t.me/s/<username>
 * (protocols.md A.12), read from HTML that someone else fetched. The parser
 * never touches the network: it turns the bytes of one page into the
 * channel's title, username and subscriber count, the posts on the page with
 * their views, reactions, forwards, date, media kind and edited flag, and the
 * id to ask for older posts (?before=<id>).
 *
 * Numbers on the page are abbreviated ("1.2K"); such a value is exact in its
 * digits but rounded, and carries approx. A number the page does not show is
 * unknown, never zero. A number or date that is on the page but cannot be
 * read is rejected: the field is left unknown, its TME_BAD_* bit is set, and
 * the page counts and names the rejection (nbad, why), so a collector can
 * tell "not shown" from "could not read" without a partly wrong value.
 */
#ifndef HERALD_COLLECT_TME_H
#define HERALD_COLLECT_TME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/str.h"

/* The largest page tme_page_parse reads; a real one is 100-200 KB. */
#define TME_PAGE_MAX (4u << 20)
/* Telegram usernames are at most 32 characters of [A-Za-z0-9_]. */
#define TME_USERNAME_MAX 32
/* The longest title kept, in bytes (Telegram allows 128 characters). */
#define TME_TITLE_MAX 1024

/* A count shown on the page. */
struct tme_count {
	int64_t value; /* >= 0 when known; 0 otherwise */
	bool known;    /* false: not on the page, or rejected (see TME_BAD_*) */
	bool approx;   /* abbreviated on the page ("1.2K"), so rounded */
};

/* What a post carries besides text. A post with several (an album) takes
 * the first of poll, video, photo, document that it has. */
enum tme_media {
	TME_MEDIA_TEXT,     /* text only (a link preview is still text) */
	TME_MEDIA_PHOTO,    /* .tgme_widget_message_photo_wrap */
	TME_MEDIA_VIDEO,    /* .tgme_widget_message_video_player */
	TME_MEDIA_DOCUMENT, /* .tgme_widget_message_document_wrap */
	TME_MEDIA_POLL,     /* .tgme_widget_message_poll */
	TME_MEDIA_OTHER,    /* no text and no media the parser knows (sticker, voice, ...) */
};

/* Fields present on the page that could not be read (tme_page.bad and
 * tme_post.bad). */
enum {
	TME_BAD_TITLE = 1u << 0,       /* empty, or longer than TME_TITLE_MAX */
	TME_BAD_USERNAME = 1u << 1,    /* not @ and 1-32 of [A-Za-z0-9_] */
	TME_BAD_SUBSCRIBERS = 1u << 2, /* malformed, or the first counter is not subscribers */
	TME_BAD_BEFORE = 1u << 3,      /* malformed, or the two pagination links disagree */
	TME_BAD_DATE = 1u << 4,        /* no time[datetime] in the date link, or malformed */
	TME_BAD_VIEWS = 1u << 5,
	TME_BAD_REACTIONS = 1u << 6, /* a reaction count is malformed: both sums rejected */
	TME_BAD_FORWARDS = 1u << 7,
};

struct tme_post {
	int64_t id;      /* message id from data-post="<channel>/<id>", > 0 */
	int64_t date_ms; /* Unix ms UTC from time[datetime]; 0 with TME_BAD_DATE */
	struct tme_count views;
	/* Sum of the free reactions (emoji and custom emoji). Known when the post
	 * has a reaction bar; no bar (reactions disabled, or none yet) is
	 * unknown. */
	struct tme_count reactions;
	/* Sum of paid (Star) reactions, kept apart from reactions; known exactly
	 * when reactions is (0 when the bar has no paid reaction). */
	struct tme_count paid;
	struct tme_count forwards; /* only where .tgme_widget_message_forwards exists */
	enum tme_media media;
	bool edited;    /* the meta line says "edited" */
	bool forwarded; /* forwarded from another chat */
	unsigned bad;   /* TME_BAD_* of this post's fields */
};

struct tme_page {
	char *title;                         /* NULL when absent or rejected */
	char username[TME_USERNAME_MAX + 1]; /* without '@'; from the header, else
	                                        from data-post; "" when neither */
	struct tme_count subscribers;        /* the first .tgme_channel_info_counter */
	struct tme_post *posts;              /* service messages left out; by id, ascending */
	size_t nposts;
	int64_t before; /* ?before=<id> gives older posts; 0 when this page has the oldest */
	unsigned bad;   /* TME_BAD_* of the page's own fields */
	size_t nbad;    /* rejected fields on the page and in all posts */
	char why[160];  /* the first rejection, for a log line ("post 12: views \"1.2X\"") */
};

/*
 * Parse one page of https://t.me/s/<username>: len bytes of html (UTF-8, need
 * not be NUL terminated). *page is overwritten; on success the caller owns it
 * and calls tme_page_release. On failure *page is left empty (releasing it is
 * harmless) and e says why:
 *  -ERR_TOO_BIG    len > TME_PAGE_MAX;
 *  -ERR_NOT_FOUND  a t.me page without the history section: the channel is
 *                  private, does not exist or has its preview disabled
 *                  ("channel has no public preview");
 *  -ERR_INVALID    not such a page, or its markup changed: no
 *                  section.tgme_channel_history, a post without data-post or
 *                  with a malformed one, a post of another channel, the same
 *                  post twice, a .tgme_widget_message_wrap without a post,
 *                  post parts or data-post outside a post ("markup changed:
 *                  ..."). Nothing partial is returned.
 * A history section without posts is an empty channel: success, nposts 0.
 */
int tme_page_parse(const char *html, size_t len, struct tme_page *page, struct err *e) WUR;

/* Free what page owns and leave it empty. */
void tme_page_release(struct tme_page *page);

/*
 * Parse a count as the page writes it: "987", "1,234", "1 234", "1.2K",
 * "3.4M", "2.05M", "1B" (ASCII whitespace around it is ignored). Digits may be
 * grouped in threes by one kind of separator: ',', ' ', or U+00A0/U+202F (no-
 * break spaces). A fraction needs a suffix: K x10^3, M x10^6, B x10^9, upper
 * case, with at most 3, 6 or 9 fraction digits so the value is an exact
 * integer ("1.2K" is 1200). On success *out >= 0 and *approx tells whether a
 * suffix was present; on -ERR_INVALID (empty, sign, garbage, bad grouping,
 * overflow of int64) neither is written.
 */
int tme_count(struct str s, int64_t *out, bool *approx) WUR;

/*
 * Parse an ISO-8601 date and time with an offset, as in time[datetime]:
 * "2026-07-14T08:30:00+00:00", also "+0300", "Z" and a fraction of a second
 * (milliseconds kept, the rest dropped). Years 1-9999. *ms gets Unix
 * milliseconds in UTC; -ERR_INVALID leaves it alone.
 */
int tme_datetime(struct str s, int64_t *ms) WUR;

#endif
