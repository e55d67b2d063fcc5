// Devices: what attach() returns, the server's handle on its devices:
// commands, presence, and events.

"use strict";

const { EventEmitter } = require("node:events");
const { sendCommand } = require("./commands");
const { deviceRoom } = require("./rooms");

// Devices is an EventEmitter of
//   "connect"     {deviceId, socket, auth}: a device socket connected to
//                 this node (auth is what authenticate resolved with)
//   "disconnect"  {deviceId, socket, reason}: it disconnected
//   "warning"     {message, deviceId, seq?, error?}: something went wrong
//                 that the device was not told about (a lease lost, a
//                 store failure after the handler ran); never "error", so
//                 an unheard warning cannot crash the process
// Events are per node: each node reports its own sockets.
class Devices extends EventEmitter {
  // nsp is the Socket.IO namespace the devices connect to.
  constructor(nsp) {
    super();
    this.nsp = nsp;
  }

  // command sends the command name with args to deviceId, on whichever
  // node holds its socket, and resolves with the agent's result, or
  // rejects with a CommandError (code "offline", "timeout", "bad_ack" or
  // the agent's). opts: timeout (ms per attempt), retries (attempts after
  // a timeout, with the same id), id (default: args.id, else a new UUID).
  command(deviceId, name, args = {}, opts = {}) {
    return sendCommand(this.nsp, deviceId, name, args, opts);
  }

  // online resolves with whether some socket of deviceId is connected, on
  // any node of the cluster (fetchSockets() through the adapter).
  async online(deviceId) {
    const sockets = await this.nsp.in(deviceRoom(deviceId)).fetchSockets();
    return sockets.length > 0;
  }

  // room returns the Socket.IO room every socket of deviceId joins:
  // "device:<deviceId>".
  room(deviceId) {
    return deviceRoom(deviceId);
  }

  // warn emits a "warning" event.
  warn(warning) {
    this.emit("warning", warning);
  }
}

module.exports = { Devices };
