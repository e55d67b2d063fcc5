#!/usr/bin/env bash
# make demo: starts the reference Socket.IO server (examples/server) in DEMO
# mode on PORT (default 3000) and runs the agent against it with simulated
# sensors (configs/demo.toml): the server prints one line per telemetry
# batch (decoded SenML), prefixed with "server |", and the script sends two
# commands through the server's HTTP API. The live page is at the server's
# URL. Ctrl-C stops the agent (it delivers what is queued first, and its
# last log lines are printed), then the server; the script then exits 0.
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

DEMO_CONFIG=${DEMO_CONFIG:-configs/demo.toml}

tmp=$(mktemp -d)
server_pid=""
tail_pid=""
agent_pid=""
interrupted=""
cleanup() {
  if [ -n "$agent_pid" ]; then
    if [ -z "$interrupted" ]; then
      pkill -TERM -f "$tmp/sioagent run" 2>/dev/null || true
    fi
    wait_agent
  fi
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
# wait_agent waits until the agent's output has ended (a trapped signal
# makes wait return early, so it waits again).
wait_agent() {
  while kill -0 "$agent_pid" 2>/dev/null; do
    wait "$agent_pid" 2>/dev/null || true
  done
}
# Ctrl-C reaches the agent itself (the terminal signals the whole process
# group; the server runs in a session of its own, so it stays up for the
# agent's last delivery). A SIGTERM sent to this script alone is passed on.
# Either way the script waits for the agent, then stops the server.
trap cleanup EXIT
trap 'interrupted=INT' INT
trap 'interrupted=TERM; pkill -TERM -f "$tmp/sioagent run" 2>/dev/null || true' TERM

# Compile first, so a build error does not leave a server running for
# nothing and Ctrl-C reaches the agent, not the compiler.
"$GO" build -o "$tmp/sioagent" ./cmd/sioagent

# The server writes its listening line, then (DEMO=1) its log, to stdout.
(cd examples/server && exec setsid env DEMO=1 PORT="$PORT" HOST=127.0.0.1 node server.js) \
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

if [ "$DEMO_CONFIG" = configs/demo.toml ] && [ "$DEMO_URL" != "http://127.0.0.1:3000" ]; then
  sed "s#http://127.0.0.1:3000#$DEMO_URL#" configs/demo.toml >"$tmp/demo.toml"
  DEMO_CONFIG="$tmp/demo.toml"
fi

# The agent: simulated sensors -> durable outbox -> telemetry to the server.
mkdir -p .demo
{ "$tmp/sioagent" run --config "$DEMO_CONFIG"; echo $? >"$tmp/agent.rc"; } 2>&1 | sed -u 's/^/agent  | /' &
agent_pid=$!

# demo_step runs one step of the show unless Ctrl-C came.
demo_step() {
  [ -n "$interrupted" ] || "$@" || true
}

# Wait for the first batch, then show a command round trip.
for _ in $(seq 100); do
  if [ -n "$interrupted" ] || grep -q '^telemetry demo-pi' "$tmp/server.log" 2>/dev/null; then break; fi
  sleep 0.1 || true
done
demo_step sleep 1
command() {
  node examples/server/command.js --url "$DEMO_URL" demo-pi "$@" | sed 's/^/command| /'
}
demo_step echo "demo: command round trip: node examples/server/command.js demo-pi sensor:read '{\"sensor\":\"temperature\"}'"
demo_step command sensor:read '{"sensor":"temperature"}'
demo_step echo "demo: node examples/server/command.js demo-pi agent:ping"
demo_step command agent:ping
demo_step echo "demo: live page: $DEMO_URL/   agent state: go run ./cmd/sioagent status --runtime-dir .demo"
demo_step echo "demo: readings keep arriving (one line per batch); Ctrl-C stops the agent and the server"
wait_agent
rc=$(cat "$tmp/agent.rc" 2>/dev/null || echo 1)
if [ -n "$interrupted" ] && [ "$rc" = 0 ]; then
  echo "demo: stopped"
fi
exit "$rc"
