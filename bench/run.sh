#!/usr/bin/env bash
# make bench: HTTP throughput and latency of Herald beside nginx (reference),
# then webhook intake (updates/s through POST /hooks/telegram) beside /healthz,
# then verified Stripe events/s through POST /hooks/stripe (every event twice),
# then scheduled delivery: 10,000 deliveries due in one minute drained through
# the simulator's flood control, against the ideal the limits allow (about
# 15 minutes: it runs in real time; bench/delivery_bench.py --quick for a
# smoke test); then analytics: the overview of a channel with 10,000 posts and
# a year of hourly counts (SQLite and PostgreSQL), and public channel pages
# parsed per second. The options given here go to the first three only.
set -e
here="$(dirname "$0")"
/usr/bin/python3 "$here/http_bench.py" "$@"
echo
/usr/bin/python3 "$here/webhook_bench.py" "$@"
echo
/usr/bin/python3 "$here/billing_bench.py" "$@"
echo
/usr/bin/python3 "$here/analytics_bench.py" "$1"
echo
"$(dirname "$1")/tme_bench" "$here/../tests/fixtures/tme/channel.html" 2 5
echo
/usr/bin/python3 "$here/delivery_bench.py" "$1"
