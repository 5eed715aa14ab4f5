/* Fuzz the checked integer parser behind settings and ids from outside. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t v;

	if (str_to_i64((struct str){(const char *)data, size}, -1000, 1000, &v) == 0)
		assert(v >= -1000 && v <= 1000);
	return 0;
}
