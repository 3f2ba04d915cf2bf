import { ConversationPage, expect, signUpViaApi, startOwnServer, test, uniqueName } from "./fixtures";

// This spec's own server allows 20 messages in a burst, then 2 a second.
const BURST = 20;

test.describe("limits", () => {
  test("messages written faster than the send budget wait, then go out, each exactly once", async ({ browser }) => {
    const server = await startOwnServer({
      PARLEY_SEND_RATE: "2",
      PARLEY_SEND_BURST: String(BURST),
    });
    try {
      const aliceContext = await browser.newContext({ baseURL: server.baseURL });
      const bobContext = await browser.newContext({ baseURL: server.baseURL });
      await signUpViaApi(aliceContext.request, uniqueName("alice"));
      const bob = await signUpViaApi(bobContext.request, uniqueName("bob"));
      const page = await aliceContext.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      let refusals = 0;
      page.on("websocket", (socket) =>
        socket.on("framereceived", (frame) => {
          if (typeof frame.payload === "string" && frame.payload.includes('"code":"rate_limited"')) {
            refusals += 1;
          }
        }),
      );
      const aliceTab = new ConversationPage(page, bob.username);
      await aliceTab.goto();

      const texts = Array.from({ length: BURST + 6 }, (_, n) => `burst ${n + 1}`);
      for (const text of texts) {
        await aliceTab.sendWithEnter(text);
      }
      // The server said "slow down", and nothing failed: every message is sent in the end.
      await expect.poll(() => refusals, { timeout: 5_000 }).toBeGreaterThan(0);
      for (const text of texts) {
        await aliceTab.expectState(text, "sent", { timeout: 30_000 });
      }
      await expect(page.locator('[data-state="failed"]')).toHaveCount(0);

      // Stored once each: the retries carried the same client_id.
      const response = await aliceContext.request.get(`/api/conversations/${bob.id}/messages`);
      const body = (await response.json()) as { messages: { message: string }[] };
      const stored = body.messages.map((m) => m.message);
      expect(stored.length).toBe(texts.length);
      expect([...stored].sort()).toEqual([...texts].sort());
      expect(pageErrors).toEqual([]);
      await aliceContext.close();
      await bobContext.close();
    } finally {
      await server.stop();
    }
  });

  test("after too many failed logins the login page says when to try again", async ({ people, page }) => {
    const alice = await people.signUp("alice");
    for (let n = 0; n < 10; n++) {
      const response = await page.request.post("/api/auth/login", {
        data: { username: alice.username, password: "not the password" },
      });
      expect(response.status()).toBe(401);
    }
    await page.goto("/login");
    await page.waitForLoadState("networkidle");
    await page.getByLabel("Username").fill(alice.username);
    await page.getByLabel("Password").fill(alice.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page.getByTestId("form-error")).toHaveText(
      "too many failed login attempts; try again in 15 minutes",
    );
  });
});
