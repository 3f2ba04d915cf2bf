import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { ConversationPage, expect, InboxPage, LoginPage, sendViaApi, test } from "./fixtures";

/** The serious and critical accessibility problems axe-core finds on the page as it is now. */
async function seriousProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

test.describe("accessibility", () => {
  test("the login, inbox, search, conversation and admin pages have no serious or critical problems", async ({
    people,
    page,
  }) => {
    const login = new LoginPage(page);
    await login.goto();
    expect(await seriousProblems(page), "login").toEqual([]);

    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello https://example.com");
    await sendViaApi(bob.context.request, alice.id, "hi");
    const inbox = new InboxPage(await alice.newPage());
    await inbox.goto();
    await inbox.waitForLive();
    expect(await seriousProblems(inbox.page), "inbox").toEqual([]);
    await inbox.page.goto("/search?q=hello");
    await expect(inbox.page.getByTestId("search-hit")).toHaveCount(1);
    expect(await seriousProblems(inbox.page), "search").toEqual([]);

    const conversation = new ConversationPage(await alice.newPage(), bob.username);
    await conversation.goto();
    expect(await seriousProblems(conversation.page), "conversation").toEqual([]);
    // The messages are a log that a screen reader follows, each saying who wrote it.
    await expect(conversation.page.getByRole("log")).toHaveCount(1);
    await expect(conversation.message("hi")).toContainText(`${bob.username}:`);

    const admin = await people.newAdmin("root");
    const adminPage = await admin.newPage();
    const adminLogin = new LoginPage(adminPage);
    await adminLogin.goto();
    await adminLogin.logIn(admin.username, admin.password);
    await new InboxPage(adminPage).expectOnPage(admin.username);
    await adminPage.goto("/admin");
    expect(await seriousProblems(adminPage), "admin").toEqual([]);
  });

  test("on a phone, every control in the conversation is at least 44 px and the composer stays on screen", async ({
    people,
  }) => {
    const phone = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };
    const alice = await people.signUp("alice", phone);
    const bob = await people.signUp("bob");
    await sendViaApi(bob.context.request, alice.id, "hi from a desk");
    const conversation = new ConversationPage(await alice.newPage(), bob.username);
    await conversation.goto();
    const controls = [
      conversation.send,
      conversation.block,
      conversation.page.getByRole("link", { name: "Back to inbox" }),
      conversation.topBar.logout,
    ];
    for (const control of controls) {
      const box = (await control.boundingBox())!;
      expect(Math.min(box.width, box.height), (await control.textContent()) ?? "").toBeGreaterThanOrEqual(44);
    }
    await expect(conversation.input).toBeInViewport();
    await expect(conversation.send).toBeInViewport();
  });
});
