// The installed `coreweave-mock` npm package, used as a user would: run by
// scripts/test-npm-package.sh with `node --test` in a fresh npm project.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { ControlError, startMock } from "coreweave-mock";

const token = "CW-SECRET-node-test";
const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

test("startMock serves REST; its control scripts faults; stop leaves no process", async () => {
  const mock = await startMock({ transitionDelay: "0s" }, { token });
  const vpcs = `${mock.endpoint}/v1beta1/networking/vpcs`;
  try {
    const created = await fetch(vpcs, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "from-node", zone: "US-EAST-04A" }),
    });
    assert.equal(created.status, 200);
    const listed = await (await fetch(vpcs, { headers })).json();
    assert.deepEqual(listed.items.map((vpc) => vpc.name), ["from-node"]);

    const fault = await mock.control.addFault("ListVPCs", "fail", { code: "UNAVAILABLE", times: 1 });
    assert.equal(fault.remaining, 1);
    assert.equal((await fetch(vpcs, { headers })).status, 503);
    assert.equal((await fetch(vpcs, { headers })).status, 200, "the fault fired once");

    await assert.rejects(mock.control.addFault("NoSuchMethod", "fail"), (error) => {
      assert.ok(error instanceof ControlError);
      assert.equal(error.status, 400);
      return true;
    });
  } finally {
    await mock.stop();
  }
  assert.notEqual(mock.process.exitCode ?? mock.process.signalCode, null, "the process ended");
  assert.throws(() => process.kill(mock.process.pid, 0), "no process is left behind");
});

test("a mock that cannot start rejects with its log", async () => {
  await assert.rejects(startMock({ seed: "/nonexistent/seed.json" }), /nonexistent\/seed\.json/);
});

test("npx coreweave-mock --version runs the binary", () => {
  const version = execFileSync("npx", ["--no-install", "coreweave-mock", "--version"], { encoding: "utf8" });
  assert.match(version, /^coreweave-mock \d+\.\d+\.\d+/);
});
