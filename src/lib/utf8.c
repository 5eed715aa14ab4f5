/*
 * utf8: the check walks the bytes once; each lead byte says how many
 * continuation bytes follow and which code points it may encode, so overlong
 * forms, surrogates and values past U+10FFFF are refused.
 */
#include "lib/utf8.h"

size_t utf8_check(const char *str, size_t n, bool allow_nul)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, cp, min;

		if (c == 0 && !allow_nul)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return i;
		if (n - i <= need)
			return i;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += need + 1;
	}
	return n;
}

size_t utf8_cut(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i, need;

	if (n == 0)
		return 0;
	for (i = n - 1; i > 0 && (s[i] & 0xC0) == 0x80; i--)
		;
	need = s[i] >= 0xF0 ? 4 : s[i] >= 0xE0 ? 3 : s[i] >= 0xC0 ? 2 : 1;
	return i + need > n ? i : n;
}
