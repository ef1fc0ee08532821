// Drives the gateway's Swagger UI in Debian's headless Chromium:
// all 11 operations listed, Authorize with Basic credentials, ListAgents → Try it out → Execute,
// a 200 answer holding the demo agents' logins, and a screenshot.
//
// Environment:
//   GATEWAY_URL        base URL of a running gateway (default http://127.0.0.1:8080)
//   DEMO_LOGIN         Basic username (required)
//   DEMO_API_KEY       Basic password (required)
//   DEMO_AGENT_LOGINS  comma-separated logins that must appear in ListAgents (optional;
//                      without it at least one agent with a login must be listed)
//   SCREENSHOT         where to save the PNG (default docs/swagger-ui.png)
//   CHROMIUM           browser binary (default /usr/bin/chromium)
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { chromium } from "playwright-core";

const OPERATIONS = [
  "ListAgents", "CreateAgent", "DeleteAgent",
  "ListTickets", "GetTicket", "CreateTicket", "UpdateTicket",
  "WebhookChatStarted", "WebhookChatEnded", "WebhookTicketCreated",
  "DeleteHook",
];

const base = (process.env.GATEWAY_URL || "http://127.0.0.1:8080").replace(/\/+$/, "");
const login = process.env.DEMO_LOGIN;
const apiKey = process.env.DEMO_API_KEY;
const expectedLogins = (process.env.DEMO_AGENT_LOGINS || "").split(",").map((s) => s.trim()).filter(Boolean);
const screenshot = process.env.SCREENSHOT || "docs/swagger-ui.png";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

function fail(message) {
  console.error(`swagger-ui: FAIL: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

async function step(name, fn) {
  try {
    const result = await fn();
    console.log(`swagger-ui: ok: ${name}`);
    return result;
  } catch (e) {
    fail(`${name}: ${e.message.split("\n")[0]}`);
  }
}

async function main() {
  if (!login || !apiKey) fail("set DEMO_LOGIN and DEMO_API_KEY");
  const browser = await step(`launch ${executablePath}`, () =>
    chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    }),
  );
  // httpCredentials answer a Basic challenge (a 401 with WWW-Authenticate) instead of leaving
  // Chromium waiting on a login dialog; the call itself must carry Swagger UI's Authorization.
  const page = await browser.newPage({
    viewport: { width: 1280, height: 1000 },
    httpCredentials: { username: login, password: apiKey },
  });
  page.setDefaultTimeout(15000);
  try {
    await run(page);
  } finally {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    console.log(`swagger-ui: screenshot at ${screenshot}`);
    await browser.close();
  }
}

async function run(page) {
  await step(`open ${base}/swagger-ui/`, async () => {
    const resp = await page.goto(`${base}/swagger-ui/`, { waitUntil: "load" });
    if (!resp || !resp.ok()) throw new Error(`HTTP ${resp && resp.status()}`);
    await page.locator(".opblock").first().waitFor();
  });

  await step(`all ${OPERATIONS.length} operations listed`, async () => {
    const ids = await page.locator(".opblock").evaluateAll((els) => els.map((e) => e.id));
    const missing = OPERATIONS.filter((op) => !ids.some((id) => id.endsWith(`-${op}`)));
    if (missing.length) throw new Error(`missing ${missing.join(", ")} (found ${ids.join(", ")})`);
    if (ids.length !== OPERATIONS.length) throw new Error(`expected ${OPERATIONS.length}, found ${ids.length}`);
  });

  await step("authorize with Basic credentials", async () => {
    await page.locator(".scheme-container button.authorize").click();
    const modal = page.locator(".modal-ux");
    await modal.locator("input[name=username]").fill(login);
    await modal.locator("input[name=password]").fill(apiKey);
    await modal.locator("button.authorize[type=submit], .auth-btn-wrapper button.authorize").first().click();
    await modal.locator("button.btn-done").click();
    await modal.waitFor({ state: "detached" });
    const locked = await page.locator(".scheme-container button.authorize.locked").count();
    if (!locked) throw new Error("the Authorize button did not lock");
  });

  const op = page.locator('.opblock[id$="-ListAgents"]');
  await step("expand ListAgents", async () => {
    await op.locator(".opblock-summary").first().click();
    await op.locator("button.try-out__btn").waitFor();
  });
  await step("Try it out", () => op.locator("button.try-out__btn").click());

  const answer = await step("Execute", async () => {
    const waiting = page.waitForResponse(
      (r) => r.request().method() === "GET" && new URL(r.url()).pathname.endsWith("/agents"),
    );
    await op.locator("button.execute").click();
    const resp = await waiting.catch((e) => {
      throw new Error(`no answer to GET /agents (${e.message.split("\n")[0]})`);
    });
    const curl = await op.locator(".curl-command, .curl").first().innerText();
    if (!/Authorization: Basic /i.test(curl)) throw new Error("Swagger UI sent no Basic Authorization header");
    return { status: resp.status(), text: await resp.text() };
  });

  await step("ListAgents answered 200 with the demo agents", async () => {
    if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.text.slice(0, 300)}`);
    const agents = JSON.parse(answer.text);
    if (!Array.isArray(agents) || agents.length === 0) throw new Error(`not a non-empty array: ${answer.text.slice(0, 300)}`);
    const logins = agents.map((a) => a && a.login);
    if (logins.some((l) => typeof l !== "string" || !l)) throw new Error(`an agent without login: ${answer.text.slice(0, 300)}`);
    const missing = expectedLogins.filter((l) => !logins.includes(l));
    if (missing.length) throw new Error(`missing logins ${missing.join(", ")} in ${logins.join(", ")}`);
    const shown = op.locator(".live-responses-table tr.response .response-col_status").first();
    await shown.waitFor();
    if (!(await shown.innerText()).includes("200")) throw new Error(`UI shows ${await shown.innerText()}`);
    const body = await op.locator(".live-responses-table tr.response .response-col_description").first().innerText();
    const unseen = logins.filter((l) => !body.includes(l));
    if (unseen.length) throw new Error(`the UI does not show ${unseen.join(", ")}`);
    console.log(`swagger-ui: agents: ${logins.join(", ")}`);
  });
}

main().catch((e) => {
  if (!process.exitCode) console.error(`swagger-ui: FAIL: ${e.message}`);
  process.exitCode = 1;
});
