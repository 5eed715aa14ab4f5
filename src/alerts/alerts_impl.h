/*
 * alerts' internals, shared by alerts.c (rules) and eval.c (evaluation).
 */
#ifndef HERALD_ALERTS_IMPL_H
#define HERALD_ALERTS_IMPL_H

#include <stddef.h>

#include "alerts/alerts.h"

struct store_res;

/* The columns alerts_rule_of reads, of alert_rules r joined with channels c. */
#define ALERTS_RULE_COLUMNS                                                                        \
	"r.id, r.user_id, r.channel_id, r.kind, r.params, coalesce(r.muted_until, 0), "            \
	"r.created_at, c.title, c.username, c.chat_id"

/* Row i of a result of ALERTS_RULE_COLUMNS into *r (params read over the
 * kind's defaults; unreadable ones are logged and left at the defaults). */
void alerts_rule_of(const struct store_res *res, size_t i, struct alert_rule *r);

#endif
