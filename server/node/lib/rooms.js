// The room every socket of a device joins, on whichever node it is
// connected: commands and presence address the device through it.

"use strict";

// ROOM_PREFIX starts the room name of every device.
const ROOM_PREFIX = "device:";

// deviceRoom returns the room of deviceId: "device:<deviceId>".
function deviceRoom(deviceId) {
  return ROOM_PREFIX + deviceId;
}

module.exports = { ROOM_PREFIX, deviceRoom };
