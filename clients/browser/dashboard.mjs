// Drives the mock's dashboard in a real browser (Debian's Chromium, through playwright-core)
// and checks what a person would see: after a VPC is created and a create fails validation,
// the page shows the VPC's name and status and the failed call, whose details show its field
// violation; a call made while the page is open appears live; a typed token narrows the page
// to that token's organization. On a mock with --token, the page asks for a token, and the
// admin token shows every organization. Writes a screenshot.
//
// Usage: node dashboard.mjs OPEN GUARDED SCREENSHOT.png, where OPEN is the endpoint of a mock
// without --token and GUARDED of one with --token CW-SECRET-dashboard-test and
// --admin-token CW-ADMIN-dashboard-test.
import { chromium } from "playwright-core";

const [endpoint, guarded, screenshot] = process.argv.slice(2);
if (!endpoint || !guarded || !screenshot) {
  console.error("usage: node dashboard.mjs OPEN GUARDED SCREENSHOT.png");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TOKEN = "CW-SECRET-dashboard-test";
const ADMIN_TOKEN = "CW-ADMIN-dashboard-test";
const TIMEOUT_MS = 15_000;

async function call(method, path, body, at = endpoint) {
  const response = await fetch(at + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok: ${message}`);
}

const created = await call("POST", "/v1beta1/networking/vpcs", {
  name: "dashboard-vpc",
  zone: "US-EAST-04A",
  vpcPrefixes: [{ name: "main", value: "10.20.0.0/16" }],
});
check(created.status === 200, `the VPC is created (HTTP ${created.status})`);
const refused = await call("POST", "/v1beta1/networking/vpcs", { name: "Not Valid!", zone: "US-EAST-04A" });
check(refused.status === 400, `the invalid create is refused (HTTP ${refused.status})`);
const { body: me } = await call("GET", "/_mock/v1/whoami");

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // As root in a container, without a sandbox; no calls to Google's hosts on a closed network.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  timeout: TIMEOUT_MS,
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(TIMEOUT_MS);
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${endpoint}/_mock/ui/`);

  await page.getByText("Showing every organization").waitFor();
  check(true, "without a token, a mock without --token shows every organization");
  const vpcRow = page.locator("table.resources tr", { hasText: "dashboard-vpc" });
  await vpcRow.waitFor();
  const vpcStatus = await vpcRow.locator(".status").innerText();
  check(["CREATING", "READY"].includes(vpcStatus), `the VPC's row shows its status (${vpcStatus})`);
  const orgShown = await page.locator(`article[data-org="${me.organizationId}"]`).count();
  check(orgShown === 1, "the VPC is listed under its organization");

  const failed = page.locator("#call-rows tr.failed", { hasText: "INVALID_ARGUMENT" });
  await failed.waitFor();
  check((await failed.innerText()).includes("CreateVPC"), "the failed create is listed with its code");
  await failed.click();
  const detail = page.locator("#call-detail");
  await detail.waitFor();
  const violations = await page.locator("#call-violations li").allInnerTexts();
  check(violations.some((text) => text.startsWith("name: ")), `its details show the violation (${violations[0]})`);
  const request = JSON.parse(await page.locator("#call-request").innerText());
  check(request.name === "Not Valid!", "its details show the request as sent");
  await page.screenshot({ path: screenshot, fullPage: true });
  check(true, `screenshot written to ${screenshot}`);

  await page.getByText("live", { exact: true }).waitFor();
  const missing = await call("GET", "/v1beta1/networking/vpcs/0b6f6f43-3d6e-4c55-8f9c-0d5e2e2b8a11");
  check(missing.status === 404, "a GetVPC of a missing VPC is NOT_FOUND");
  await page.locator("#call-rows tr", { hasText: "NOT_FOUND" }).waitFor();
  check(true, "a call made while the page is open appears live");

  await page.fill("#token", TOKEN);
  await page.click("#scope-form button[type=submit]");
  await page.getByText(`Showing organization ${me.organizationId}.`).waitFor();
  check((await page.locator("article.org").count()) === 1, "a typed token shows only its organization");

  // A mock with --token: the page asks for a token; the admin token shows every organization.
  const guardedCreate = await call("POST", "/v1beta1/networking/vpcs", { name: "guarded-vpc", zone: "US-EAST-04A" }, guarded);
  check(guardedCreate.status === 200, "a VPC is created on the mock with --token");
  const asking = await browser.newPage();
  asking.setDefaultTimeout(TIMEOUT_MS);
  await asking.goto(`${guarded}/_mock/ui/`);
  await asking.getByText("This mock runs with --token").waitFor();
  check(true, "on a mock with --token, the page asks for a token or the admin token");
  await asking.fill("#token", ADMIN_TOKEN);
  await asking.click("#scope-form button[type=submit]");
  await asking.getByText("Showing every organization").waitFor();
  await asking.locator("table.resources tr", { hasText: "guarded-vpc" }).waitFor();
  check(true, "the admin token shows every organization");

  check(problems.length === 0, `the page logged no errors${problems.length ? `: ${problems.join("; ")}` : ""}`);
} finally {
  await browser.close();
}
