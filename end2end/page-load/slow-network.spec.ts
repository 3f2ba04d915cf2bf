import type { BrowserContext, CDPSession, Page } from "@playwright/test";
import { ConversationPage, InboxPage, expect, logInViaApi, sendViaApi, test, expectLive, type People } from "../tests/fixtures";

/**
 * A slow phone network: 400 kbit/s each way, 400 ms round trip (Chromium's network emulation,
 * applied before the first request), and an empty cache (a new browser context each time).
 * Each page is loaded RUNS times; the table shows every run and the median.
 */
const SLOW = { offline: false, latency: 400, downloadThroughput: 400_000 / 8, uploadThroughput: 400_000 / 8 };
const RUNS = Number(process.env.PAGE_LOAD_RUNS ?? 3);
/** How page-load.config.ts serves the app: straight, or behind nginx with TLS and HTTP/2. */
const SERVED = process.env.PAGE_LOAD_VIA === "tls-proxy" ? "behind nginx (TLS, HTTP/2)" : "straight from the node";

interface Load {
  /** Navigation to the page's HTML having arrived (first byte of the document). */
  htmlMs: number;
  /** Navigation to the page being ready: live (hydrated, with its WebSocket connected), or for the
   * plain-form run, the composer shown. */
  readyMs: number;
  /** Navigation to the task done (see each test). */
  doneMs: number;
  /** Bytes over the wire (encoded, as sent) and how many responses, from the CDP network log. */
  bytes: number;
  responses: number;
  wasmFiles: number;
  /** The protocols the responses came over ("http/1.1", "h2"), from the CDP network log. */
  protocols: string;
}

async function slowPage(context: BrowserContext): Promise<{ page: Page; cdp: CDPSession; wire: () => Omit<Load, "htmlMs" | "readyMs" | "doneMs"> }> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  await cdp.send("Network.emulateNetworkConditions", SLOW);
  let bytes = 0;
  let responses = 0;
  let wasmFiles = 0;
  const protocols = new Set<string>();
  const urls = new Map<string, string>();
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.responseReceived", (e) => {
    if (e.response.protocol) protocols.add(e.response.protocol);
  });
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    responses += 1;
    if ((urls.get(e.requestId) ?? "").endsWith(".wasm")) wasmFiles += 1;
  });
  return { page, cdp, wire: () => ({ bytes, responses, wasmFiles, protocols: [...protocols].sort().join(" ") }) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function report(title: string, done: string, loads: Load[], ready = "live"): void {
  const row = (name: string, l: Load) =>
    `  ${name.padEnd(8)} ${String(l.htmlMs).padStart(7)} ${String(l.readyMs).padStart(8)} ${String(l.doneMs).padStart(8)} ${(l.bytes / 1024).toFixed(1).padStart(9)} ${String(l.responses).padStart(9)} ${String(l.wasmFiles).padStart(6)}`;
  const lines = [
    `\n${title} (400 kbit/s, 400 ms RTT, empty cache; ms from navigation; served ${SERVED}, over ${loads[0].protocols})`,
    `  run         html ${ready.padStart(8)}  ${done.padStart(7)}  KiB wire  responses  wasm`,
    ...loads.map((l, i) => row(`#${i + 1}`, l)),
    row("median", {
      htmlMs: median(loads.map((l) => l.htmlMs)),
      readyMs: median(loads.map((l) => l.readyMs)),
      doneMs: median(loads.map((l) => l.doneMs)),
      bytes: median(loads.map((l) => l.bytes)),
      responses: median(loads.map((l) => l.responses)),
      wasmFiles: median(loads.map((l) => l.wasmFiles)),
      protocols: loads[0].protocols,
    }),
  ];
  console.log(lines.join("\n"));
}

/**
 * Alice opens her conversation with Bob on the slow network RUNS times, waits for `ready`, and
 * sends; each run ends when Bob, watching on a fast network, has the message.
 */
async function conversationLoads(
  people: People,
  label: string,
  ready: (view: ConversationPage) => Promise<void>,
): Promise<Load[]> {
  const alice = await people.signUp("alice");
  const bob = await people.signUp("bob");
  const bobView = new ConversationPage(await bob.newPage(), alice.username);
  await bobView.page.goto(`/c/${alice.username}`);
  await expectLive(bobView.linkStatus);

  const loads: Load[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const context = await people.newContext();
    expect((await logInViaApi(context.request, alice.username, alice.password)).status()).toBe(200);
    const { page, wire } = await slowPage(context);
    const view = new ConversationPage(page, bob.username);
    const text = `${label} run ${run}`;
    const started = Date.now();
    await page.goto(`/c/${bob.username}`, { waitUntil: "commit" });
    const htmlMs = Date.now() - started;
    await ready(view);
    const readyMs = Date.now() - started;
    await view.input.fill(text);
    // Watched from before the click, and timed when it shows on Bob's page: a plain-form post
    // navigates, and the click returns only once the next page has arrived on the slow line.
    const received = bobView.texts
      .filter({ hasText: text })
      .waitFor({ timeout: 120_000 })
      .then(() => Date.now() - started);
    await view.send.click();
    const doneMs = await received;
    loads.push({ htmlMs, readyMs, doneMs, ...wire() });
    await context.close();
  }
  return loads;
}

test.describe("page load on a slow network", () => {
  test("conversation: from navigation to a sent message received by the other side", async ({ people }) => {
    const loads = await conversationLoads(people, "slow network", async (view) => {
      await expect(view.linkStatus).toHaveText("live", { timeout: 120_000 });
    });
    report("conversation page", "received", loads);
  });

  // The same task without waiting for the page to go live: the composer is a plain form that
  // posts without JavaScript, so someone who sends as soon as they see it does not wait for the
  // wasm (the post loads the page again; the run ends when the other side has the message).
  test("conversation, sent with the plain form before the wasm: from navigation to the message received", async ({
    people,
  }) => {
    const loads = await conversationLoads(people, "plain form", async (view) => {
      await expect(view.send).toBeVisible({ timeout: 120_000 });
    });
    report("conversation page, plain form", "received", loads, "composer");
  });

  test("inbox: from navigation to a new message shown live", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(bob.context.request, alice.id, "an earlier message");

    const loads: Load[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const context = await people.newContext();
      expect((await logInViaApi(context.request, alice.username, alice.password)).status()).toBe(200);
      const { page, wire } = await slowPage(context);
      const inbox = new InboxPage(page);
      const text = `inbox run ${run}`;
      const started = Date.now();
      await page.goto("/", { waitUntil: "commit" });
      const htmlMs = Date.now() - started;
      await expect(inbox.linkStatus).toHaveText("live", { timeout: 120_000 });
      const liveMs = Date.now() - started;
      await sendViaApi(bob.context.request, alice.id, text);
      await expect(inbox.conversations.filter({ hasText: text })).toHaveCount(1, { timeout: 120_000 });
      const doneMs = Date.now() - started;
      loads.push({ htmlMs, readyMs: liveMs, doneMs, ...wire() });
      await context.close();
    }
    report("inbox page", "shown", loads);
  });
});
