// The CoreWeave API mock for Node.js tests: `startMock()` runs the native binary shipped in
// this package on a free port and returns its endpoint, a control client and `stop()`.
import { AssertionError } from "node:assert";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const KEPT_LOG_LINES = 200;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/** The native `coreweave-mock` binary in this package. */
export function binaryPath() {
  const binary = join(here, "native", "coreweave-mock");
  if (!existsSync(binary)) {
    throw new Error(`no coreweave-mock binary at ${binary}; this package carries linux-x64 only`);
  }
  return binary;
}

/** `{ transitionDelay: "0s", zone: ["US-EAST-04A"], strictJson: true }` as the binary's flags. */
function flags(options) {
  const args = [];
  for (const [name, value] of Object.entries(options)) {
    const flag = "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === true) args.push(flag);
      else if (item !== false && item !== undefined && item !== null) args.push(flag, String(item));
    }
  }
  return args;
}

/** A refused control call: `status` is the HTTP status, `message` the mock's reason. */
export class ControlError extends Error {
  constructor(status, message, answer = null) {
    super(`HTTP ${status}: ${message}`);
    this.name = "ControlError";
    this.status = status;
    this.answer = answer;
  }
}

/** Calls a test expected were not made: `message` is the mock's one line, `matched` how many
 * calls matched, `nearMisses` up to three calls of the method that came closest, each
 * `{ call, differences: [{ path, expected, actual }] }`. An `AssertionError`, as node:test
 * and other runners report failed expectations. */
export class VerificationError extends AssertionError {
  constructor(answer) {
    super({ message: answer.message });
    this.name = "VerificationError";
    this.matched = answer.matched;
    this.nearMisses = answer.nearMisses;
    this.expected = answer.expected;
  }
}

/** The control API of a running mock, acting on `token`'s organization (or, without a token,
 * on the whole server, which only a mock without --token allows). */
export class Control {
  constructor(endpoint, token) {
    this.endpoint = endpoint.replace(/\/$/, "");
    this.token = token;
  }

  reset() { return this.#call("POST", "/reset"); }
  async whoami() { return (await this.#call("GET", "/whoami")).organizationId; }
  clock() { return this.#call("GET", "/clock"); }
  advanceClock(by) { return this.#call("POST", "/clock/advance", { by }); }
  async addFault(method, kind, { code, times, delay, message } = {}) {
    const body = Object.fromEntries(
      Object.entries({ method, kind, code, times, delay, message }).filter(([, v]) => v !== undefined),
    );
    return (await this.#call("POST", "/faults", body)).fault;
  }
  async faults() { return (await this.#call("GET", "/faults")).faults; }
  clearFaults() { return this.#call("DELETE", "/faults"); }
  calls({ method, code, limit, after } = {}) {
    const query = new URLSearchParams(
      Object.entries({ method, code, limit, after }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
    ).toString();
    return this.#call("GET", "/calls" + (query ? `?${query}` : ""));
  }
  /** Checks that calls of `method` whose request contains `request` (a partial request,
   * matched as a subset) and that ended with `code` were made: exactly `count` times, or
   * `atLeast` / `atMost` (at least once when none is given). Resolves to how many matched;
   * rejects with a `VerificationError` naming the near misses when they were not. */
  async verify(method, request, { code, count, atLeast, atMost } = {}) {
    const counts = Object.entries({ count, atLeast, atMost }).filter(([, n]) => n !== undefined);
    if (counts.length > 1) {
      throw new TypeError(`give one of count, atLeast and atMost, not ${counts.map(([name]) => name).join(", ")}`);
    }
    const body = { method };
    if (request !== undefined) body.request = request;
    if (code !== undefined) body.code = code;
    if (count !== undefined) body.count = count;
    else if (atLeast !== undefined) body.count = { atLeast };
    else if (atMost !== undefined) body.count = { atMost };
    try {
      return (await this.#call("POST", "/verify", body)).matched;
    } catch (error) {
      if (error instanceof ControlError && error.status === 417 && error.answer) {
        throw new VerificationError(error.answer);
      }
      throw error;
    }
  }
  /** Each organization in scope with its VPCs and gateways as a read shows them, its clock
   * and its faults. */
  overview() { return this.#call("GET", "/overview"); }
  /** The calls made in scope from now on, as they are made. Resolves once connected (so no
   * later call is missed) to an async iterable of calls, as `calls()` lists them, with
   * `close()`. */
  async streamCalls({ method, code } = {}) {
    const query = new URLSearchParams(
      Object.entries({ method, code }).filter(([, v]) => v !== undefined),
    ).toString();
    const controller = new AbortController();
    const url = `${this.endpoint}/_mock/v1/calls/stream${query ? `?${query}` : ""}`;
    const response = await fetch(url, { headers: this.#scope(), signal: controller.signal });
    if (!response.ok) {
      const text = await response.text();
      const json = text.trim() ? JSON.parse(text) : null;
      throw new ControlError(response.status, json?.message ?? text, json);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    return {
      async *[Symbol.asyncIterator]() {
        let buffer = "";
        for (;;) {
          let end;
          while ((end = buffer.indexOf("\n\n")) < 0) {
            const { value, done } = await reader.read().catch(() => ({ done: true }));
            if (done) return;
            buffer += value;
          }
          const lines = buffer.slice(0, end).split("\n");
          buffer = buffer.slice(end + 2);
          const event = lines.find((line) => line.startsWith("event:"))?.slice(6).trim();
          const data = lines.filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trimStart());
          if (event === "call") yield JSON.parse(data.join("\n"));
        }
      },
      close() { controller.abort(); },
    };
  }
  state() { return this.#call("GET", "/state"); }
  loadState(snapshot) { return this.#call("PUT", "/state", snapshot); }
  setStatus(id, status, message = "") { return this.#call("POST", `/resources/${id}/status`, { status, message }); }
  hold(id, on = true) { return this.#call("POST", `/resources/${id}/status`, { hold: on }); }

  #scope() {
    return this.token === undefined ? { "x-mock-scope": "server" } : { authorization: `Bearer ${this.token}` };
  }

  async #call(method, path, body) {
    const headers = { accept: "application/json", ...this.#scope() };
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${this.endpoint}/_mock/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text.trim() ? JSON.parse(text) : null;
    if (!response.ok) throw new ControlError(response.status, json?.message ?? text, json);
    return json;
  }
}

/** Starts the mock on 127.0.0.1:0 with `options` as flags; resolves once it listens. */
export function startMock(options = {}, { token, binary = binaryPath() } = {}) {
  const args = ["--listen", "127.0.0.1:0", ...flags(options)];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const log = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    log.push(line);
    if (log.length > KEPT_LOG_LINES) log.shift();
  });
  const failure = (what) => new Error([`${what} (${binary} ${args.join(" ")}); its log:`, ...log].join("\n  "));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(failure(`the mock did not listen within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(failure(`the mock did not start: ${error.message}`));
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(failure(`the mock exited with ${code} before listening`));
    });
    createInterface({ input: child.stdout }).once("line", (line) => {
      clearTimeout(timer);
      child.removeAllListeners("exit");
      let endpoint;
      try {
        endpoint = `http://${JSON.parse(line).addr}`;
      } catch {
        child.kill("SIGKILL");
        reject(failure(`the mock printed ${JSON.stringify(line)} instead of its listening line`));
        return;
      }
      const exited = new Promise((done) => child.once("exit", done));
      resolve({
        endpoint,
        control: new Control(endpoint, token),
        process: child,
        log: () => [...log],
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill("SIGTERM");
          const grace = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
          await exited;
          clearTimeout(grace);
        },
      });
    });
  });
}
