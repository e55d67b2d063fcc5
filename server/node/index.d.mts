// Type declarations of the ES module entry point (index.mjs): the same
// names as the CommonJS module's, and the module itself as default.

export * from "./index.js";
import * as cjs from "./index.js";
export default cjs;
