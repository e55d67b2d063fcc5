// The error classes of the package: what an authenticate or onTelemetry
// function may throw to choose what the device is told, and what
// devices.command() rejects with.

"use strict";

const codes = require("./codes");

// MAX_ERROR_MESSAGE_LENGTH bounds the message of an error ack, so that a
// handler's long error (a stack, a query) is not sent to the device whole.
const MAX_ERROR_MESSAGE_LENGTH = 512;

// ConnectError refuses a device in authenticate(): the device gets
// CONNECT_ERROR {message, data}. Any Error with a data property does the
// same; this class only spells it.
class ConnectError extends Error {
  constructor(message, data) {
    super(message);
    this.name = "ConnectError";
    this.data = data;
  }
}

// TelemetryError refuses a batch in onTelemetry(): the device gets
// {ok: false, error: {code, message, permanent}}. Any Error with code and
// permanent properties does the same; this class only spells it.
// A transient error (the default) makes the device send the batch again
// later, without limit; a permanent one makes it give up after a few tries
// and keep the batch as a dead letter.
class TelemetryError extends Error {
  constructor(code, message, { permanent = false } = {}) {
    super(message);
    this.name = "TelemetryError";
    this.code = code;
    this.permanent = permanent === true;
  }
}

// CommandError is the rejection of devices.command(): code is "offline",
// "timeout", "bad_ack" or the agent's error code; fromAgent tells the
// agent's answers (which include its own "timeout") from the server's
// conclusions.
class CommandError extends Error {
  constructor(code, message, { deviceId, command, id, attempts, fromAgent = false } = {}) {
    super(message);
    this.name = "CommandError";
    this.code = code;
    this.deviceId = deviceId;
    this.command = command;
    this.id = id;
    this.attempts = attempts;
    this.fromAgent = fromAgent;
  }
}

// truncate bounds a message to MAX_ERROR_MESSAGE_LENGTH characters.
function truncate(message) {
  return message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : message;
}

// errorAck turns what a telemetry handler threw into the error ack: the
// error's string code (default "failed"), its message, and permanent only
// when the error says permanent === true.
function errorAck(err) {
  const code = err && typeof err.code === "string" && err.code !== "" ? err.code : codes.FAILED;
  const message = err && typeof err.message === "string" ? err.message : String(err);
  return { ok: false, error: { code, message: truncate(message), permanent: Boolean(err && err.permanent === true) } };
}

// refusal is an error ack the package itself chose.
function refusal(code, message, permanent) {
  return { ok: false, error: { code, message: truncate(message), permanent } };
}

module.exports = { ConnectError, TelemetryError, CommandError, errorAck, refusal, MAX_ERROR_MESSAGE_LENGTH };
