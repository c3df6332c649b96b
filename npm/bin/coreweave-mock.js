#!/usr/bin/env node
// `npx coreweave-mock ARGS`: runs the native binary shipped in this package with ARGS,
// passing its exit code (or signal) through.
import { spawnSync } from "node:child_process";
import { binaryPath } from "../index.js";

const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  console.error(`coreweave-mock: ${result.error.message}`);
  process.exit(127);
}
if (result.signal) {
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 1);
