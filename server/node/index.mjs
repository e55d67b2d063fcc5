// The ES module entry point: the CommonJS module's exports, by name, so
// that `import { attach } from "sioagent-server"` and require() share one
// instance of every class.

import cjs from "./index.js";

export const attach = cjs.attach;
export const Devices = cjs.Devices;
export const MemoryDedupeStore = cjs.MemoryDedupeStore;
export const RedisDedupeStore = cjs.RedisDedupeStore;
export const ConnectError = cjs.ConnectError;
export const TelemetryError = cjs.TelemetryError;
export const CommandError = cjs.CommandError;
export const codes = cjs.codes;
export const deviceRoom = cjs.deviceRoom;
export const decodePack = cjs.decodePack;
export const shortName = cjs.shortName;
export const PackError = cjs.PackError;
export const SENML_CBOR = cjs.SENML_CBOR;
export const CLOCK_UNCERTAIN = cjs.CLOCK_UNCERTAIN;
export const DEFAULT_TELEMETRY_EVENT = cjs.DEFAULT_TELEMETRY_EVENT;
export const DEFAULT_LEASE_TTL_MS = cjs.DEFAULT_LEASE_TTL_MS;
export const DEFAULT_RETENTION_MS = cjs.DEFAULT_RETENTION_MS;
export const DEFAULT_MAX_ENTRIES = cjs.DEFAULT_MAX_ENTRIES;
export const DEFAULT_REDIS_PREFIX = cjs.DEFAULT_REDIS_PREFIX;
export const DEFAULT_COMMAND_TIMEOUT_MS = cjs.DEFAULT_COMMAND_TIMEOUT_MS;
export const DEFAULT_COMMAND_RETRIES = cjs.DEFAULT_COMMAND_RETRIES;

export default cjs;
