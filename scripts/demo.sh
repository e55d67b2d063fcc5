#!/usr/bin/env bash
# make demo: starts the reference Socket.IO server (examples/server) in DEMO
# mode on PORT (default 3000) and runs `sioagent listen` against it. The
# server sends a `tick` every second and prints every event it receives,
# prefixed with "server |". Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
PORT=${PORT:-3000}
DEMO_URL=${DEMO_URL:-http://127.0.0.1:$PORT}

if [ ! -d examples/server/node_modules/socket.io ]; then
  echo "demo: run \`npm ci\` in examples/server first (make demo does it)" >&2
  exit 1
fi
if ! compgen -G 'cmd/sioagent/*.go' >/dev/null; then
  echo "demo: cmd/sioagent does not exist yet" >&2
  exit 1
fi

tmp=$(mktemp -d)
server_pid=""
tail_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$tail_pid" ]; then
    kill "$tail_pid" 2>/dev/null || true
    wait "$tail_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Compile first, so a build error does not leave a server running for
# nothing and Ctrl-C reaches the agent, not the compiler.
"$GO" build -o "$tmp/sioagent" ./cmd/sioagent

# The server writes its listening line, then (DEMO=1) its log, to stdout.
(cd examples/server && exec env DEMO=1 PORT="$PORT" HOST=127.0.0.1 node server.js) \
  >"$tmp/server.log" 2>&1 &
server_pid=$!

for _ in $(seq 100); do
  if head -n 1 "$tmp/server.log" 2>/dev/null | grep -q '"event":"listening"'; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "demo: the server did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! head -n 1 "$tmp/server.log" | grep -q '"event":"listening"'; then
  echo "demo: no listening line from the server after 10s:" >&2
  cat "$tmp/server.log" >&2
  exit 1
fi
echo "demo: server $(head -n 1 "$tmp/server.log")"

tail -n +2 -f --pid="$server_pid" "$tmp/server.log" | sed -u 's/^/server | /' &
tail_pid=$!

# One round trip with an ack and a binary attachment, both ways.
echo "demo: sioagent emit --ack $DEMO_URL echo '{\"hello\":\"pi\"}' '{\"\$binary\":\"AQID\"}'"
"$tmp/sioagent" emit --ack "$DEMO_URL" echo '{"hello":"pi"}' '{"$binary":"AQID"}'

echo "demo: sioagent listen $DEMO_URL (Ctrl-C to stop)"
"$tmp/sioagent" listen --auth '{"deviceId":"demo"}' "$DEMO_URL"
