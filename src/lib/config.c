/*
 * config: the settings table machinery. Values are copied out of the file
 * and the environment, checked, and kept as text; integer settings are
 * parsed again on read, which is cheap and keeps one representation.
 */
#include "lib/config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/mem.h"
#include "lib/str.h"

#define CONFIG_MAX_VALUE 4096
#define CONFIG_MAX_FILE  (1 << 20)

static int find(const struct config_def *defs, size_t n, struct str key)
{
	if (str_starts(key, CONFIG_PREFIX)) {
		key.p += strlen(CONFIG_PREFIX);
		key.len -= strlen(CONFIG_PREFIX);
	}
	for (size_t i = 0; i < n; i++)
		if (str_eqc(key, defs[i].name))
			return (int)i;
	return -1;
}

static void put(struct config *c, size_t i, struct str v)
{
	free(c->val[i]);
	c->val[i] = xstrndup(v.p, v.len);
}

static int load_file(struct config *c, const char *file, struct err *e)
{
	struct buf b;
	char chunk[4096];
	FILE *f;
	size_t got;
	struct str rest, line;
	int lineno = 0, rc = 0;

	buf_init(&b, CONFIG_MAX_FILE);
	f = fopen(file, "r");
	if (!f)
		return err_set(e, ERR_IO, "cannot read config file %s", file);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_add(&b, chunk, got)) {
			rc = err_set(e, ERR_TOO_BIG, "config file %s is larger than 1 MiB", file);
			goto out;
		}
	}
	rest = (struct str){b.p, b.len};
	while (rest.len) {
		struct str key;
		int idx;

		str_split(&rest, '\n', &line);
		lineno++;
		line = str_trim(line);
		if (!line.len || line.p[0] == '#')
			continue;
		if (!str_split(&line, '=', &key)) {
			rc = err_set(e, ERR_INVALID, "%s:%d: expected KEY=VALUE", file, lineno);
			goto out;
		}
		key = str_trim(key);
		idx = find(c->defs, c->n, key);
		if (idx < 0) {
			rc = err_set(e, ERR_INVALID, "%s:%d: unknown setting %.*s", file, lineno,
			             (int)key.len, key.p);
			goto out;
		}
		line = str_trim(line);
		if (line.len >= 2 && (line.p[0] == '"' || line.p[0] == '\'') &&
		    line.p[line.len - 1] == line.p[0]) {
			line.p++;
			line.len -= 2;
		}
		put(c, (size_t)idx, line);
	}
out:
	fclose(f);
	buf_release(&b);
	return rc;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* An integer or boolean setting's checked text as a number; 0 for others. */
static int64_t parse_num(const struct config_def *d, const char *v)
{
	int64_t n = 0;
	bool b = false;

	if (d->check == config_check_bool)
		return parse_bool(v, &b) && b;
	if (d->check == config_check_int && str_to_i64(str_c(v), d->min, d->max, &n) == 0)
		return n;
	return 0;
}

int config_load(struct config *c, const struct config_def *defs, size_t n, const char *file,
                char *const *environ_, struct err *e)
{
	int rc;

	c->defs = defs;
	c->n = n;
	c->val = xcalloc(n, sizeof(*c->val));
	c->num = xcalloc(n, sizeof(*c->num));
	for (size_t i = 0; i < n; i++)
		if (defs[i].def)
			put(c, i, str_c(defs[i].def));
	if (file) {
		rc = load_file(c, file, e);
		if (rc)
			goto fail;
	}
	for (char *const *ev = environ_; ev && *ev; ev++) {
		struct str kv = str_c(*ev), key;
		int idx;

		if (!str_starts(kv, CONFIG_PREFIX) || !str_split(&kv, '=', &key))
			continue;
		idx = find(defs, n, key);
		if (idx >= 0)
			put(c, (size_t)idx, kv);
	}
	for (size_t i = 0; i < n; i++) {
		struct err sub = {0};

		if (!c->val[i] || !c->val[i][0])
			continue;
		if (strlen(c->val[i]) > CONFIG_MAX_VALUE) {
			rc = err_set(e, ERR_INVALID, "setting %s%s: longer than %d characters",
			             CONFIG_PREFIX, defs[i].name, CONFIG_MAX_VALUE);
			goto fail;
		}
		rc = defs[i].check(&defs[i], c->val[i], &sub);
		if (rc) {
			rc = err_set(e, rc, "setting %s%s: %s", CONFIG_PREFIX, defs[i].name,
			             sub.msg);
			goto fail;
		}
		c->num[i] = parse_num(&defs[i], c->val[i]);
	}
	return 0;
fail:
	config_release(c);
	return rc;
}

void config_release(struct config *c)
{
	if (c->val)
		for (size_t i = 0; i < c->n; i++)
			free(c->val[i]);
	free(c->val);
	free(c->num);
	c->val = NULL;
	c->num = NULL;
	c->n = 0;
}

const char *config_str(const struct config *c, size_t i)
{
	if (i >= c->n || !c->val[i] || !c->val[i][0])
		return NULL;
	return c->val[i];
}

int64_t config_int(const struct config *c, size_t i)
{
	return i < c->n ? c->num[i] : 0;
}

void config_help(const struct config_def *defs, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "  %s%-26s %s\n", CONFIG_PREFIX, defs[i].name, defs[i].help);
		if (defs[i].def && defs[i].def[0])
			fprintf(out, "  %-33s default: %s\n", "", defs[i].def);
		else
			fprintf(out, "  %-33s default: unset\n", "");
	}
}

int config_check_any(const struct config_def *d, const char *v, struct err *e)
{
	(void)d;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20)
			return err_set(e, ERR_INVALID, "contains a control character");
	return 0;
}

int config_check_int(const struct config_def *d, const char *v, struct err *e)
{
	int64_t n;

	if (str_to_i64(str_c(v), d->min, d->max, &n))
		return err_set(e, ERR_INVALID, "\"%s\" is not a whole number from %lld to %lld", v,
		               (long long)d->min, (long long)d->max);
	return 0;
}

int config_check_bool(const struct config_def *d, const char *v, struct err *e)
{
	bool b;

	(void)d;
	if (!parse_bool(v, &b))
		return err_set(e, ERR_INVALID, "\"%s\" is not one of true, false, 1, 0, yes, no",
		               v);
	return 0;
}

int config_check_http_url(const struct config_def *d, const char *v, struct err *e)
{
	struct str s = str_c(v);

	if (config_check_any(d, v, e))
		return -ERR_INVALID;
	if (!(str_starts(s, "http://") || str_starts(s, "https://")) ||
	    s.len <= strlen("https://") || strchr(v, ' '))
		return err_set(e, ERR_INVALID, "expected an http:// or https:// URL");
	return 0;
}

int config_parse_listen(const char *v, char *host, size_t hostsz, int *port)
{
	const char *colon = strrchr(v, ':');
	struct in_addr a;
	int64_t p;
	size_t hl;

	if (!colon)
		return -ERR_INVALID;
	hl = (size_t)(colon - v);
	if (hl == 0 || hl >= hostsz)
		return -ERR_INVALID;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (strcmp(host, "localhost") == 0) {
		if (hostsz < sizeof("127.0.0.1"))
			return -ERR_INVALID;
		memcpy(host, "127.0.0.1", sizeof("127.0.0.1"));
	}
	if (inet_pton(AF_INET, host, &a) != 1)
		return -ERR_INVALID;
	if (str_to_i64(str_c(colon + 1), 0, 65535, &p))
		return -ERR_INVALID;
	*port = (int)p;
	return 0;
}

int config_check_listen(const struct config_def *d, const char *v, struct err *e)
{
	char host[64];
	int port;

	(void)d;
	if (config_parse_listen(v, host, sizeof(host), &port))
		return err_set(e, ERR_INVALID,
		               "\"%s\" is not HOST:PORT with an IPv4 address and a port 0-65535",
		               v);
	return 0;
}

int config_check_id_list(const struct config_def *d, const char *v, struct err *e)
{
	struct str rest = str_c(v), item;
	int64_t id;

	(void)d;
	while (rest.len) {
		str_split(&rest, ',', &item);
		item = str_trim(item);
		if (str_to_i64(item, 1, INT64_MAX, &id))
			return err_set(e, ERR_INVALID, "\"%.*s\" is not a Telegram user id",
			               (int)item.len, item.p);
	}
	return 0;
}
