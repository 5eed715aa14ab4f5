/*
 * crypto: randomness, hashing and constant-time comparison on libcrypto.
 */
#include "lib/crypto.h"

#include <assert.h>
#include <pthread.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
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
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	pthread_once(&once, fetch_sha256);
	if (EVP_Digest(data, len, md, &mdlen, sha256, NULL) != 1 || mdlen != 32)
		abort();
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
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
