#!/usr/bin/env bash
# make bench: HTTP throughput and latency of Herald beside nginx (reference),
# then webhook intake (updates/s through POST /hooks/telegram) beside /healthz.
set -e
here="$(dirname "$0")"
/usr/bin/python3 "$here/http_bench.py" "$@"
echo
/usr/bin/python3 "$here/webhook_bench.py" "$@"
