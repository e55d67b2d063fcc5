"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { decodePack, shortName, PackError } = require("..");
const { agentPack, encode } = require("./helpers/pack");

const unhex = (...lines) => Buffer.from(lines.join("").replace(/\s+/g, ""), "hex");

// The hex dump printed in RFC 8428 section 6, copied from
// protocol/senml/rfc8428_cbor_test.go (rfc8428Section6Dump).
const RFC_DUMP = unhex(
  "87 a7 21 78 1b 75 72 6e 3a 64 65 76 3a 6f 77 3a",
  "31 30 65 32 30 37 33 61 30 31 30 38 30 30 36 3a",
  "22 fb 41 d3 03 a1 5b 00 10 62 23 61 41 20 05 00",
  "67 76 6f 6c 74 61 67 65 01 61 56 02 fb 40 5e 06",
  "66 66 66 66 66 a3 00 67 63 75 72 72 65 6e 74 06",
  "24 02 fb 3f f3 33 33 33 33 33 33 a3 00 67 63 75",
  "72 72 65 6e 74 06 23 02 fb 3f f4 cc cc cc cc cc",
  "cd a3 00 67 63 75 72 72 65 6e 74 06 22 02 fb 3f",
  "f6 66 66 66 66 66 66 a3 00 67 63 75 72 72 65 6e",
  "74 06 21 02 f9 3e 00 a3 00 67 63 75 72 72 65 6e",
  "74 06 20 02 fb 3f f9 99 99 99 99 99 9a a3 00 67",
  "63 75 72 72 65 6e 74 06 00 02 fb 3f fb 33 33 33",
  "33 33 33",
);

// What the agent's Go encoder makes of the same records (ourSection6Hex
// in the same file): core deterministic key order, no zero t.
const CURRENT = "67 63757272656e74";
const GO_ENCODED = unhex(
  "87",
  "a7 00 67 766f6c74616765 01 6156 02 fb405e066666666666 20 05" +
    " 21 781b 75726e3a6465763a6f773a3130653230373361303130383030363a" +
    " 22 fb41d303a15b001062 23 6141",
  `a3 00 ${CURRENT} 02 fb3ff3333333333333 06 24`,
  `a3 00 ${CURRENT} 02 fb3ff4cccccccccccd 06 23`,
  `a3 00 ${CURRENT} 02 fb3ff6666666666666 06 22`,
  `a3 00 ${CURRENT} 02 f93e00 06 21`,
  `a3 00 ${CURRENT} 02 fb3ff999999999999a 06 20`,
  `a2 00 ${CURRENT} 02 fb3ffb333333333333`,
);

const BN = "urn:dev:ow:10e2073a0108006:";
const BT = 1.276020076001e9;

for (const [name, bytes] of [["the RFC's dump", RFC_DUMP], ["the Go encoder's bytes", GO_ENCODED]]) {
  test(`RFC 8428 section 6: ${name} resolve to the RFC's values`, () => {
    const recs = decodePack(bytes, 0);
    assert.equal(recs.length, 7);
    assert.deepEqual(recs[0], { n: `${BN}voltage`, u: "V", v: 120.1, t: BT });
    [1.2, 1.3, 1.4, 1.5, 1.6, 1.7].forEach((v, i) => {
      assert.deepEqual(recs[i + 1], { n: `${BN}current`, u: "A", v, t: BT + (i - 5) });
    });
  });
}

test("an agent pack with absolute times resolves against its base time", () => {
  const pack = agentPack("pi-7", [
    { name: "greenhouse/temperature", unit: "Cel", value: 21.5, time: 1764100000.25 },
    { name: "greenhouse/humidity", unit: "%RH", value: 48.25, time: 1764100000.25 },
    { name: "counter/value", value: 12, time: 1764100001.25 },
  ]);
  assert.deepEqual(decodePack(pack, 0), [
    { n: "pi-7:greenhouse/temperature", u: "Cel", v: 21.5, t: 1764100000.25 },
    { n: "pi-7:greenhouse/humidity", u: "%RH", v: 48.25, t: 1764100000.25 },
    { n: "pi-7:counter/value", v: 12, t: 1764100001.25 },
  ]);
});

test("relative times (no bt, negative t) resolve against the receive time", () => {
  const pack = agentPack("pi-7", [
    { name: "a/v", value: 1, time: -2.5 },
    { name: "a/v", value: 2, time: -0.001 },
  ], { relative: true });
  const receivedAt = 1764100000000;
  const recs = decodePack(pack, receivedAt);
  assert.equal(recs[0].t, 1764099997.5);
  assert.equal(recs[1].t, 1764099999.999);
});

test("base value, base sum, vs, vb, vd and unknown labels", () => {
  const pack = encode([
    new Map([[-2, "d:"], [-3, 1764100000], [-5, 10], [-6, 100], [0, "x"], [2, 1.5], [99, "ignored"], ["extra", 1]]),
    new Map([[0, "s"], [3, "text"]]),
    new Map([[0, "b"], [4, true]]),
    new Map([[0, "d"], [8, Buffer.from([0xfb, 0xff])]]),
    new Map([[0, "sum"], [5, 1], [7, 60]]),
  ]);
  assert.deepEqual(decodePack(pack, 0), [
    { n: "d:x", v: 11.5, t: 1764100000 },
    { n: "d:s", vs: "text", t: 1764100000 },
    { n: "d:b", vb: true, t: 1764100000 },
    { n: "d:d", vd: "-_8", t: 1764100000 },
    { n: "d:sum", s: 101, ut: 60, t: 1764100000 },
  ]);
});

test("invalid packs throw a PackError saying why", () => {
  const cases = [
    [Buffer.alloc(0), /empty pack/],
    [Buffer.from([0xff]), /CBOR/],
    [Buffer.concat([encode([new Map([[0, "a"], [2, 1]])]), Buffer.from([0])]), /CBOR/],
    [encode({ a: 1 }), /not a CBOR array/],
    [encode([]), /empty pack/],
    [encode([1]), /record 0 is not a map/],
    [encode([new Map([[0, "a"]])]), /no value or sum/],
    [encode([new Map([[0, "a"], [2, 1], [3, "x"]])]), /2 value fields/],
    [encode([new Map([[0, "-bad"], [2, 1]])]), /invalid name/],
    [encode([new Map([[0, "a"], [2, "1"]])]), /label v is not a number/],
    [encode([new Map([[0, "a"], [2, 1], ["crit_", 1]])]), /must-understand/],
    [encode([new Map([[-1, 11], [0, "a"], [2, 1]])]), /bver 11/],
    [encode([new Map(Array.from({ length: 65 }, (_, i) => [100 + i, 0]))]), /65 labels/],
  ];
  for (const [bytes, want] of cases) {
    assert.throws(() => decodePack(bytes, 0), (err) => err instanceof PackError && want.test(err.message), `${bytes.toString("hex")}`);
  }
  assert.throws(() => decodePack("not bytes"), PackError);
});

test("shortName strips the device's base name", () => {
  assert.equal(shortName("pi-7:greenhouse/temperature", "pi-7"), "greenhouse/temperature");
  assert.equal(shortName("other:x", "pi-7"), "other:x");
});
