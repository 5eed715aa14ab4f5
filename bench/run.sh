#!/usr/bin/env bash
# make bench: HTTP throughput and latency of Herald beside nginx (reference),
# then webhook intake (updates/s through POST /hooks/telegram) beside /healthz,
# then verified Stripe events/s through POST /hooks/stripe (every event twice),
# then scheduled delivery: 10,000 deliveries due in one minute drained through
# the simulator's flood control, against the ideal the limits allow (about
# 15 minutes: it runs in real time; bench/delivery_bench.py --quick for a
# smoke test). The options given here go to the first three only.
set -e
here="$(dirname "$0")"
/usr/bin/python3 "$here/http_bench.py" "$@"
echo
/usr/bin/python3 "$here/webhook_bench.py" "$@"
echo
/usr/bin/python3 "$here/billing_bench.py" "$@"
echo
/usr/bin/python3 "$here/delivery_bench.py" "$1"
