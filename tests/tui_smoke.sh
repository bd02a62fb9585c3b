#!/usr/bin/env bash
# Smoke test of `tessera tui` against a running engine under load (issue 11, "Done means").
#
# What it does, and what it expects at each step (a failed expectation exits non-zero and
# prints the last captured pane):
#   1. Builds a config: the load harness's (`tessera loadtest --print-config`) on a free port,
#      plus an admin API client `ops` and `[callbacks] max_tries = 1` (so a failed callback
#      becomes a dead letter at once). Starts `tessera serve` with it; waits for /health/live.
#   2. Starts `tessera loadtest --target` (SMS flows, 20/s for 90 s) in the background.
#   3. Starts `tessera tui` in a detached tmux session of fixed size 200x60.
#   4. Captures the pane twice, 4 s apart, on the Overview: expects "● connected" and the
#      "started N" counter of the summary line to have grown between the two captures.
#   5. Cancel through keys: starts an SMS transaction for user `smoke-cancel` (stays pending,
#      nobody answers it), opens Transactions (`2`), filters `/user:smoke-cancel` Enter, expects
#      its id's first 8 characters on screen, presses `c` (expects the "Cancel transaction"
#      confirmation), then `y`; expects the notice "cancelled <id>" on screen and the admin API
#      to report the transaction `cancelled`.
#   6. Replay through keys: starts a transaction for `smoke-replay` with a callback URI where
#      nothing listens and cancels it through the admin API; waits until the admin API lists a
#      dead letter for it. Starts a callback receiver (answers 204) on that port, opens Dead
#      letters (`5`), filters on the transaction id, presses `r`; expects "delivered" on
#      screen and the dead letter gone from `GET /admin/v1/dead-letters`.
#   7. Presses `q`: expects the tmux session's program to exit (the terminal restored).
#
# Needs: tmux, curl, python3. Run from the repository root: `tests/tui_smoke.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${TESSERA_BIN:-target/debug/tessera}
[ -x "$BIN" ] || cargo build --bin tessera
WORK=$(mktemp -d)
SESSION="tessera-tui-smoke-$$"
PIDS=()
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -f "$WORK/pane" ] && { echo "--- last pane ---" >&2; cat "$WORK/pane" >&2; }
    [ -f "$WORK/serve.log" ] && { echo "--- serve log (tail) ---" >&2; tail -20 "$WORK/serve.log" >&2; }
    exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
capture() { tmux capture-pane -p -t "$SESSION" > "$WORK/pane"; cat "$WORK/pane"; }
keys() { tmux send-keys -t "$SESSION" "$@"; sleep 0.7; }
# Waits up to $2 seconds for the pane to contain $1.
await_pane() {
    for _ in $(seq 1 $(( $2 * 2 ))); do
        capture | grep -qF -- "$1" && return 0
        sleep 0.5
    done
    fail "pane never showed: $1"
}

PORT=$(free_port); SINK=$(free_port); CB=$(free_port)
URL="http://127.0.0.1:$PORT"
ADMIN_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(24))')

# --- 1. engine ---
"$BIN" loadtest --print-config --sink-listen "127.0.0.1:$SINK" > "$WORK/tessera.toml"
LOAD_SECRET=$(sed -n 's/^secret = "\(.*\)"/\1/p' "$WORK/tessera.toml" | head -1)
sed -i "s/^listen = \"127.0.0.1:8080\"/listen = \"127.0.0.1:$PORT\"/" "$WORK/tessera.toml"
cat >> "$WORK/tessera.toml" <<TOML

[[api_clients]]
id = "ops"
secret = "$ADMIN_SECRET"
scopes = ["admin"]

[callbacks]
max_tries = 1
TOML
"$BIN" serve --config "$WORK/tessera.toml" > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -sf "$URL/health/live" >/dev/null && break; sleep 0.2; done
curl -sf "$URL/health/live" >/dev/null || fail "tessera serve did not come up"
admin() { curl -sf -u "ops:$ADMIN_SECRET" "$@"; }

# --- 2. load ---
"$BIN" loadtest --target "$URL" --client-id loadtest --client-secret "$LOAD_SECRET" \
    --sink-listen "127.0.0.1:$SINK" --scenario sms --rate 20 --duration 90s --warmup 0s \
    > "$WORK/loadtest.log" 2>&1 &
PIDS+=($!)

# --- 3. the TUI ---
tmux new-session -d -s "$SESSION" -x 200 -y 60 \
    "TESSERA_TUI_CLIENT_SECRET=$ADMIN_SECRET $BIN tui --url $URL --client-id ops"

# --- 4. live numbers ---
started() { grep -o 'started [0-9]*' "$WORK/pane" | head -1 | awk '{print $2}'; }
await_pane "● connected" 15
await_pane "started " 10
sleep 2; capture > /dev/null; FIRST=$(started)
sleep 4; capture > /dev/null; SECOND=$(started)
[ -n "$FIRST" ] && [ -n "$SECOND" ] || fail "no 'started' counter on the overview"
[ "$SECOND" -gt "$FIRST" ] || fail "the overview did not move: started $FIRST then $SECOND"
echo "ok: overview live (started $FIRST -> $SECOND)"
# For the README: the overview as captured (TESSERA_SMOKE_PANE_OUT=file).
[ -n "${TESSERA_SMOKE_PANE_OUT:-}" ] && cp "$WORK/pane" "$TESSERA_SMOKE_PANE_OUT"

# --- 5. cancel through keys ---
PORTAL="$URL/oauth/api/v4/authenticate"
TXN=$(curl -sf -u "loadtest:$LOAD_SECRET" "$PORTAL/user" -d type=sms -d user_id=smoke-cancel \
    --data-urlencode phone_number=+31612345678 | python3 -c 'import json,sys; print(json.load(sys.stdin)["transaction_id"])')
keys 2
keys / ; tmux send-keys -t "$SESSION" -l "user:smoke-cancel"; keys Enter
await_pane "${TXN:0:8}" 10
keys c
await_pane "Cancel transaction ${TXN:0:8}" 5
keys y
await_pane "cancelled ${TXN:0:8}" 10
STATUS=$(admin "$URL/admin/v1/transactions/$TXN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
[ "$STATUS" = cancelled ] || fail "transaction $TXN is $STATUS after the cancel, not cancelled"
echo "ok: cancel through keys"

# --- 6. replay through keys ---
TXN2=$(curl -sf -u "loadtest:$LOAD_SECRET" "$PORTAL/user" -d type=sms -d user_id=smoke-replay \
    --data-urlencode phone_number=+31612345679 --data-urlencode "callback_uri=http://127.0.0.1:$CB/cb" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["transaction_id"])')
admin -X POST "$URL/admin/v1/transactions/$TXN2/cancel" > /dev/null
for _ in $(seq 1 40); do
    admin "$URL/admin/v1/dead-letters" | grep -q "$TXN2" && break
    sleep 0.5
done
admin "$URL/admin/v1/dead-letters" | grep -q "$TXN2" || fail "no dead letter for $TXN2"
python3 - "$CB" > "$WORK/receiver.log" 2>&1 <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204); self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)
sleep 0.5
keys 5
keys / ; tmux send-keys -t "$SESSION" -l "$TXN2"; keys Enter
await_pane "${TXN2:0:8}" 10
keys r
await_pane "delivered" 10
capture | grep -q "not delivered" && fail "the replay was not delivered"
admin "$URL/admin/v1/dead-letters" | grep -q "$TXN2" && fail "the dead letter is still listed after the replay"
echo "ok: replay through keys"

# --- 7. quit ---
keys q
sleep 1
if tmux list-panes -t "$SESSION" -F '#{pane_dead}' 2>/dev/null | grep -q 0; then
    fail "tessera tui did not exit on q"
fi
echo "ok: tui smoke test passed"
