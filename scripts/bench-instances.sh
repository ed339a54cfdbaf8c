#!/usr/bin/env bash
# make bench-instances: memory per instance of one imdsemu with 1, 1,000 and
# 10,000 instances (bench/instances), each with its own role and loopback
# source address (127.64.x.y). Writes the rows to docs/bench/instances.csv,
# the chart to docs/bench/instances.svg, and the per-instance summary to
# stderr. Takes about 2 minutes.
#
# Usage: scripts/bench-instances.sh   (COUNTS=1,1000,10000 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
counts=${COUNTS:-1,1000,10000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/imdsemu" ./cmd/imdsemu
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
mkdir -p docs/bench
go run ./bench/instances -bin "$work/imdsemu" -n "$counts" -gets 1 -svg docs/bench/instances.svg \
	-machine "$(nproc) vCPU $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(go version | awk '{print $3}'), load average $load_start" \
	>docs/bench/instances.csv
echo "bench-instances: wrote docs/bench/instances.csv and docs/bench/instances.svg"
