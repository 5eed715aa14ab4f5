/*
 * crypto: the few primitives Herald needs, on OpenSSL's libcrypto.
 */
#ifndef HERALD_CRYPTO_H
#define HERALD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

#define CRYPTO_SHA256_HEX 65 /* 64 hex digits and a NUL */
#define CRYPTO_MD5_HEX    33 /* 32 hex digits and a NUL */
#define CRYPTO_SHA1_HEX   41 /* 40 hex digits and a NUL */

/* Fill out with n bytes from the system's CSPRNG; aborts if it fails. */
void crypto_random(void *out, size_t n);

/* SHA-256 of data as lower-case hex into out[CRYPTO_SHA256_HEX]. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX]);

/*
 * HMAC-SHA256 with key over the concatenation of the n slices in parts (so
 * a message in pieces needs no copy), as lower-case hex into out. An empty
 * key is a valid (if useless) HMAC key.
 */
void crypto_hmac_sha256_hex(struct str key, const struct str *parts, size_t n,
                            char out[CRYPTO_SHA256_HEX]);

/*
 * MD5 of the concatenation of the n slices in parts as lower-case hex into
 * out. Only for protocols that demand it (Click's sign_string).
 */
void crypto_md5_hex(const struct str *parts, size_t n, char out[CRYPTO_MD5_HEX]);

/*
 * SHA-1 of the concatenation of the n slices in parts as lower-case hex.
 * Only for protocols that demand it (the digest in Click's Merchant API Auth
 * header).
 */
void crypto_sha1_hex(const struct str *parts, size_t n, char out[CRYPTO_SHA1_HEX]);

/* Compare two byte strings in time that depends only on their lengths. */
bool crypto_eq(const void *a, size_t alen, const void *b, size_t blen);

/*
 * Write prefix followed by nbytes of randomness in base64url (no padding)
 * into out; outsz must be at least strlen(prefix) + 4 * nbytes / 3 + 2.
 */
void crypto_token(const char *prefix, size_t nbytes, char *out, size_t outsz);

/*
 * Standard padded base64 (RFC 4648 section 4) of n bytes into out with a
 * NUL: its length, or 0 when outsz < 4 * ((n + 2) / 3) + 1 (or n is 0).
 */
size_t crypto_base64(const void *in, size_t n, char *out, size_t outsz);

#endif
