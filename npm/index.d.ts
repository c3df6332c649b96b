import { AssertionError } from "node:assert";

/** Flags for the mock binary, in camelCase: `{ transitionDelay: "0s", clock: "frozen" }`. */
export type MockOptions = Record<string, string | number | boolean | Array<string | number>>;

/** A refused control call. */
export declare class ControlError extends Error {
  readonly status: number;
  /** The mock's JSON answer, when it sent one. */
  readonly answer: Record<string, unknown> | null;
}

/** Where a call differs from an expectation. */
export interface Difference {
  path: string;
  expected: unknown;
  actual: unknown;
}

/** Calls a test expected were not made; `message` is the mock's one line. */
export declare class VerificationError extends AssertionError {
  readonly matched: number;
  readonly nearMisses: Array<{ call: Record<string, unknown>; differences: Difference[] }>;
  readonly expected: Record<string, unknown>;
}

/** The control API of a running mock, acting on one token's organization. */
export declare class Control {
  constructor(endpoint: string, token?: string);
  readonly endpoint: string;
  readonly token: string | undefined;
  reset(): Promise<unknown>;
  whoami(): Promise<string>;
  clock(): Promise<{ now: string; frozen: boolean }>;
  advanceClock(by: string): Promise<{ now: string; frozen: boolean }>;
  addFault(
    method: string,
    kind: "fail" | "delay" | "lose_reply",
    options?: { code?: string; times?: number; delay?: string; message?: string },
  ): Promise<Record<string, unknown>>;
  faults(): Promise<Array<Record<string, unknown>>>;
  clearFaults(): Promise<unknown>;
  calls(filter?: { method?: string; code?: string; limit?: number; after?: number }): Promise<{
    calls: Array<Record<string, unknown>>;
    next: number | null;
  }>;
  verify(
    method: string,
    request?: Record<string, unknown>,
    options?: { code?: string; count?: number; atLeast?: number; atMost?: number },
  ): Promise<number>;
  overview(): Promise<Record<string, unknown>>;
  streamCalls(filter?: { method?: string; code?: string }): Promise<
    AsyncIterable<Record<string, unknown>> & { close(): void }
  >;
  state(): Promise<Record<string, unknown>>;
  loadState(snapshot: Record<string, unknown>): Promise<unknown>;
  setStatus(id: string, status: "STATUS_FAILED" | "STATUS_ERROR", message?: string): Promise<unknown>;
  hold(id: string, on?: boolean): Promise<unknown>;
}

/** A running mock. */
export interface RunningMock {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** The control API, for the token given to `startMock` (or the whole server). */
  readonly control: Control;
  /** The mock's last log lines. */
  log(): string[];
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** The native binary in this package. */
export declare function binaryPath(): string;

/** Starts the mock on a free port; rejects with its log when it cannot start. */
export declare function startMock(
  options?: MockOptions,
  settings?: { token?: string; binary?: string },
): Promise<RunningMock>;
