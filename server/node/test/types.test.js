"use strict";

// index.d.ts and index.d.mts compile, and fit a server author's code
// (test/types/usage.*: strict mode, CommonJS and ES module consumers).

const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

// TSC_TIMEOUT_MS bounds the compiler's run.
const TSC_TIMEOUT_MS = 60000;

test("the type declarations compile against the usage examples", () => {
  const tsc = require.resolve("typescript/bin/tsc");
  const project = path.join(__dirname, "types", "tsconfig.json");
  try {
    execFileSync(process.execPath, [tsc, "-p", project], { encoding: "utf8", timeout: TSC_TIMEOUT_MS });
  } catch (err) {
    assert.fail(`tsc -p ${project}:\n${err.stdout || ""}${err.stderr || ""}${err.stdout || err.stderr ? "" : err.message}`);
  }
});
