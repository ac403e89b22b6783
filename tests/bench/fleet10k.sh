#!/usr/bin/env bash
# The 10,000-host figures of docs/performance.md (issue 19, item 6): the benchmark fleet through
# Thanos Query and VictoriaMetrics, under a low sample limit, and over recorded series, each
# against plain Prometheus (and a plain HTTP client on the same engine), interleaved round by
# round by tests/bench/compare.py.
#
#   tests/bench/fleet10k.sh start      # the fleet (gregg-testenv fleet N) and a copy of its blocks
#   tests/bench/fleet10k.sh thanos     # a Prometheus with external labels on a copy of the blocks,
#                                      # a sidecar, Thanos Query in front
#   tests/bench/fleet10k.sh victoria   # VictoriaMetrics with the same samples imported
#   tests/bench/fleet10k.sh engines    # Thanos Query + VictoriaMetrics against Prometheus
#   tests/bench/fleet10k.sh victoria_nocache  # VictoriaMetrics again, its result cache off
#   tests/bench/fleet10k.sh plugin [URL...]  # BenchmarkFleetAnalysis (Go harness) on each engine
#   tests/bench/fleet10k.sh limits     # --query.max-samples=500000 against no limit
#   tests/bench/fleet10k.sh rules_backfill  # the generated rules evaluated into blocks
#   tests/bench/fleet10k.sh recorded   # recorded series (those blocks beside the fleet's) against raw
#   tests/bench/fleet10k.sh stop       # every server this script started
#
# Environment: BIN (release binaries: gregg-insights, gregg-testenv, gpx_gregg_insights;
# default target/release), WORK (scratch, default /tmp/gregg-fleet10k: about 6 GB with the
# OpenMetrics text kept for VictoriaMetrics, which is hard-linked: WORK must be on the file system
# of /tmp), HOSTS (10000), ROUNDS (3), GREGG_THANOS (default:
# what `go run mage.go thanos` caches). Needs Debian's prometheus, promtool, victoria-metrics,
# mawk, curl and jq. Every server runs in its own process group, recorded in $WORK/pids.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${BIN:-$repo/target/release}
WORK=${WORK:-/tmp/gregg-fleet10k}
HOSTS=${HOSTS:-10000}
ROUNDS=${ROUNDS:-3}
# The plain client's requests in flight: the analysis' own bound (fitted to Prometheus' cores: 3
# here); add 8 (`8,bound`) for the configured default, which was slower on two cores.
WORKERS=${WORKERS:-bound}
THANOS=${GREGG_THANOS:-${XDG_CACHE_HOME:-$HOME/.cache}/gregg-insights/thanos-v0.36.1/thanos}
mkdir -p "$WORK"

# Fixed loopback ports, one per server.
P_THANOS_PROM=19191 P_SIDECAR_HTTP=19192 P_SIDECAR_GRPC=19193 P_QUERY_HTTP=19194 P_QUERY_GRPC=19195
P_VM=${P_VM:-19196} P_LIMITED=19197 P_RECORDED=19198 P_RULE_SOURCE=19199

# Start "$@" in its own process group, logging to $WORK/$name.log.
spawn() {
  local name=$1; shift
  setsid "$@" > "$WORK/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$WORK/pids"
}

wait_http() { # URL [seconds]
  for _ in $(seq 1 "${2:-120}"); do curl -sf -o /dev/null "$1" && return 0; sleep 1; done
  echo "no answer from $1" >&2; return 1
}

# Wait until the Prometheus on PORT uses under 5 % of a core over 2 s (compaction of copied or
# backfilled blocks done), at most 5 minutes, as gregg-bench does.
settle() {
  local cpu last=""
  for _ in $(seq 1 150); do
    cpu=$(curl -s "http://127.0.0.1:$1/metrics" | awk '/^process_cpu_seconds_total /{print $2}')
    if [ -n "$last" ] && awk -v a="$last" -v b="$cpu" 'BEGIN{exit !((b - a) / 2 < 0.05)}'; then return 0; fi
    last=$cpu; sleep 2
  done
}

fleet_url() { jq -r .prometheus "$WORK/fleet.json"; }
fleet_at() { jq -r .at "$WORK/fleet.json"; }

# A Prometheus on a fresh copy of the fleet's blocks: NAME PORT [flags...] (external labels in
# $EXTERNAL, YAML, if set).
prometheus_copy() {
  local name=$1 port=$2; shift 2
  rm -rf "$WORK/$name"; mkdir -p "$WORK/$name"
  cp -a "$WORK/blocks" "$WORK/$name/data"
  printf 'global:\n  scrape_interval: 30s\n%s\n' "${EXTERNAL:+  external_labels: $EXTERNAL}" > "$WORK/$name/prometheus.yml"
  spawn "$name" ${NICE:+nice -n "$NICE"} prometheus --config.file="$WORK/$name/prometheus.yml" \
    --storage.tsdb.path="$WORK/$name/data" --web.listen-address=127.0.0.1:"$port" \
    --storage.tsdb.retention.time=100y --log.level=warn "$@"
  wait_http "http://127.0.0.1:$port/-/ready" 300
  settle "$port"
}

start() {
  # stdin held open: gregg-testenv stops when it closes.
  setsid bash -c "sleep infinity | '$BIN/gregg-testenv' fleet $HOSTS" > "$WORK/fleet.json" 2> "$WORK/fleet.log" < /dev/null &
  echo "fleet $!" >> "$WORK/pids"
  # Keep the OpenMetrics text promtool backfills (gregg-testenv deletes it afterwards): the same
  # samples are imported into VictoriaMetrics. It is complete once promtool reads it.
  local input=""
  until [ -n "$input" ]; do
    sleep 2
    input=$(pgrep -a promtool | grep -o '/tmp/gregg-backfill-[^ ]*/input-0.om' | head -1 || true)
  done
  ln -f "$input" "$WORK/fleet.om"
  until [ -s "$WORK/fleet.json" ]; do sleep 2; done
  local url; url=$(fleet_url)
  local data
  data=$(pgrep -a prometheus | grep -- "--web.listen-address=${url#http://}" | grep -o -- '--storage.tsdb.path=[^ ]*' | cut -d= -f2)
  rm -rf "$WORK/blocks"; mkdir -p "$WORK/blocks"
  cp -a "$data"/01* "$WORK/blocks/"
  echo "fleet: $url at $(fleet_at); blocks copied from $data"
}

thanos() {
  EXTERNAL='{shard: "0", replica: "a"}' prometheus_copy thanos-prometheus $P_THANOS_PROM
  spawn sidecar "$THANOS" sidecar --prometheus.url=http://127.0.0.1:$P_THANOS_PROM \
    --tsdb.path="$WORK/thanos-prometheus/data" --http-address=127.0.0.1:$P_SIDECAR_HTTP \
    --grpc-address=127.0.0.1:$P_SIDECAR_GRPC --log.level=warn
  wait_http "http://127.0.0.1:$P_SIDECAR_HTTP/-/ready"
  spawn query "$THANOS" query --endpoint=127.0.0.1:$P_SIDECAR_GRPC --query.replica-label=replica \
    --http-address=127.0.0.1:$P_QUERY_HTTP --grpc-address=127.0.0.1:$P_QUERY_GRPC --log.level=warn
  wait_http "http://127.0.0.1:$P_QUERY_HTTP/-/ready"
  until curl -s "http://127.0.0.1:$P_QUERY_HTTP/api/v1/stores" | jq -e '[.data[][] | select(.lastError == null and .lastCheck != null)] | length >= 1' > /dev/null; do sleep 1; done
}

# VictoriaMetrics' own flags (default none). Its -search.maxQueryLen (16384 bytes) once refused
# the analysis' instance groups, which listed their instances; they are ranges of a few hundred
# bytes now (docs/performance.md, "Groups as ranges of instance names").
VM_FLAGS=${VM_FLAGS:-}

victoria_server() {
  # shellcheck disable=SC2086
  spawn victoria-metrics victoria-metrics -storageDataPath="$WORK/vm/data" \
    -httpListenAddr=127.0.0.1:$P_VM -retentionPeriod=100y -search.latencyOffset=0s -loggerLevel=WARN $VM_FLAGS
  wait_http "http://127.0.0.1:$P_VM/health"
}

victoria() {
  rm -rf "$WORK/vm"; mkdir -p "$WORK/vm"
  victoria_server
  local t0=$SECONDS
  "$repo/tests/bench/vm-import.sh" "$WORK/fleet.om" "http://127.0.0.1:$P_VM"
  echo "VictoriaMetrics: imported in $((SECONDS - t0)) s"
}

engines() {
  uptime
  python3 "$repo/tests/bench/compare.py" --cli "$BIN/gregg-insights" --at "$(fleet_at)" \
    --rounds "$ROUNDS" --direct --workers "$WORKERS" --out "$WORK/out-engines" \
    --engine "prometheus=$(fleet_url)" \
    --engine "thanos=http://127.0.0.1:$P_QUERY_HTTP" \
    --engine "victoriametrics=http://127.0.0.1:$P_VM"
  uptime
}

# VictoriaMetrics answers a repeated range query from its rollup result cache: the rounds of
# `engines` repeat the same queries, so they measure it warm. This restarts it with the cache
# off and compares the analysis with the plain client on it alone.
victoria_nocache() {
  stop victoria-metrics
  VM_FLAGS="$VM_FLAGS -search.disableCache=true" victoria_server
  uptime
  python3 "$repo/tests/bench/compare.py" --cli "$BIN/gregg-insights" --at "$(fleet_at)" \
    --rounds "$ROUNDS" --direct --workers "$WORKERS" --out "$WORK/out-victoria-nocache" \
    --engine "victoriametrics-nocache=http://127.0.0.1:$P_VM"
  uptime
}

# The plugin through the Go harness on the engines given (URLs; default: all three).
plugin() {
  local url urls=("$@")
  [ ${#urls[@]} -gt 0 ] || urls=("$(fleet_url)" "http://127.0.0.1:$P_QUERY_HTTP" "http://127.0.0.1:$P_VM")
  for url in "${urls[@]}"; do
    echo "== plugin on $url ($(cut -d' ' -f1-3 /proc/loadavg))"
    (cd "$repo/tests/conformance" && GREGG_PLUGIN_BINARY="$BIN/gpx_gregg_insights" \
      GREGG_TESTENV="$BIN/gregg-testenv" GREGG_BENCH_PROMETHEUS="$url" GREGG_BENCH_AT="$(fleet_at)" \
      go test -count=1 -run '^$' -bench '^BenchmarkFleetAnalysis$' -benchtime 3x -timeout 20m .)
  done
}

limits() {
  prometheus_copy limited $P_LIMITED --query.max-samples=500000
  uptime
  python3 "$repo/tests/bench/compare.py" --cli "$BIN/gregg-insights" --at "$(fleet_at)" \
    --rounds "$ROUNDS" --out "$WORK/out-limits" \
    --engine "no-limit=$(fleet_url)" \
    --engine "limit-500000=http://127.0.0.1:$P_LIMITED" \
    --engine "limit-500000-budget-250000=http://127.0.0.1:$P_LIMITED,--query-sample-budget=250000"
  uptime
}

# The generated rules evaluated over the last 15 minutes of the fleet's history into blocks, from
# a Prometheus on a copy of the blocks started at nice 19 (so the backfill can run beside another
# measurement without taking its CPU), stopped afterwards.
rules_backfill() {
  local at; at=$(fleet_at)
  "$BIN/gregg-insights" rules --output "$WORK/rules.yml"
  promtool check rules "$WORK/rules.yml"
  NICE=19 prometheus_copy rule-source $P_RULE_SOURCE
  rm -rf "$WORK/rule-blocks"
  local t0=$SECONDS
  nice -n 19 promtool tsdb create-blocks-from rules --start=$((at - 900)) --end="$at" \
    --eval-interval=60s --url="http://127.0.0.1:$P_RULE_SOURCE" --output-dir="$WORK/rule-blocks" \
    "$WORK/rules.yml"
  echo "rules backfilled in $((SECONDS - t0)) s"
  stop rule-source
}

recorded() {
  rm -rf "$WORK/recorded"; mkdir -p "$WORK/recorded"
  cp -a "$WORK/blocks" "$WORK/recorded/data"
  cp -a "$WORK/rule-blocks"/01* "$WORK/recorded/data/"
  printf 'global:\n  scrape_interval: 30s\n' > "$WORK/recorded/prometheus.yml"
  spawn recorded prometheus --config.file="$WORK/recorded/prometheus.yml" \
    --storage.tsdb.path="$WORK/recorded/data" --web.listen-address=127.0.0.1:$P_RECORDED \
    --storage.tsdb.retention.time=100y --log.level=warn
  wait_http "http://127.0.0.1:$P_RECORDED/-/ready" 300
  local t0=$SECONDS
  settle $P_RECORDED
  echo "recorded: Prometheus idle after $((SECONDS - t0)) s (compaction of the rule blocks)"
  uptime
  python3 "$repo/tests/bench/compare.py" --cli "$BIN/gregg-insights" --at "$(fleet_at)" \
    --rounds "$ROUNDS" --direct --workers "$WORKERS" --out "$WORK/out-recorded" \
    --engine "raw=$(fleet_url)" \
    --engine "recorded=http://127.0.0.1:$P_RECORDED"
  uptime
}

# Stop one server (by name) or all: each process group in turn.
stop() {
  [ -f "$WORK/pids" ] || return 0
  local name pid
  while read -r name pid; do
    if [ -z "${1:-}" ] || [ "$1" = "$name" ]; then
      kill -- "-$pid" 2> /dev/null || true
      # Until it has exited: a server restarted on the same data needs its lock released.
      while kill -0 -- "-$pid" 2> /dev/null; do sleep 0.5; done
    fi
  done < "$WORK/pids"
  if [ -z "${1:-}" ]; then rm -f "$WORK/pids"; fi
}

"${1:-start}" "${@:2}"
