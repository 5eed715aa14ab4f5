/* Fuzz the Bot API answer decoder: the first two bytes pick the HTTP status,
 * the rest is the body. Whatever comes back must be a consistent answer. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tg/tg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_error te;
	json_t *r = NULL;
	long status = 200;
	int rc;

	if (size >= 2) {
		status = 100 + (long)((data[0] << 8 | data[1]) % 500);
		data += 2;
		size -= 2;
	}
	rc = tg_decode(status, (const char *)data, size, &r, &te);
	if (rc == 0) {
		assert(r != NULL && te.fail == TG_FAIL_NONE);
		json_decref(r);
	} else {
		assert(r == NULL && te.fail != TG_FAIL_NONE && te.err.code == -rc);
		assert(memchr(te.description, '\0', sizeof(te.description)) != NULL);
		assert(memchr(te.err.msg, '\0', sizeof(te.err.msg)) != NULL);
	}
	return 0;
}
