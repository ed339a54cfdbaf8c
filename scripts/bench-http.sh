#!/usr/bin/env bash
# make bench-http: imdsemu's metadata listener against a bare net/http server
# (bench/bare: the same token check and document, nothing else) and the peer
# amazon-ec2-metadata-mock, in interleaved rounds on loopback only.
#
# The server under test is pinned to CPU 0 with GOMAXPROCS=1, wrk (-t1 -c32) to
# CPU 1. Each round starts each server afresh, reads its idle RSS, runs the
# IMDSv2 credential GET, the IMDSv1 GET and the token PUT, then reads its RSS
# under load. Results: one CSV row per (round, server, workload) in
# docs/bench/http.csv, summarised by bench/report into docs/performance-http.md
# and docs/bench/http.svg.
#
# Usage: scripts/bench-http.sh   (ROUNDS=3 DURATION=10s CONNS=32 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
dur=${DURATION:-10s}
conns=${CONNS:-32}
mock_version=v1.13.0
command -v wrk >/dev/null || { echo "bench-http: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "bench-http: taskset is not installed (apt-get install util-linux)" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "bench-http: needs 2 CPUs (server on one, wrk on the other)" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "bench-http: building imdsemu, the bare baseline and ec2-metadata-mock@$mock_version"
CGO_ENABLED=0 go build -o "$work/imdsemu" ./cmd/imdsemu
go build -o "$work/bare" ./bench/bare
GOBIN="$work" GOFLAGS=-mod=mod go install "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@$mock_version"

port=$((20000 + RANDOM % 20000))
base="http://127.0.0.1:$port"

# start SERVER: runs it on CPU 0 in the background and waits until it answers.
start() {
	local data="$work/data-$1-$RANDOM"
	mkdir -p "$data"
	case $1 in
	imdsemu) GOMAXPROCS=1 taskset -c 0 "$work/imdsemu" serve --data-dir "$data" --metadata-addr "127.0.0.1:$port" \
			--admin-addr "127.0.0.1:$((port + 1))" --sts-addr "127.0.0.1:$((port + 2))" --log-format json >"$data/out" 2>&1 &
		cred=/latest/meta-data/iam/security-credentials/imdsemu-demo ;;
	bare) GOMAXPROCS=1 taskset -c 0 "$work/bare" -addr "127.0.0.1:$port" >"$data/out" 2>&1 &
		cred=/latest/meta-data/iam/security-credentials/imdsemu-demo ;;
	mock) (cd "$data" && HOME="$data" GOMAXPROCS=1 exec taskset -c 0 "$work/ec2-metadata-mock" -n 127.0.0.1 -p "$port") >"$data/out" 2>&1 &
		cred=/latest/meta-data/iam/security-credentials/baskinc-role ;;
	esac
	pid=$!
	pids+=("$pid")
	for _ in $(seq 200); do curl -fsS -o /dev/null "$base$cred" 2>/dev/null && break; sleep 0.05; done
	curl -fsS -o /dev/null "$base$cred" || { echo "bench-http: $1 did not start" >&2; cat "$data/out" >&2; exit 1; }
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# wrkrun ARGS...: prints "req/s p99_ms".
wrkrun() {
	taskset -c 1 wrk -t1 -c"$conns" -d"$dur" --latency "$@" | awk '
		/Requests\/sec:/ {rps=$2}
		/^ +99%/ {v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
			if (u=="us") v/=1000; else if (u=="s") v*=1000; p99=v}
		END {printf "%s %.3f\n", rps, p99}'
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
csv=docs/bench/http.csv
mkdir -p docs/bench
echo "round,server,workload,rps,p99_ms,idle_rss_kb,load_rss_kb,idle_heap_bytes" >"$csv"
for r in $(seq "$rounds"); do
	for s in bare imdsemu mock; do
		start "$s"
		sleep 2
		idle=$(rss_kb "$pid")
		heap=""
		if [ "$s" = imdsemu ]; then
			heap=$(curl -fsS "http://127.0.0.1:$((port + 1))/metrics" | awk '/^go_memstats_heap_alloc_bytes / {printf "%d", $2}')
		fi
		tok=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")
		read -r v2 v2p99 < <(wrkrun -H "X-aws-ec2-metadata-token: $tok" "$base$cred")
		load=$(rss_kb "$pid")
		read -r v1 v1p99 < <(wrkrun "$base$cred")
		read -r put putp99 < <(wrkrun -s bench/wrk/put.lua "$base/latest/api/token")
		printf '%s,%s,v2-get,%s,%s,%s,%s,%s\n' "$r" "$s" "$v2" "$v2p99" "$idle" "$load" "$heap" >>"$csv"
		printf '%s,%s,v1-get,%s,%s,%s,%s,%s\n' "$r" "$s" "$v1" "$v1p99" "$idle" "$load" "$heap" >>"$csv"
		printf '%s,%s,token-put,%s,%s,%s,%s,%s\n' "$r" "$s" "$put" "$putp99" "$idle" "$load" "$heap" >>"$csv"
		echo "round $r $s: v2 $v2 req/s p99 ${v2p99}ms, v1 $v1, put $put; RSS idle ${idle} kB, load ${load} kB"
		kill "$pid"; wait "$pid" 2>/dev/null || true
		sleep 0.5
	done
done
machine="$(nproc) vCPU $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(go version | awk '{print $3}'), $(date -u +%Y-%m-%d), load average $load_start at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end"
go run ./bench/report -csv "$csv" -svg docs/bench/http.svg -machine "$machine" \
	-command "make bench-http (ROUNDS=$rounds DURATION=$dur CONNS=$conns)" >docs/performance-http.md
echo "bench-http: wrote $csv, docs/bench/http.svg and docs/performance-http.md"
