/*
 * utf8: checking UTF-8 over bytes (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). Pure.
 */
#ifndef HERALD_UTF8_H
#define HERALD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The offset of the first byte of s[0..n) that does not start a valid UTF-8
 * sequence (or is NUL, unless allow_nul), or n when every byte is fine. */
size_t utf8_check(const char *s, size_t n, bool allow_nul);

/* The length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 sequence: n, or less when the last sequence is cut short. For
 * cutting text to fit a buffer: pass n = min(length, room). */
size_t utf8_cut(const char *s, size_t n);

#endif
