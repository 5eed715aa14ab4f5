/* Fuzz route matching with arbitrary paths and methods (Herald's API and
 * the Payme driver's routes, whose checkout page ends in {b64...}). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/api.h"
#include "http/router.h"
#include "sim/drivers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PATCH", "DELETE", "HEAD", "PUT"};
	struct router_match m;

	if (size < 1)
		return 0;
	router_match(api_routes, api_nroutes, methods[data[0] % 6],
	             (struct str){(const char *)data + 1, size - 1}, &m);
	/* patterns ending in a {rest...} segment */
	router_match(sim_payme_routes, sim_payme_nroutes, methods[data[0] % 6],
	             (struct str){(const char *)data + 1, size - 1}, &m);
	return 0;
}
