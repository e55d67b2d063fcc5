// One way to send a raw command to either Redis client for Node.js:
// node-redis (the `redis` package, v4 and later: client.sendCommand(args))
// or ioredis (client.call(name, ...args)). Raw commands keep the store
// independent of how each client spells options.

"use strict";

// isIORedis reports whether client is an ioredis client (Redis, or
// Cluster): they have call() and defineCommand(), which node-redis lacks.
function isIORedis(client) {
  return typeof client.call === "function" && typeof client.defineCommand === "function";
}

// commandRunner returns run(args), which sends args (an array of strings,
// the command name first) on client and resolves with the reply.
function commandRunner(client) {
  if (!client || typeof client !== "object") throw new TypeError("a Redis client (node-redis or ioredis) is required");
  if (isIORedis(client)) return (args) => client.call(...args);
  if (typeof client.sendCommand === "function") return (args) => client.sendCommand(args);
  throw new TypeError("the Redis client has neither sendCommand() (node-redis) nor call() (ioredis)");
}

module.exports = { commandRunner };
