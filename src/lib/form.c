/*
 * form: application/x-www-form-urlencoded bodies (form.h).
 */
#include "lib/form.h"

#include <string.h>

#include "lib/buf.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) into b with a NUL; -1 on a bad escape or a NUL byte. */
static int decode(const char *s, size_t n, struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi * 16 + lo);
			i += 2;
		}
		if (ch == '\0' || buf_addch(b, ch))
			return -1;
	}
	return buf_addch(b, '\0') ? -1 : 0;
}

int form_parse(const char *body, size_t len, json_t **out, struct err *e)
{
	json_t *o = json_object();
	struct buf k, v;
	size_t i = 0, n = 0;
	int rc = 0;

	buf_init(&k, len + 1);
	buf_init(&v, len + 1);
	while (i < len && !rc) {
		const char *p = body + i, *amp = memchr(p, '&', len - i), *eq;
		size_t plen = amp ? (size_t)(amp - p) : len - i;
		json_t *s;

		i += plen + 1;
		if (plen == 0)
			continue;
		if (++n > FORM_FIELDS_MAX) {
			rc = err_set(e, ERR_INVALID, "more than %d form fields", FORM_FIELDS_MAX);
			break;
		}
		eq = memchr(p, '=', plen);
		if (decode(p, eq ? (size_t)(eq - p) : plen, &k) ||
		    decode(eq ? eq + 1 : p + plen, eq ? plen - (size_t)(eq - p) - 1 : 0, &v)) {
			rc = err_set(e, ERR_INVALID, "a form field is not validly %%-encoded");
			break;
		}
		if (json_object_get(o, k.p)) {
			rc = err_set(e, ERR_INVALID, "form field \"%.64s\" is given twice", k.p);
			break;
		}
		/* json_string refuses text that is not UTF-8 */
		s = json_string(v.p);

		if (!s || json_object_set_new(o, k.p, s)) {
			rc = err_set(e, ERR_INVALID, "form field \"%.64s\" is not UTF-8", k.p);
			break;
		}
	}
	buf_release(&k);
	buf_release(&v);
	if (rc)
		json_decref(o);
	else
		*out = o;
	return rc;
}
