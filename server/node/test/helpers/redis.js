// A throwaway redis-server for the Redis store tests: started on a free
// loopback port without persistence, stopped by the test. When the
// redis-server command is missing the tests are skipped, with a message
// saying so, unless SIOAGENT_REQUIRE_REDIS=1 (make test sets it; the
// Debian package redis-server is installed by scripts/system-deps.sh).

"use strict";

const { spawn, spawnSync } = require("node:child_process");
const net = require("node:net");

// START_TIMEOUT_MS bounds the wait for redis-server to answer PING.
const START_TIMEOUT_MS = 10000;
// START_ATTEMPTS: a free port can be taken between the check and the
// start; try again on another.
const START_ATTEMPTS = 3;
// POLL_MS is the interval between PINGs while it starts.
const POLL_MS = 25;

// skipReason returns why the Redis tests cannot run here (a string for
// the test runner's skip option), or false when they can. With
// SIOAGENT_REQUIRE_REDIS=1 a missing redis-server throws instead.
function skipReason() {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (!probe.error && probe.status === 0) return false;
  const why = "redis-server is not installed (apt-get install redis-server, or scripts/system-deps.sh)";
  if (process.env.SIOAGENT_REQUIRE_REDIS === "1") throw new Error(`SIOAGENT_REQUIRE_REDIS=1: ${why}`);
  return why;
}

// freePort resolves with a loopback port that was free a moment ago.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ping resolves with true when a Redis server answers PING on port.
function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let data = "";
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.on("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      data += d;
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
    sock.on("error", () => done(false));
  });
}

// startOnce starts redis-server on port and resolves when it answers, or
// rejects (and stops it) when it exits or does not answer in time.
async function startOnce(port) {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let exited = null;
  child.on("exit", (code) => { exited = code; });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`redis-server exited with ${exited}: ${stderr.trim()}`);
    if (await ping(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
}

// startRedis starts a redis-server and resolves with {port, url, stop()}.
async function startRedis() {
  let lastErr;
  for (let i = 0; i < START_ATTEMPTS; i++) {
    const port = await freePort();
    try {
      const child = await startOnce(port);
      const stop = () => new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
      return { port, url: `redis://127.0.0.1:${port}`, stop };
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

module.exports = { skipReason, startRedis };
