// The CONNECT check: a namespace middleware that runs the user's
// authenticate(auth, handshake) and decides the device id of the socket.

"use strict";

const codes = require("./codes");
const { ConnectError } = require("./errors");

// MAX_DEVICE_ID_LENGTH bounds a device id (the agent allows 64 characters).
const MAX_DEVICE_ID_LENGTH = 128;

// isDeviceId reports whether v can be a device id.
function isDeviceId(v) {
  return typeof v === "string" && v.length >= 1 && v.length <= MAX_DEVICE_ID_LENGTH;
}

// deviceIdOf decides the device id: the one authenticate resolved with
// ({deviceId}: the credential's device), else the one the device claims in
// its auth. It throws a ConnectError when there is none, or when the two
// disagree.
function deviceIdOf(accepted, auth) {
  const claimed = auth && typeof auth === "object" ? auth.deviceId : undefined;
  const granted = accepted && typeof accepted === "object" ? accepted.deviceId : undefined;
  if (granted !== undefined) {
    if (!isDeviceId(granted)) throw new TypeError(`authenticate resolved with a deviceId that is not a string of 1 to ${MAX_DEVICE_ID_LENGTH} characters`);
    if (claimed !== undefined && claimed !== granted) {
      throw new ConnectError("deviceId does not match the credential", { code: codes.BAD_REQUEST, message: `auth deviceId ${JSON.stringify(claimed)} is not the credential's device` });
    }
    return granted;
  }
  if (!isDeviceId(claimed)) {
    throw new ConnectError("missing deviceId", { code: codes.BAD_REQUEST, message: `auth deviceId must be a string of 1 to ${MAX_DEVICE_ID_LENGTH} characters` });
  }
  return claimed;
}

// connectError makes what authenticate threw fit for next(): an Error
// (with its data, when it has some, which the device receives).
function connectError(err) {
  if (err instanceof Error) return err;
  return new Error(typeof err === "string" ? err : "refused");
}

// authMiddleware returns the namespace middleware: it awaits
// authenticate(auth, handshake); a resolution accepts the device (its id
// and the resolved value go to socket.data.sioagent = {deviceId, auth}), a
// rejection refuses it with CONNECT_ERROR {message, data}.
function authMiddleware(authenticate) {
  return async (socket, next) => {
    const { auth } = socket.handshake;
    let accepted;
    try {
      accepted = await authenticate(auth, socket.handshake);
    } catch (err) {
      next(connectError(err));
      return;
    }
    let deviceId;
    try {
      deviceId = deviceIdOf(accepted, auth);
    } catch (err) {
      next(err);
      return;
    }
    socket.data.sioagent = { deviceId, auth: accepted };
    next();
  };
}

module.exports = { MAX_DEVICE_ID_LENGTH, authMiddleware, deviceIdOf };
