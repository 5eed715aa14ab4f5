#!/usr/bin/env bash
# make bench: HTTP throughput and latency of Herald beside nginx (reference).
exec /usr/bin/python3 "$(dirname "$0")/http_bench.py" "$@"
