/*
 * crypto: randomness, hashing and constant-time comparison on libcrypto.
 */
#include "lib/crypto.h"

#include <assert.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void crypto_random(void *out, size_t n)
{
	if (RAND_bytes(out, (int)n) != 1) {
		fprintf(stderr, "fatal: the random number generator failed\n");
		abort();
	}
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static EVP_MD *sha256;

/*
 * Fetch SHA-256 once: with the legacy EVP_sha256() OpenSSL 3 looks the
 * algorithm up again on every digest, under a process-wide lock.
 */
static void fetch_sha256(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256) {
		fprintf(stderr, "fatal: OpenSSL has no SHA-256\n");
		abort();
	}
}

void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX])
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	unsigned char md[32];
	unsigned int mdlen = 0;

	pthread_once(&once, fetch_sha256);
	if (EVP_Digest(data, len, md, &mdlen, sha256, NULL) != 1 || mdlen != 32)
		abort();
	to_hex(md, sizeof(md), out);
}

static EVP_MAC_CTX *hmac_sha256; /* a template, only ever duplicated */
static EVP_MD *md5;

/*
 * Fetched once for the same reason as SHA-256 above; the HMAC template has
 * its digest set, so a copy of it needs no lookup either.
 */
static void fetch_hmac_md5(void)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	hmac_sha256 = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context holds its own reference */
	md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	if (!hmac_sha256 || EVP_MAC_CTX_set_params(hmac_sha256, params) != 1 || !md5) {
		fprintf(stderr, "fatal: OpenSSL has no HMAC-SHA256 or MD5\n");
		abort();
	}
}

static pthread_once_t hmac_md5_once = PTHREAD_ONCE_INIT;

void crypto_hmac_sha256_hex(struct str key, const struct str *parts, size_t n,
                            char out[CRYPTO_SHA256_HEX])
{
	static const unsigned char nokey[1];
	unsigned char md[32];
	size_t mdlen = 0;
	EVP_MAC_CTX *ctx;

	pthread_once(&hmac_md5_once, fetch_hmac_md5);
	ctx = EVP_MAC_CTX_dup(hmac_sha256);
	if (!ctx)
		abort();
	/* A NULL key would mean "keep the previous one", so never pass NULL. */
	if (EVP_MAC_init(ctx, key.len ? (const unsigned char *)key.p : nokey, key.len, NULL) != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		if (parts[i].len &&
		    EVP_MAC_update(ctx, (const unsigned char *)parts[i].p, parts[i].len) != 1)
			abort();
	if (EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen != sizeof(md))
		abort();
	EVP_MAC_CTX_free(ctx);
	to_hex(md, sizeof(md), out);
}

void crypto_md5_hex(const struct str *parts, size_t n, char out[CRYPTO_MD5_HEX])
{
	unsigned char md[16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;

	pthread_once(&hmac_md5_once, fetch_hmac_md5);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, md5, NULL) != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		if (parts[i].len && EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
			abort();
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		abort();
	EVP_MD_CTX_free(ctx);
	to_hex(md, sizeof(md), out);
}

void crypto_sha1_hex(const struct str *parts, size_t n, char out[CRYPTO_SHA1_HEX])
{
	unsigned char md[20];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1)
		abort();
	for (size_t i = 0; i < n; i++)
		if (parts[i].len && EVP_DigestUpdate(ctx, parts[i].p, parts[i].len) != 1)
			abort();
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != sizeof(md))
		abort();
	EVP_MD_CTX_free(ctx);
	to_hex(md, sizeof(md), out);
}

bool crypto_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return false;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

void crypto_token(const char *prefix, size_t nbytes, char *out, size_t outsz)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[64];
	size_t plen = strlen(prefix), o, i;
	unsigned v = 0;
	int bits = 0;

	assert(nbytes <= sizeof(raw));
	assert(outsz >= plen + (4 * nbytes) / 3 + 2);
	crypto_random(raw, nbytes);
	memcpy(out, prefix, plen);
	o = plen;
	for (i = 0; i < nbytes; i++) {
		v = (v << 8) | raw[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(v >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = b64[(v << (6 - bits)) & 63];
	out[o] = '\0';
}

size_t crypto_base64(const void *in, size_t n, char *out, size_t outsz)
{
	size_t need = 4 * ((n + 2) / 3);

	if (outsz < need + 1 || n > INT32_MAX / 2)
		return 0;
	return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}
