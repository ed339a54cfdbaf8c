#!/usr/bin/env bash
# Load run of imdsemu's credential GET with wrk, on loopback only.
# Starts `imdsemu serve` on 127.0.0.1 with a temporary data directory, runs
# wrk for a bounded time against IMDSv2 and IMDSv1 credential requests, then
# stops the server. Usage: scripts/load.sh [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10s}
conns=${2:-32}
port=${IMDSEMU_LOAD_PORT:-18338}
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install wrk" >&2; exit 2; }
[ -x bin/imdsemu ] || go build -o bin/imdsemu ./cmd/imdsemu

data=$(mktemp -d)
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$out"' EXIT
bin/imdsemu serve --data-dir "$data" --metadata-addr "127.0.0.1:$port" --admin-addr 127.0.0.1:0 \
	--sts-addr 127.0.0.1:0 --log-format json >"$out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q '^imdsemu: ready' "$out" && break; sleep 0.1; done
grep -q '^imdsemu: ready' "$out" || { echo "imdsemu did not start" >&2; cat "$out" >&2; exit 1; }

base="http://127.0.0.1:$port"
token=$(curl -fsS -X PUT "$base/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600')
path=/latest/meta-data/iam/security-credentials/imdsemu-demo

echo "== $(date -u +%FT%TZ) $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "== IMDSv2 credential GET, $conns connections, $duration"
wrk -t2 -c"$conns" -d"$duration" -H "X-aws-ec2-metadata-token: $token" --latency "$base$path"
echo "== IMDSv1 credential GET, $conns connections, $duration"
wrk -t2 -c"$conns" -d"$duration" --latency "$base$path"
