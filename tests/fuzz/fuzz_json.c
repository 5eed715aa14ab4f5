/* Fuzz the bounded JSON parser used for every request body. */
#include <stddef.h>
#include <stdint.h>

#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = NULL;
	struct err e;

	if (json_parse((const char *)data, size, 32, &v, &e) == 0)
		json_decref(v);
	return 0;
}
