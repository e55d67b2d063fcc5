// The package loads as an ES module with the same exports, and the same
// objects, as through require().

import test from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import * as esm from "sioagent-server";

const require = createRequire(import.meta.url);

test("import and require give the same exports", () => {
  const cjs = require("sioagent-server");
  const names = Object.keys(esm).filter((k) => k !== "default").sort();
  assert.deepEqual(names, Object.keys(cjs).sort());
  for (const name of names) assert.equal(esm[name], cjs[name], name);
  assert.equal(esm.default, cjs);
  assert.equal(typeof esm.attach, "function");
});
