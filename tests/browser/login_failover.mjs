// A real browser through the balancer: log in on the Kylin simulator's UI,
// reload (the v4 UI then has no Authorization header: only cookies
// authenticate), and stay logged in after the node that served the login dies.
//
//   node tests/browser/login_failover.mjs <base-url> <results-dir>
//
// Talks to its caller (tests/integration/test_browser.py) in JSON lines on
// stdout:
//   {"event":"browser","pid":N}            Chromium's pid (its own process group)
//   {"event":"ready","login_node":"n1",...} logged in, reloaded, one API call
//                                          made; the caller now kills login_node
//                                          and writes one line on stdin
//   {"result":"pass"|"fail",...}           the last line; exit code 0 on pass
// End of stdin counts as the go-ahead, so the script also runs by hand.
//
// Uses Debian's /usr/bin/chromium through playwright-core (no browser download).
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const [base0, resultsDir] = process.argv.slice(2);
if (!base0 || !resultsDir) {
  console.error("usage: node login_failover.mjs <base-url> <results-dir>");
  process.exit(2);
}
const base = base0.replace(/\/+$/, "");
const USER = "ADMIN";
const PASSWORD = "KYLIN";
const COOKIE = "KYLIN_LB_SESSION";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const STEP_MS = 10000;

fs.mkdirSync(resultsDir, { recursive: true });

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// One line from the caller (or end of input).
const lines = readline.createInterface({ input: process.stdin });
const pending = [];
let stdinDone = false;
lines.on("line", (l) => { const w = pending.shift(); if (w) w(l); });
lines.on("close", () => { stdinDone = true; while (pending.length) pending.shift()(null); });
function nextLine() {
  if (stdinDone) return Promise.resolve(null);
  return new Promise((resolve) => pending.push(resolve));
}

const checks = [];          // {name, ok, detail}
function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, detail });
  return !!ok;
}

let browser = null;
async function closeBrowser() {
  if (browser) {
    const b = browser;
    browser = null;
    await b.close().catch(() => {});
  }
}
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => { closeBrowser().finally(() => process.exit(130)); });
}

async function main() {
  // launch() gives Chromium a fresh, empty --user-data-dir of its own and
  // removes it on close; --no-sandbox comes from chromiumSandbox: false.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    timeout: 30000,
    args: ["--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync"],
  });
  const proc = browser.process && browser.process();
  emit({ event: "browser", pid: proc ? proc.pid : null, version: browser.version() });

  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);

  // Every API exchange the page makes: method, path, status, answering node,
  // and whether the browser itself sent an Authorization header.
  const api = [];
  page.on("response", async (resp) => {
    const req = resp.request();
    const url = new URL(resp.url());
    if (!url.pathname.startsWith("/kylin")) return;
    const headers = await req.allHeaders().catch(() => req.headers());
    api.push({
      method: req.method(), path: url.pathname, status: resp.status(),
      node: resp.headers()["x-kylin-node"] || null,
      authorization: "authorization" in headers,
      cookie_sent: (headers["cookie"] || "").includes(COOKIE + "="),
    });
  });
  const logins = () => api.filter((e) => e.method === "POST" &&
                                          e.path === "/kylin/api/user/authentication");

  // -- phase 1: log in as a user would ---------------------------------------
  await page.goto(base + "/kylin/", { waitUntil: "load" });
  await page.locator("#status").filter({ hasText: "Not logged in" }).waitFor();
  await page.locator("#username").click();
  await page.locator("#username").pressSequentially(USER, { delay: 20 });
  await page.locator("#password").click();
  await page.locator("#password").pressSequentially(PASSWORD, { delay: 20 });
  const loginResp = page.waitForResponse((r) =>
    r.url().endsWith("/kylin/api/user/authentication") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Login" }).click();
  const lr = await loginResp;
  const loginNode = lr.headers()["x-kylin-node"] || null;
  const setCookies = (await lr.headersArray())
    .filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value);
  await page.locator("#status").filter({ hasText: `Logged in as ${USER}` }).waitFor();
  check("login answered 200", lr.status() === 200, lr.status());
  check("login set the balancer cookie",
        setCookies.some((c) => c.startsWith(COOKIE + "=") && /HttpOnly/i.test(c)), setCookies);
  check("backend cookie not passed to the browser",
        !setCookies.some((c) => c.startsWith("JSESSIONID")), setCookies);
  const loginEntry = logins()[0];
  check("the login carried the form's Basic header (as Kylin's UI does)",
        loginEntry && loginEntry.authorization, loginEntry);
  const jar = await context.cookies();
  check("browser holds exactly the balancer cookie",
        jar.length === 1 && jar[0].name === COOKIE && jar[0].httpOnly,
        jar.map((c) => `${c.name} httpOnly=${c.httpOnly} sameSite=${c.sameSite}`));

  // -- reload: the v4 UI forgets its Authorization header ----------------------
  const afterReload = api.length;
  await page.reload({ waitUntil: "load" });
  await page.locator("#status").filter({ hasText: `Logged in as ${USER}` }).waitFor();
  const reloadNode = (await page.locator("h1").textContent()).replace(/^Kylin /, "");
  const load1 = await clickLoad(page);
  check("API call after reload answered 200", load1.status === 200, load1);
  await page.screenshot({ path: path.join(resultsDir, "ui-before-kill.png") });

  emit({ event: "ready", login_node: loginNode, page_node_after_reload: reloadNode,
         load_after_reload: load1 });

  // -- the caller kills login_node, then says go ------------------------------
  const go = await nextLine();
  const t0 = Date.now();

  // The same page (already reloaded: cookies only) uses the API again ...
  const load2 = await clickLoad(page);
  check("API call after the kill answered 200", load2.status === 200, load2);
  check("... from another node", load2.node && load2.node !== loginNode, load2.node);
  // ... and a fresh reload shows the user still logged in, page and data from
  // surviving nodes.
  await page.reload({ waitUntil: "load" });
  const status = page.locator("#status");
  await status.filter({ hasText: /Logged in as|Not logged in|Login failed/ }).waitFor();
  const statusText = await status.textContent();
  check("still logged in after the kill and a reload",
        statusText === `Logged in as ${USER}`, statusText);
  const pageNode = (await page.locator("h1").textContent()).replace(/^Kylin /, "");
  check("page after the kill served by another node", pageNode !== loginNode, pageNode);
  const load3 = statusText.startsWith("Logged in") ? await clickLoad(page) : null;
  check("API call after the second reload answered 200",
        load3 && load3.status === 200 && load3.node !== loginNode, load3);
  const failoverMs = Date.now() - t0;

  check("no second login", logins().length === 1, logins().length);
  const sinceReload = api.slice(afterReload);
  check("no Authorization header from the browser after the reload",
        sinceReload.every((e) => !e.authorization),
        sinceReload.filter((e) => e.authorization));
  check("no 401 after the reload", sinceReload.every((e) => e.status !== 401),
        sinceReload.filter((e) => e.status === 401));
  await page.screenshot({ path: path.join(resultsDir, "ui.png") });

  // -- the balancer's status page -----------------------------------------------
  const sp = await context.newPage();
  const sr = await sp.goto(base + "/kylin-balancer", { waitUntil: "load" });
  check("status page answered 200", sr && sr.status() === 200, sr && sr.status());
  await sp.screenshot({ path: path.join(resultsDir, "status.png"), fullPage: true });
  await sp.close();

  const failed = checks.filter((c) => !c.ok);
  emit({
    result: failed.length ? "fail" : "pass",
    login_node: loginNode,
    page_node_after_reload: reloadNode,
    load_after_reload: load1,
    go_ahead: go === null ? "eof" : go,
    load_after_kill: load2,
    page_node_after_kill: pageNode,
    load_after_kill_reload: load3,
    failover_ms: failoverMs,
    logins: logins().length,
    api_calls: api.length,
    failed,
    checks: checks.map((c) => `${c.ok ? "ok" : "FAIL"}: ${c.name}`),
    screenshots: ["ui-before-kill.png", "ui.png", "status.png"]
      .map((f) => path.join(resultsDir, f)),
  });
  return failed.length ? 1 : 0;
}

// Clicks "Load data" and reads the answer the page shows.
async function clickLoad(page) {
  const out = page.locator("#out");
  await page.evaluate(() => { document.getElementById("out").textContent = ""; });
  const respP = page.waitForResponse((r) => new URL(r.url()).pathname === "/kylin/api/projects");
  await page.locator("#load").click();
  const resp = await respP;
  await out.filter({ hasText: /^HTTP \d+/ }).waitFor();
  const shown = (await out.textContent()).split("\n")[0];
  return { status: resp.status(), node: resp.headers()["x-kylin-node"] || null, shown };
}

let code = 1;
try {
  code = await main();
} catch (e) {
  emit({ result: "error", error: String(e && e.stack || e), checks: checks });
  code = 1;
} finally {
  await closeBrowser();
  lines.close();
}
process.exit(code);
