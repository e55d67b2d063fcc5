// Compiled (not run) by test/types.test.js: the declarations from
// CommonJS.

import sioagent = require("sioagent-server");
import { Server } from "socket.io";

const store = new sioagent.MemoryDedupeStore({ maxEntries: 10, retentionMs: 60_000 });
const devices = sioagent.attach(new Server(), {
  authenticate: async () => true,
  onTelemetry: async ({ deviceId, seq, records, receivedAt }) => {
    const d: string = deviceId;
    const s: number = seq;
    const t: Date = receivedAt;
    const names: string[] = records.map((r) => sioagent.shortName(r.n, deviceId));
    void [d, s, t, names];
  },
  dedupe: store,
});
const room: string = devices.room("pi-7");
const recs: sioagent.SenMLRecord[] = sioagent.decodePack(new Uint8Array([0x80]), Date.now());
void [room, recs];

// @ts-expect-error onTelemetry is required
sioagent.attach(new Server(), { authenticate: async () => true });
