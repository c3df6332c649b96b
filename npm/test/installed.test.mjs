// The installed `coreweave-mock` npm package, used as a user would: run by
// scripts/test-npm-package.sh with `node --test` in a fresh npm project.
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { ControlError, VerificationError, startMock } from "coreweave-mock";

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

test("verify counts matching calls and names the near misses", async () => {
  const mock = await startMock({}, { token });
  const vpcs = `${mock.endpoint}/v1beta1/networking/vpcs`;
  try {
    const create = (name) => fetch(vpcs, { method: "POST", headers, body: JSON.stringify({ name, zone: "US-EAST-04A" }) });
    await create("verified");
    await create("Not Valid!");
    assert.equal(await mock.control.verify("CreateVPC"), 2);
    assert.equal(await mock.control.verify("CreateVPC", { zone: "US-EAST-04A" }, { atLeast: 2 }), 2);
    assert.equal(await mock.control.verify("CreateVPC", undefined, { code: "INVALID_ARGUMENT", count: 1 }), 1);
    await assert.rejects(mock.control.verify("CreateVPC", { name: "verifyed" }, { code: "OK" }), (error) => {
      assert.ok(error instanceof VerificationError);
      assert.ok(error instanceof assert.AssertionError);
      assert.equal(error.matched, 0);
      assert.match(error.message, /differs at name: expected "verifyed", got "verified"/);
      assert.deepEqual(error.nearMisses[0].differences.map((d) => d.path), ["name"]);
      return true;
    });
    await assert.rejects(mock.control.verify("CreateVPC", undefined, { count: 1, atMost: 1 }), TypeError);
    await assert.rejects(mock.control.verify("CreateVPX"), (error) => error instanceof ControlError && error.status === 400);
  } finally {
    await mock.stop();
  }
});

test("the live stream sends calls as they are made; the overview shows the VPC", async () => {
  const mock = await startMock({}, { token });
  const vpcs = `${mock.endpoint}/v1beta1/networking/vpcs`;
  try {
    const stream = await mock.control.streamCalls({ method: "CreateVPC" });
    await fetch(vpcs, { headers });
    await fetch(vpcs, { method: "POST", headers, body: JSON.stringify({ name: "streamed", zone: "US-EAST-04A" }) });
    for await (const call of stream) {
      assert.deepEqual([call.method, call.request.name, call.code], ["CreateVPC", "streamed", "OK"]);
      break;
    }
    stream.close();
    const [org] = (await mock.control.overview()).organizations;
    assert.deepEqual(org.vpcs.map((vpc) => vpc.name), ["streamed"]);
  } finally {
    await mock.stop();
  }
});

test("a mock that cannot start rejects with its log", async () => {
  await assert.rejects(startMock({ seed: "/nonexistent/seed.json" }), /nonexistent\/seed\.json/);
});

test("npx coreweave-mock --version runs the binary", () => {
  const version = execFileSync("npx", ["--no-install", "coreweave-mock", "--version"], { encoding: "utf8" });
  assert.match(version, /^coreweave-mock \d+\.\d+\.\d+/);
});
