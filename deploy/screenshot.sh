#!/usr/bin/env bash
# Screenshots of Prometheus graphing a Tessera under load, for the README (docs/img/).
#
# What it does (a failed step exits non-zero with the logs' tails):
#   1. Serves Tessera on a free port with the load harness's config (`tessera loadtest
#      --print-config`: every method's type, the harness's SMS and FCM sinks) and waits for
#      /health/live.
#   2. Starts Prometheus on a free port, scraping the engine's /metrics every 2 s (job
#      `tessera`) and loading deploy/prometheus/rules/*.yml; waits until the target is up.
#   3. Runs `tessera loadtest --target` with the `mixed` scenario (RATE flows/s, default 20) for
#      LOAD seconds (default 90).
#   4. While the load still runs (after SHOOT_AT seconds, default 75), checks that each graphed
#      expression returns data, then captures Prometheus's graph page for each with headless
#      chromium into $OUT (default docs/img): prometheus-starts.png (starts per second by type),
#      prometheus-finished.png (finished per second by type and outcome), prometheus-latency.png
#      (p99 HTTP latency by route).
#
# Needs: prometheus, chromium (CHROMIUM=... for another name), curl, python3. Run from anywhere:
# `deploy/screenshot.sh` (builds target/debug/tessera if missing; TESSERA_BIN=... for another).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${TESSERA_BIN:-target/debug/tessera}
RATE=${RATE:-20}
LOAD=${LOAD:-90}
SHOOT_AT=${SHOOT_AT:-75}
OUT=${OUT:-docs/img}
CHROMIUM=${CHROMIUM:-chromium}
for tool in prometheus "$CHROMIUM" curl python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed" >&2; exit 1; }
done
[ -x "$BIN" ] || cargo build --bin tessera

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for log in serve loadtest prometheus; do
        [ -s "$WORK/$log.log" ] && { echo "--- $log log (tail) ---" >&2; tail -15 "$WORK/$log.log" >&2; }
    done
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits up to $2 seconds for the command $1 to succeed.
await() {
    for _ in $(seq 1 $(( $2 * 5 ))); do
        eval "$1" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

PORT=$(free_port); SINK=$(free_port); PROM=$(free_port)
URL="http://127.0.0.1:$PORT"
PROM_URL="http://127.0.0.1:$PROM"

# --- 1. engine ---
"$BIN" loadtest --print-config --sink-listen "127.0.0.1:$SINK" > "$WORK/tessera.toml"
SECRET=$(sed -n 's/^secret = "\(.*\)"/\1/p' "$WORK/tessera.toml" | head -1)
sed -i "s/^listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$PORT\"/" "$WORK/tessera.toml"
TESSERA_LOG=warn "$BIN" serve --config "$WORK/tessera.toml" > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
await "curl -sf $URL/health/live" 20 || fail "tessera serve did not come up"
echo "ok: tessera serving on $URL"

# --- 2. Prometheus ---
RULES="[]"
ls deploy/prometheus/rules/*.yml >/dev/null 2>&1 && RULES="[\"$PWD/deploy/prometheus/rules/*.yml\"]"
cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files: $RULES
scrape_configs:
  - job_name: tessera
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YAML
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
    --web.listen-address="127.0.0.1:$PROM" > "$WORK/prometheus.log" 2>&1 &
PIDS+=($!)
await "curl -sf $PROM_URL/-/ready" 30 || fail "prometheus did not come up"
# Prints the number of series an instant query returns.
series() {
    curl -sf "$PROM_URL/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))'
}
await '[ "$(series "up{job=\"tessera\"} == 1")" = 1 ]' 30 || fail "prometheus does not scrape tessera"
echo "ok: prometheus on $PROM_URL scraping it"

# --- 3. load ---
"$BIN" loadtest --target "$URL" --client-secret "$SECRET" --sink-listen "127.0.0.1:$SINK" \
    --scenario mixed --rate "$RATE" --duration "${LOAD}s" --warmup 0s --devices 16 --quiet \
    > "$WORK/loadtest.log" 2>&1 &
LOAD_PID=$!
PIDS+=($LOAD_PID)
echo "ok: mixed load at $RATE/s for ${LOAD}s; screenshots after ${SHOOT_AT}s"
sleep "$SHOOT_AT"
kill -0 "$LOAD_PID" 2>/dev/null || fail "the load run ended early"

# --- 4. screenshots ---
mkdir -p "$OUT"
shoot() { # name expr
    local n
    n=$(series "$2") || fail "query failed: $2"
    [ "$n" -gt 0 ] || fail "no data for $2"
    local q
    q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$2")
    # Debian's Prometheus serves the classic UI; it takes the same g0.* parameters.
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,900 \
        --virtual-time-budget=10000 --screenshot="$OUT/prometheus-$1.png" \
        "$PROM_URL/classic/graph?g0.expr=$q&g0.tab=0&g0.range_input=2m" > "$WORK/chromium.log" 2>&1 ||
        { cat "$WORK/chromium.log" >&2; fail "chromium could not capture $1"; }
    echo "ok: $OUT/prometheus-$1.png ($n series)"
}
shoot starts 'sum by (type) (rate(tessera_transactions_started_total[30s]))'
shoot finished 'sum by (type, outcome) (rate(tessera_transactions_finished_total[30s]))'
shoot latency 'histogram_quantile(0.99, sum by (le, route) (rate(tessera_http_request_duration_seconds_bucket{route!~"/metrics|/health/.*"}[30s])))'
echo "ok: screenshots taken"
