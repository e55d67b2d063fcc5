// sioagent-server: the server side of sioagent's wire contract
// (docs/PROTOCOL.md) for socket.io 4.8 servers. README.md documents the
// API; index.d.ts declares it.

"use strict";

const { attach, DEFAULT_TELEMETRY_EVENT } = require("./lib/attach");
const { CLOCK_UNCERTAIN } = require("./lib/batch");
const codes = require("./lib/codes");
const { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_COMMAND_RETRIES } = require("./lib/commands");
const { Devices } = require("./lib/devices");
const { ConnectError, TelemetryError, CommandError } = require("./lib/errors");
const { DEFAULT_LEASE_TTL_MS } = require("./lib/lease");
const { deviceRoom } = require("./lib/rooms");
const senml = require("./lib/senml");
const { DEFAULT_RETENTION_MS } = require("./lib/stores/contract");
const { MemoryDedupeStore, DEFAULT_MAX_ENTRIES } = require("./lib/stores/memory");
const { RedisDedupeStore, DEFAULT_PREFIX } = require("./lib/stores/redis");

module.exports = {
  attach,
  Devices,
  MemoryDedupeStore,
  RedisDedupeStore,
  ConnectError,
  TelemetryError,
  CommandError,
  codes,
  deviceRoom,
  decodePack: senml.decodePack,
  shortName: senml.shortName,
  PackError: senml.PackError,
  SENML_CBOR: senml.MEDIA_TYPE,
  CLOCK_UNCERTAIN,
  DEFAULT_TELEMETRY_EVENT,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_RETENTION_MS,
  DEFAULT_MAX_ENTRIES,
  DEFAULT_REDIS_PREFIX: DEFAULT_PREFIX,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_COMMAND_RETRIES,
};
