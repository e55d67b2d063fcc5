// Type declarations of sioagent-server (index.js). README.md documents
// the behaviour.

import type { EventEmitter } from "node:events";
import type { Namespace, Server, Socket } from "socket.io";

/** The handshake of a socket (socket.handshake). */
export type Handshake = Socket["handshake"];

/** A resolved SenML record (RFC 8428 section 5 labels), times absolute in seconds. */
export interface SenMLRecord {
  /** Full name: base name + name, e.g. "pi-7:greenhouse/temperature". */
  n: string;
  /** Unit (SenML units registry), e.g. "Cel". */
  u?: string;
  /** Numeric value (base value applied). */
  v?: number;
  /** String value. */
  vs?: string;
  /** Boolean value. */
  vb?: boolean;
  /** Data value, base64url without padding. */
  vd?: string;
  /** Sum (base sum applied). */
  s?: number;
  /** Time, seconds since the Unix epoch; relative times resolved against the receive time. */
  t: number;
  /** Update time, seconds. */
  ut?: number;
}

/** The first argument of a telemetry event (docs/PROTOCOL.md section 2). */
export interface TelemetryHeader {
  deviceId: string;
  seq: number;
  count: number;
  contentType: "application/senml+cbor";
  /** "uncertain" when some times could not be checked against a synchronised clock. */
  clock?: string;
  /** The seq of the dead letter this batch was requeued from. */
  replaces?: number;
  [member: string]: unknown;
}

/** What onTelemetry receives: one decoded batch. */
export interface TelemetryBatch<A = unknown> {
  deviceId: string;
  seq: number;
  records: SenMLRecord[];
  header: TelemetryHeader;
  /** When the event arrived; relative times were resolved against it. */
  receivedAt: Date;
  /** What authenticate resolved with for this connection. */
  auth: A;
}

/** The lease answer of a dedupe store. */
export type AcquireResult = { status: "acquired"; token: string } | { status: "busy" } | { status: "done" };

/** The dedupe store contract (lib/stores/contract.js). */
export interface DedupeStore {
  acquire(deviceId: string, seq: number, ttlMs: number): Promise<AcquireResult>;
  renew(deviceId: string, seq: number, token: string, ttlMs: number): Promise<boolean>;
  release(deviceId: string, seq: number, token: string): Promise<boolean>;
  complete(deviceId: string, seq: number, token?: string): Promise<void>;
}

export interface MemoryDedupeStoreOptions {
  /** Bound on the entries kept (default DEFAULT_MAX_ENTRIES). */
  maxEntries?: number;
  /** How long a done-mark is kept, ms (default DEFAULT_RETENTION_MS). */
  retentionMs?: number;
  /** The clock, ms (default Date.now). */
  now?: () => number;
}

/** A dedupe store in this process's memory: one node only. */
export class MemoryDedupeStore implements DedupeStore {
  constructor(options?: MemoryDedupeStoreOptions);
  readonly maxEntries: number;
  readonly retentionMs: number;
  readonly size: number;
  acquire(deviceId: string, seq: number, ttlMs: number): Promise<AcquireResult>;
  renew(deviceId: string, seq: number, token: string, ttlMs: number): Promise<boolean>;
  release(deviceId: string, seq: number, token: string): Promise<boolean>;
  complete(deviceId: string, seq: number, token?: string): Promise<void>;
}

/** The part of a node-redis (v4+) client the Redis store uses. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
}
/** The part of an ioredis client (Redis or Cluster) the Redis store uses. */
export interface IORedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  defineCommand(...args: any[]): unknown;
}

export interface RedisDedupeStoreOptions {
  /** Key prefix (default DEFAULT_REDIS_PREFIX). */
  prefix?: string;
  /** How long a done-mark is kept, ms, rounded up to seconds (default DEFAULT_RETENTION_MS). */
  retentionMs?: number;
}

/** A dedupe store in Redis, shared by every node of a cluster. */
export class RedisDedupeStore implements DedupeStore {
  constructor(client: NodeRedisLike | IORedisLike, options?: RedisDedupeStoreOptions);
  readonly prefix: string;
  readonly retentionMs: number;
  acquire(deviceId: string, seq: number, ttlMs: number): Promise<AcquireResult>;
  renew(deviceId: string, seq: number, token: string, ttlMs: number): Promise<boolean>;
  release(deviceId: string, seq: number, token: string): Promise<boolean>;
  complete(deviceId: string, seq: number, token?: string): Promise<void>;
}

export interface AttachOptions<A = unknown> {
  /** Resolve to accept (with {deviceId} to set the device's id), throw an Error with data to refuse. */
  authenticate(auth: Record<string, unknown>, handshake: Handshake): A | Promise<A>;
  /** Store the batch; the device is acked {ok: true} once this resolves. */
  onTelemetry(batch: TelemetryBatch<A>): unknown | Promise<unknown>;
  /** The dedupe store (default: a new MemoryDedupeStore). */
  dedupe?: DedupeStore;
  /** The lease's time to live, ms (default DEFAULT_LEASE_TTL_MS). */
  leaseTtlMs?: number;
  /** The telemetry event's name (default DEFAULT_TELEMETRY_EVENT). */
  event?: string;
}

export interface CommandOptions {
  /** Ms one attempt waits for the ack (default DEFAULT_COMMAND_TIMEOUT_MS). */
  timeout?: number;
  /** Attempts after a timeout, with the same id (default DEFAULT_COMMAND_RETRIES). */
  retries?: number;
  /** The command id the agent dedupes on (default: args.id, else a new UUID). */
  id?: string;
}

export interface ConnectEvent<A = unknown> {
  deviceId: string;
  socket: Socket;
  auth: A;
}
export interface DisconnectEvent {
  deviceId: string;
  socket: Socket;
  reason: string;
}
export interface Warning {
  message: string;
  deviceId?: string;
  seq?: number;
  socketId?: string;
  error?: unknown;
}

/** What attach() returns: commands, presence and events of the devices of one namespace. */
export class Devices<A = unknown> extends EventEmitter {
  constructor(nsp: Namespace);
  readonly nsp: Namespace;
  /** Sends a command and resolves with the agent's result; rejects with a CommandError. */
  command<R = unknown>(deviceId: string, name: string, args?: Record<string, unknown>, opts?: CommandOptions): Promise<R>;
  /** Whether some socket of the device is connected, on any node. */
  online(deviceId: string): Promise<boolean>;
  /** The device's room: "device:<deviceId>". */
  room(deviceId: string): string;
  on(event: "connect", listener: (e: ConnectEvent<A>) => void): this;
  on(event: "disconnect", listener: (e: DisconnectEvent) => void): this;
  on(event: "warning", listener: (w: Warning) => void): this;
  once(event: "connect", listener: (e: ConnectEvent<A>) => void): this;
  once(event: "disconnect", listener: (e: DisconnectEvent) => void): this;
  once(event: "warning", listener: (w: Warning) => void): this;
}

/** Puts the sioagent wire contract on a socket.io Server (its "/" namespace) or Namespace. */
export function attach<A = unknown>(ioOrNamespace: Server | Namespace, options: AttachOptions<A>): Devices<A>;

/** Refuses a device in authenticate(): CONNECT_ERROR {message, data}. */
export class ConnectError extends Error {
  constructor(message: string, data?: unknown);
  data: unknown;
}

/** Refuses a batch in onTelemetry(): {ok: false, error: {code, message, permanent}}. */
export class TelemetryError extends Error {
  constructor(code: string, message: string, options?: { permanent?: boolean });
  code: string;
  permanent: boolean;
}

/** The rejection of Devices.command(). */
export class CommandError extends Error {
  constructor(code: string, message: string, meta?: { deviceId?: string; command?: string; id?: string; attempts?: number; fromAgent?: boolean });
  /** "offline", "timeout", "bad_ack", or the agent's code. */
  code: string;
  deviceId: string;
  command: string;
  id: string;
  attempts: number;
  /** True for the agent's own answers (its "timeout" included). */
  fromAgent: boolean;
}

/** A pack that does not decode. */
export class PackError extends Error {}

/** The error codes of telemetry acks and command errors. */
export const codes: {
  readonly BAD_REQUEST: "bad_request";
  readonly BUSY: "busy";
  readonly FAILED: "failed";
  readonly OFFLINE: "offline";
  readonly TIMEOUT: "timeout";
  readonly BAD_ACK: "bad_ack";
};

/** Decodes a SenML CBOR pack; relative times resolve against receivedAtMs (default now). */
export function decodePack(pack: Uint8Array, receivedAtMs?: number): SenMLRecord[];
/** Strips "<deviceId>:" from a record name. */
export function shortName(name: string, deviceId: string): string;
/** The device's room: "device:<deviceId>". */
export function deviceRoom(deviceId: string): string;

export const SENML_CBOR: "application/senml+cbor";
export const CLOCK_UNCERTAIN: "uncertain";
export const DEFAULT_TELEMETRY_EVENT: "telemetry";
export const DEFAULT_LEASE_TTL_MS: number;
export const DEFAULT_RETENTION_MS: number;
export const DEFAULT_MAX_ENTRIES: number;
export const DEFAULT_REDIS_PREFIX: string;
export const DEFAULT_COMMAND_TIMEOUT_MS: number;
export const DEFAULT_COMMAND_RETRIES: number;
