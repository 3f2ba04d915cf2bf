import type { APIRequestContext } from "@playwright/test";
import { ConversationPage, expect, expectLive, sendViaApi, signInAsAdmin, test } from "./fixtures";

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

  test("each page carries exactly its own islands and preloads their parts, however many pages are rendered at the same time", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello bob");
    const admin = await people.newAdmin("admin");
    await signInAsAdmin(admin);
    const anonymous = await people.newContext();
    // The islands each page renders: what the bundle benchmark (benches/loadgen/bundle.rs) sums
    // the downloads of. The auth pages have none: their forms are plain HTML.
    const pages = [
      { request: alice.context.request, path: "/", islands: ["Conversations"] },
      { request: alice.context.request, path: `/c/${bob.username}`, islands: ["LiveConversation"] },
      { request: alice.context.request, path: "/settings", islands: ["SettingsSections"] },
      { request: admin.context.request, path: "/admin", islands: ["ResetLinkForm"] },
      { request: anonymous.request, path: "/login", islands: [] },
      { request: anonymous.request, path: "/signup", islands: [] },
    ];
    const shapeOf = async (request: APIRequestContext, path: string) => {
      const response = await request.get(path);
      expect(response.status(), path).toBe(200);
      const html = await response.text();
      const islands = [...html.matchAll(/<leptos-island data-component="([A-Za-z]+)_\d+"/g)].map((match) => match[1]);
      const preloads = [...html.matchAll(/<link[^>]*rel="(?:module)?preload"[^>]*>/g)].map((match) =>
        match[0].replace(/ crossorigin="[^"]*"/, ""),
      );
      return { islands: [...new Set(islands)].sort(), preloads: preloads.sort() };
    };
    // The parts of the split wasm each island loads, as the build wrote them down.
    const manifest: Record<string, string[]> = await (await anonymous.request.get("/pkg/__wasm_split_manifest.json")).json();
    const partsOf = (island: string) => {
      const snake = island.replace(/[A-Z]/g, (letter, at) => (at ? "_" : "") + letter.toLowerCase());
      const loader = Object.keys(manifest).find((key) => key.startsWith(`${snake}_loader_`));
      expect(loader, `${island} in the manifest`).toBeDefined();
      return manifest[loader!].map((part) => `/pkg/${part}.wasm`);
    };
    // One at a time: the islands each page is made of, and what it asks the browser to fetch early:
    // exactly the parts its islands load, so they arrive alongside the main module.
    const alone = new Map<string, { islands: string[]; preloads: string[] }>();
    for (const { request, path, islands } of pages) {
      const shape = await shapeOf(request, path);
      expect(shape.islands, path).toEqual(islands);
      const preloadedParts = shape.preloads
        .map((link) => link.match(/href="([^"]+)"/)?.[1] ?? "")
        .filter((href) => /^\/pkg\/(chunk|split)_.*\.wasm$/.test(href));
      expect(preloadedParts.sort(), path).toEqual([...new Set(islands.flatMap(partsOf))].sort());
      expect(new Set(shape.preloads).size, `${path} preloads a file twice: ${shape.preloads}`).toBe(shape.preloads.length);
      alone.set(path, shape);
    }
    // Many at once, pages of different routes interleaved: each still carries exactly its own.
    const together = await Promise.all(
      Array.from({ length: 8 }, () => pages).flat().map(async ({ request, path }) => ({
        path,
        shape: await shapeOf(request, path),
      })),
    );
    for (const { path, shape } of together) {
      expect(shape, path).toEqual(alone.get(path));
    }
  });
});
