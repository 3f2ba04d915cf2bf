import type { APIRequestContext } from "@playwright/test";
import { ConversationPage, expect, expectLive, sendViaApi, test } from "./fixtures";

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

  test("each page preloads its own wasm chunks once, however many pages are rendered at the same time", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello bob");
    const anonymous = await people.newContext();
    const pages = [
      { request: alice.context.request, path: "/" },
      { request: alice.context.request, path: `/c/${bob.username}` },
      { request: alice.context.request, path: "/settings" },
      { request: anonymous.request, path: "/login" },
      { request: anonymous.request, path: "/signup" },
    ];
    const chunksOf = async (request: APIRequestContext, path: string) => {
      const response = await request.get(path);
      expect(response.status(), path).toBe(200);
      return [...(await response.text()).matchAll(/<link[^>]*href="([^"]*\.wasm)"[^>]*rel="preload"/g)].map(
        (match) => match[1],
      );
    };
    // One at a time: what each page asks the browser to fetch early.
    const alone = new Map<string, string[]>();
    for (const { request, path } of pages) {
      const chunks = await chunksOf(request, path);
      expect(new Set(chunks).size, `${path} names a chunk twice: ${chunks}`).toBe(chunks.length);
      alone.set(path, chunks.sort());
    }
    // Many at once, pages of different routes interleaved: each still carries exactly its own.
    const together = await Promise.all(
      Array.from({ length: 8 }, () => pages).flat().map(async ({ request, path }) => ({
        path,
        chunks: (await chunksOf(request, path)).sort(),
      })),
    );
    for (const { path, chunks } of together) {
      expect(chunks, path).toEqual(alone.get(path));
    }
    // The split build gives the pages different chunks: the check above can tell them apart.
    expect(alone.get("/login")).not.toEqual(alone.get(`/c/${bob.username}`));
  });
});
