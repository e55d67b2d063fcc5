#!/usr/bin/env node
// Sends a command to a device through the reference server's HTTP API
// (POST /api/devices/:id/commands) and prints the JSON answer.
//
//   node command.js [--url http://127.0.0.1:3000] [--timeout ms] <deviceId> <command> [json-args]
//
//   node command.js demo-pi agent:ping
//   node command.js demo-pi gpio:write '{"pin": "GPIO27", "value": true}'
//
// The URL defaults to $SERVER_URL, else http://127.0.0.1:$PORT (PORT
// defaults to 3000). Exit status: 0 when the device acked (whatever the ack
// says), 1 on an HTTP error (unknown device, timeout, bad request; the error
// body is printed) or when the server cannot be reached, 2 on bad usage.

"use strict";

const USAGE = "usage: node command.js [--url http://127.0.0.1:3000] [--timeout ms] <deviceId> <command> [json-args]";
// DEFAULT_PORT is the server's default port.
const DEFAULT_PORT = 3000;
// HTTP_SLACK_MS is how much longer than the command's timeout the HTTP
// request may take.
const HTTP_SLACK_MS = 5000;

function usage(message) {
  if (message) process.stderr.write(`command.js: ${message}\n`);
  process.stderr.write(USAGE + "\n");
  process.exit(2);
}

// parseArgs reads the command line: {url, timeoutMs, deviceId, name, args}.
function parseArgs(argv) {
  const opts = { url: process.env.SERVER_URL || `http://127.0.0.1:${process.env.PORT || DEFAULT_PORT}`, timeoutMs: undefined };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") usage();
    else if (a === "--url" || a === "--timeout") {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      const v = argv[++i];
      if (a === "--url") opts.url = v;
      else {
        opts.timeoutMs = Number(v);
        if (!Number.isInteger(opts.timeoutMs) || opts.timeoutMs < 1) usage(`--timeout ${v}: want milliseconds`);
      }
    } else if (a.startsWith("--url=")) opts.url = a.slice("--url=".length);
    else if (a.startsWith("--") && a.length > 2) usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length < 2 || positional.length > 3) usage();
  const [deviceId, name, json] = positional;
  let args = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch (err) {
      usage(`json-args: ${err.message}`);
    }
    if (!args || typeof args !== "object" || Array.isArray(args)) usage("json-args must be a JSON object");
  }
  return { ...opts, deviceId, name, args };
}

async function main() {
  const { url, timeoutMs, deviceId, name, args } = parseArgs(process.argv.slice(2));
  const body = { name, args };
  if (timeoutMs !== undefined) body.timeoutMs = timeoutMs;
  const endpoint = `${url.replace(/\/+$/, "")}/api/devices/${encodeURIComponent(deviceId)}/commands`;
  let resp;
  let text;
  try {
    resp = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout((timeoutMs || 5000) + HTTP_SLACK_MS),
    });
    text = await resp.text();
  } catch (err) {
    process.stderr.write(`command.js: POST ${endpoint}: ${err.cause ? err.cause.message || err.cause : err.message}\n`);
    process.exit(1);
  }
  let out = text;
  try {
    out = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: print as it came
  }
  process.stdout.write(out.endsWith("\n") ? out : out + "\n");
  if (!resp.ok) {
    process.stderr.write(`command.js: HTTP ${resp.status} from ${endpoint}\n`);
    process.exit(1);
  }
}

main();
