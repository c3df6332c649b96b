import { strict as assert } from "node:assert";
import { test } from "node:test";
import { startMock } from "coreweave-mock";

test("my code survives one failed ListVPCs", async () => {
  const mock = await startMock({ transitionDelay: "0s" }, { token: "CW-SECRET-my-test" });
  try {
    await mock.control.addFault("ListVPCs", "fail", { code: "UNAVAILABLE", times: 1 });
    // The code under test would be pointed at mock.endpoint; here it is fetch.
    const url = `${mock.endpoint}/v1beta1/networking/vpcs`;
    const headers = { authorization: "Bearer CW-SECRET-my-test" };
    assert.equal((await fetch(url, { headers })).status, 503);
    assert.deepEqual(await (await fetch(url, { headers })).json(), { items: [] });
    const calls = await mock.control.calls({ method: "ListVPCs" });
    assert.deepEqual(calls.calls.map((call) => call.code), ["UNAVAILABLE", "OK"]);
  } finally {
    await mock.stop();
  }
});
