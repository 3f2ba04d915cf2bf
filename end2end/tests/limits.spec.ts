import { ConversationPage, expect, test } from "./fixtures";

// The suite's server allows 20 messages in a burst, then 2 a second (playwright.config.ts).
const BURST = 20;

test.describe("limits", () => {
  test("messages written faster than the send budget wait, then go out, each exactly once", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const page = await alice.newPage();
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
    // The server said "slow down" at least once, and none of them failed: each is sent in the end.
    await expect.poll(() => refusals, { timeout: 5_000 }).toBeGreaterThan(0);
    for (const text of texts) {
      await aliceTab.expectState(text, "sent", { timeout: 30_000 });
    }
    await expect(page.locator('[data-state="failed"]')).toHaveCount(0);

    // Stored once each: retries carried the same client_id.
    const response = await alice.context.request.get(`/api/conversations/${bob.id}/messages`);
    const body = (await response.json()) as { messages: { message: string }[] };
    const stored = body.messages.map((m) => m.message);
    expect(stored.length).toBe(texts.length);
    expect([...stored].sort()).toEqual([...texts].sort());
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
