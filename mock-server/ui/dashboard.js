// The dashboard of the mock that serves it: read-only, from the control API under
// /_mock/v1/. Organizations, their resources, clocks and faults are polled every second;
// calls arrive live from /_mock/v1/calls/stream (read with fetch, which, unlike
// EventSource, can send the scope's headers).
"use strict";

const API = "/_mock/v1";
const TOKEN_KEY = "coreweave-mock-token";
const SHOWN_CALLS = 500;
const HISTORY_PAGES = 20;
const REFRESH_MS = 1000;

const view = {
  token: sessionStorage.getItem(TOKEN_KEY) ?? "",
  calls: new Map(), // sequence -> call
  selected: null,
  generation: 0, // bumped when the scope changes, to stop the old scope's work
};

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function scopeHeaders() {
  return view.token ? { authorization: `Bearer ${view.token}` } : { "x-mock-scope": "server" };
}

async function getJson(path) {
  const response = await fetch(API + path, { headers: scopeHeaders() });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ControlError(response.status, body.message ?? response.statusText);
  }
  return body;
}

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "onclick") element.addEventListener("click", value);
    else element.setAttribute(name, value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

/** An RFC 3339 time as its date and time of day to the second, in full on hover. */
function shortTime(time, withDate) {
  const shown = withDate ? time.slice(0, 19).replace("T", " ") : time.slice(11, 23);
  return el("time", { datetime: time, title: time }, shown);
}

function statusBadge(status) {
  const name = status.replace(/^STATUS_/, "");
  return el("span", { class: `status status-${name.toLowerCase()}` }, name);
}

function showNotice(message) {
  const notice = document.getElementById("notice");
  notice.textContent = message ?? "";
  notice.hidden = !message;
}

function explain(error) {
  if (error instanceof ControlError && error.status === 401) {
    return view.token
      ? `This token is not accepted: ${error.message}`
      : "This mock runs with --token: type a token for its organization, or the admin token for every organization.";
  }
  return `The mock did not answer: ${error.message}`;
}

// Organizations, resources, clocks and faults.

async function refresh(generation) {
  try {
    const overview = await getJson("/overview");
    if (generation !== view.generation) return;
    showNotice(null);
    drawScope(overview.scope);
    drawOrganizations(overview);
  } catch (error) {
    if (generation === view.generation) showNotice(explain(error));
  }
}

function drawScope(scope) {
  const text = scope === "server"
    ? "Showing every organization (the whole-server scope)."
    : `Showing organization ${scope.organizationId}.`;
  document.getElementById("scope").textContent = text;
}

function drawOrganizations(overview) {
  const serverFaults = document.getElementById("server-faults");
  serverFaults.replaceChildren(
    ...(overview.faults.length ? [el("h3", {}, "Faults for every organization"), faultList(overview.faults)] : []),
  );
  const orgs = document.getElementById("orgs");
  if (overview.organizations.length === 0) {
    orgs.replaceChildren(el("p", { class: "empty" }, "No organization has made a call yet."));
    return;
  }
  orgs.replaceChildren(...overview.organizations.map(organization));
}

function organization(org) {
  const clock = `${org.clock.now}${org.clock.frozen ? " (frozen)" : ""}`;
  return el(
    "article",
    { class: "org", "data-org": org.organizationId },
    el("h3", {}, "Organization ", el("code", {}, org.organizationId)),
    el("p", { class: "clock" }, "Clock: ", el("time", {}, clock)),
    resourceTable("VPCs", org.vpcs),
    resourceTable("Gateways", org.gateways),
    org.faults.length ? el("h4", {}, "Faults") : null,
    org.faults.length ? faultList(org.faults) : null,
  );
}

function resourceTable(title, resources) {
  if (resources.length === 0) return el("p", { class: "empty" }, `No ${title}.`);
  const rows = resources.map((resource) =>
    el(
      "tr",
      { "data-id": resource.id },
      el("td", {}, resource.name),
      el("td", {}, statusBadge(resource.status), resource.held ? el("span", { class: "marker" }, "held") : null,
        resource.forced ? el("span", { class: "marker" }, "forced") : null),
      el("td", {}, el("code", {}, resource.id)),
      el("td", {}, shortTime(resource.createdAt, true)),
      el("td", {}, shortTime(resource.changedAt, true)),
    ));
  return el(
    "table",
    { class: "resources" },
    el("caption", {}, title),
    el("thead", {}, el("tr", {}, ...["Name", "Status", "Id", "Created", "Changed"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows),
  );
}

function faultList(faults) {
  return el(
    "ul",
    { class: "faults" },
    ...faults.map((fault) => {
      const what = [fault.method, fault.kind, fault.code, fault.delay].filter(Boolean).join(" ");
      const left = fault.remaining === null ? "every call" : `${fault.remaining} firing(s) left`;
      return el("li", {}, `${what}: ${left}`);
    }),
  );
}

// Calls: the history, then live.

function addCall(call) {
  view.calls.set(call.sequence, call);
  if (view.calls.size > SHOWN_CALLS) {
    view.calls.delete(Math.min(...view.calls.keys()));
  }
}

function drawCalls() {
  const newestFirst = [...view.calls.values()].sort((a, b) => b.sequence - a.sequence);
  const rows = newestFirst.map((call) =>
    el(
      "tr",
      { class: call.code === "OK" ? "call" : "call failed", "data-sequence": String(call.sequence), onclick: () => select(call) },
      el("td", {}, String(call.sequence)),
      el("td", {}, shortTime(call.time, false)),
      el("td", {}, call.protocol),
      el("td", {}, call.method),
      el("td", {}, call.resource),
      el("td", {}, call.code),
      el("td", {}, `${call.latencyMs.toFixed(2)} ms`),
    ));
  document.getElementById("call-rows").replaceChildren(...rows);
  document.getElementById("no-calls").hidden = rows.length > 0;
}

function select(call) {
  view.selected = call;
  document.getElementById("call-title").textContent = `#${call.sequence} ${call.method}: ${call.code}`;
  const facts = [
    ["Organization", call.organizationId],
    ["Protocol", call.protocol],
    ["Time", call.time],
    ["Latency", `${call.latencyMs.toFixed(2)} ms`],
    ["Message", call.message || null],
  ].filter(([, value]) => value);
  document.getElementById("call-facts").replaceChildren(
    ...facts.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]),
  );
  const request = JSON.stringify(call.request, null, 2) + (call.requestTruncated ? "\n(cut to 16 KiB)" : "");
  document.getElementById("call-request").textContent = request;
  document.getElementById("call-violations").replaceChildren(
    ...(call.violations.length
      ? [el("h3", {}, "Violations"), el("ul", { class: "violations" },
          ...call.violations.map((v) => el("li", {}, el("code", {}, v.field), ": ", v.description)))]
      : []),
  );
  document.getElementById("call-warnings").replaceChildren(
    ...(call.warnings.length
      ? [el("h3", {}, "Warnings"), el("ul", {}, ...call.warnings.map((w) => el("li", {}, w)))]
      : []),
  );
  document.getElementById("call-detail").hidden = false;
}

async function loadHistory(generation) {
  let after = null;
  for (let page = 0; page < HISTORY_PAGES; page += 1) {
    const query = after === null ? "" : `&after=${after}`;
    const body = await getJson(`/calls?limit=1000${query}`);
    if (generation !== view.generation) return;
    body.calls.forEach(addCall);
    if (body.next === null) break;
    after = body.next;
  }
  drawCalls();
}

/** Reads the live stream until it ends; server-sent events, parsed by hand. */
async function follow(generation) {
  const live = document.getElementById("live");
  const response = await fetch(`${API}/calls/stream`, { headers: scopeHeaders() });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new ControlError(response.status, body.message ?? response.statusText);
  }
  live.textContent = "live";
  live.classList.add("on");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (generation === view.generation) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      receive(event);
    }
  }
  reader.cancel().catch(() => {});
  live.classList.remove("on");
  live.textContent = "reconnecting…";
}

function receive(text) {
  let name = "message";
  const data = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (name === "call") {
    addCall(JSON.parse(data.join("\n")));
    drawCalls();
  } else if (name === "lagged") {
    showNotice(`The dashboard fell behind and missed ${JSON.parse(data.join("\n")).missed} call(s).`);
  }
}

async function keepFollowing(generation) {
  while (generation === view.generation) {
    try {
      await follow(generation);
    } catch (error) {
      if (generation === view.generation) showNotice(explain(error));
    }
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
  }
}

// Start, and start again when the scope changes.

function start() {
  view.generation += 1;
  const generation = view.generation;
  view.calls.clear();
  drawCalls();
  document.getElementById("call-detail").hidden = true;
  refresh(generation);
  const timer = setInterval(() => {
    if (generation !== view.generation) clearInterval(timer);
    else refresh(generation);
  }, REFRESH_MS);
  keepFollowing(generation);
  loadHistory(generation).catch((error) => showNotice(explain(error)));
}

document.getElementById("scope-form").addEventListener("submit", (event) => {
  event.preventDefault();
  view.token = document.getElementById("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, view.token);
  start();
});
document.getElementById("whole-server").addEventListener("click", () => {
  view.token = "";
  document.getElementById("token").value = "";
  sessionStorage.removeItem(TOKEN_KEY);
  start();
});
document.getElementById("close-detail").addEventListener("click", () => {
  document.getElementById("call-detail").hidden = true;
});
start();
