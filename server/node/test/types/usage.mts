// Compiled (not run) by test/types.test.js: the declarations as an ES
// module server author would use them.

import { createServer } from "node:http";
import { Server } from "socket.io";
import sioagent, { attach, CommandError, RedisDedupeStore, TelemetryError, type TelemetryBatch } from "sioagent-server";

const io = new Server(createServer());
const devices = attach(io.of("/devices"), {
  async authenticate(auth) {
    if (auth.token !== "s3cret") throw new sioagent.ConnectError("invalid token", { code: "bad_token" });
    return { deviceId: "pi-7", tenant: "acme" };
  },
  async onTelemetry(batch: TelemetryBatch<{ deviceId: string; tenant: string }>) {
    const tenant: string = batch.auth.tenant;
    for (const r of batch.records) {
      const value: number | undefined = r.v;
      const at: number = r.t;
      void [tenant, value, at];
    }
    if (batch.header.clock === sioagent.CLOCK_UNCERTAIN) throw new TelemetryError("later", "not now");
  },
  dedupe: new RedisDedupeStore({ sendCommand: async (args: string[]) => args }),
  leaseTtlMs: 30_000,
});

devices.on("connect", ({ deviceId, socket, auth }) => void [deviceId, socket.id, auth.tenant]);
devices.on("warning", (w) => console.warn(w.message, w.deviceId, w.seq));

export async function ping(): Promise<boolean> {
  try {
    const r = await devices.command<{ pong: boolean }>("pi-7", "agent:ping", {}, { timeout: 5000, retries: 1 });
    return r.pong && (await devices.online("pi-7"));
  } catch (err) {
    if (err instanceof CommandError && err.code === sioagent.codes.OFFLINE) return false;
    throw err;
  }
}
