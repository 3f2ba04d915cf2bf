import { ConversationPage, expect, expectLive, test } from "./fixtures";

test.describe("navigation", () => {
  test("an unknown page is a 404 with a not-found notice", async ({ people }) => {
    const alice = await people.signUp("alice");
    const page = await alice.newPage();
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("not-found")).toBeVisible();
  });

  test("a conversation with an unknown user is a 404 with an error notice", async ({ people }) => {
    const alice = await people.signUp("alice");
    const page = await alice.newPage();
    const response = await page.goto("/c/nobody_by_this_name");
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("error-notice")).toBeVisible();
    await expect(page.getByTestId("message-list")).toHaveCount(0);
  });

  test("a page carries a nonce Content-Security-Policy, and hydrates and goes live under it", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const page = await alice.newPage();
    const response = await page.goto(`/c/${bob.username}`);
    const headers = response?.headers() ?? {};
    expect(headers["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{22,}'/);
    expect(headers["content-security-policy"]).not.toContain("unsafe-inline");
    expect(headers["cache-control"]).toBe("no-store");
    // Live means the wasm ran (hydration) and the WebSocket connected (connect-src 'self');
    // anything the policy blocked on the way fails the test (fixtures/test.ts).
    await expectLive(new ConversationPage(page, bob.username).linkStatus);
  });
});
