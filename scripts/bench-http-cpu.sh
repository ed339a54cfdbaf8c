#!/usr/bin/env bash
# Server CPU per credential GET, interleaved: the bare baseline and one or
# more imdsemu binaries, each started afresh per round, pinned to CPU 0 with
# GOMAXPROCS=1, loaded by wrk -t1 -c32 on CPU 1 (IMDSv2 GET, then IMDSv1 GET),
# on loopback only. For each run it prints requests/s, p99, and the server's
# user+system CPU per request read from /proc/PID/stat around the wrk run,
# which is steadier than requests/s on a shared machine.
#
# Usage: scripts/bench-http-cpu.sh NAME=BIN[:ENV=V] ...   (ROUNDS=3 DUR=6s)
#   scripts/bench-http-cpu.sh bare=/tmp/bare new=/tmp/imdsemu
# A BIN whose name ends in "bare" is run as bench/bare (go build -o /tmp/bare ./bench/bare).
set -euo pipefail
rounds=${ROUNDS:-3}; dur=${DUR:-6s}
command -v wrk >/dev/null || { echo "bench-http-cpu: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
port=$((30000 + RANDOM % 10000)); base=http://127.0.0.1:$port
cred=/latest/meta-data/iam/security-credentials/imdsemu-demo
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pid=; d=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "$d" ] && rm -rf "$d"; }
trap cleanup EXIT
for r in $(seq "$rounds"); do for spec in "$@"; do
	name=${spec%%=*}; rest=${spec#*=}; bin=${rest%%:*}; envs=(); [[ $rest == *:* ]] && envs=(${rest#*:})
	d=$(mktemp -d)
	if [[ $bin == *bare ]]; then
		GOMAXPROCS=1 taskset -c 0 "$bin" -addr 127.0.0.1:$port >"$d/out" 2>&1 &
	else
		env "${envs[@]}" GOMAXPROCS=1 taskset -c 0 "$bin" serve --data-dir "$d" --metadata-addr 127.0.0.1:$port \
			--admin-addr 127.0.0.1:$((port+1)) --sts-addr 127.0.0.1:$((port+2)) --log-format json >"$d/out" 2>&1 &
	fi
	pid=$!
	for _ in $(seq 200); do curl -fsS -o /dev/null "$base$cred" 2>/dev/null && break; sleep 0.05; done
	sleep 1
	tok=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")
	for w in v2 v1; do
		h=(); [ $w = v2 ] && h=(-H "X-aws-ec2-metadata-token: $tok")
		c0=$(cpu $pid)
		out=$(taskset -c 1 wrk -t1 -c32 -d"$dur" --latency "${h[@]}" "$base$cred")
		c1=$(cpu $pid)
		n=$(echo "$out" | awk '/requests in/{print $1}')
		rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
		p99=$(echo "$out" | awk '/^ +99%/{print $2}')
		echo "r$r $name $w rps=$rps p99=$p99 cpu_us_per_req=$(awk -v a=$c0 -v b=$c1 -v n=$n -v hz=$hz 'BEGIN{printf "%.2f", (b-a)*1e6/hz/n}')"
	done
	kill $pid; wait $pid 2>/dev/null || true; pid=; rm -rf "$d"; d=; sleep 0.3
done; done
