#!/usr/bin/env bash
# make bench-sts: signed STS GetCallerIdentity end to end over HTTP, the
# server on one core. imdsemu serve runs pinned to CPU 0 with GOMAXPROCS=1;
# bench/stspresign takes the instance role's credentials from its metadata
# endpoint and presigns a GetCallerIdentity URL (SigV4 in the query, valid
# for an hour); wrk (-t1, CONNS connections, pinned to CPU 1) replays it,
# so every request is verified in full: SigV4, the session token opened,
# the role's revocation looked up. Loopback only.
# CREDS=key signs with a long-term access key instead: a user and its key
# are created in the running server's store (imdsemu user create, key
# create --credentials-file), so every request also reads the key and its
# user from SQLite.
#
# Usage: scripts/bench-sts.sh   (DURATION=10s CONNS=32 ROUNDS=3 CREDS=key to change)
# OLD_BIN=path/to/imdsemu interleaves another build (say, of main) with
# this one, round by round, so that the two are compared in the same
# minutes of a shared machine: `make build BIN=/tmp/old/imdsemu` on main.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${DURATION:-10s}
conns=${CONNS:-32}
rounds=${ROUNDS:-3}
old=${OLD_BIN:-}
creds=${CREDS:-role}
case $creds in role | key) ;; *) echo "bench-sts: CREDS=$creds is neither role nor key" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "bench-sts: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v taskset >/dev/null || { echo "bench-sts: taskset is not installed (apt-get install util-linux)" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "bench-sts: needs 2 CPUs (server on one, wrk on the other)" >&2; exit 2; }
[ -z "$old" ] || [ -x "$old" ] || { echo "bench-sts: OLD_BIN=$old is not an executable" >&2; exit 2; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$work/imdsemu" ./cmd/imdsemu
go build -o "$work/stspresign" ./bench/stspresign
echo "bench-sts: load average $(cut -d' ' -f1-3 /proc/loadavg), credentials: $creds"

# cpu_ticks PID: the process's user + system CPU time, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run BINARY LABEL ROUND: one server, one presigned URL, one wrk run.
run() {
	local bin=$1 label=$2 r=$3 port=$((20000 + RANDOM % 20000))
	rm -rf "$work/data" && mkdir -m 0700 "$work/data"
	GOMAXPROCS=1 taskset -c 0 "$bin" serve --data-dir "$work/data" --metadata-addr "127.0.0.1:$port" \
		--admin-addr "127.0.0.1:$((port + 1))" --sts-addr "127.0.0.1:$((port + 2))" >"$work/out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do grep -q 'imdsemu: ready' "$work/out" && break; sleep 0.05; done
	if [ "$creds" = key ]; then
		rm -f "$work/credentials"
		"$bin" user create bench --data-dir "$work/data" >/dev/null
		"$bin" key create bench --data-dir "$work/data" --credentials-file "$work/credentials" --profile bench >/dev/null
		url=$("$work/stspresign" -credentials-file "$work/credentials" -profile bench -sts "http://127.0.0.1:$((port + 2))")
	else
		url=$("$work/stspresign" -imds "http://127.0.0.1:$port" -sts "http://127.0.0.1:$((port + 2))")
	fi
	curl -fsS -o /dev/null "$url" || { echo "bench-sts: the presigned URL was refused ($label)" >&2; exit 1; }
	local cpu0 cpu1
	cpu0=$(cpu_ticks "$pid")
	taskset -c 1 wrk -t1 -c"$conns" -d"$dur" --latency "$url" >"$work/wrk"
	cpu1=$(cpu_ticks "$pid")
	# The server's CPU time per request (user + system, from /proc) holds
	# still on a loaded machine, where requests/s is the share of CPU 0
	# the server got.
	awk -v r="$r" -v l="$label" -v ticks=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" '
		/requests in/ {n=$1} /Requests\/sec:/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF}
		END {printf "round %s %s: %s GetCallerIdentity/s, p99 %s, non-2xx %s, server CPU %.1f us/request\n", r, l, rps, p99, bad+0, n ? ticks / hz * 1e6 / n : 0}' "$work/wrk"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	pid=""
	sleep 0.5
}

for r in $(seq "$rounds"); do
	if [ -n "$old" ]; then
		run "$old" old "$r"
	fi
	run "$work/imdsemu" new "$r"
done
