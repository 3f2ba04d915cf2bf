import { ConversationPage, expect, InboxPage, sendViaApi, test } from "./fixtures";

const LIVE = { timeout: 2_000 };

test.describe("inbox", () => {
  test("how long ago each conversation moved stays true while the page is open", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "are you there?");
    const page = await bob.newPage();
    await page.clock.install();
    const inbox = new InboxPage(page);
    await inbox.goto();
    await inbox.waitForLive();
    const when = inbox.conversationWith(alice.username).locator("time");
    await expect(when).toHaveText("just now");
    await page.clock.fastForward("03:00");
    await expect(when).toHaveText("3 min ago");
  });

  test("updates live and keeps the newest conversation on top", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const dave = await people.signUp("dave");

    const inbox = new InboxPage(await bob.newPage());
    await inbox.goto();
    await inbox.waitForLive();
    await expect(inbox.empty).toBeVisible();

    // A brand-new conversation appears without a reload.
    await sendViaApi(alice.context.request, bob.id, "hello from api");
    await expect.poll(() => inbox.peersInOrder(), LIVE).toEqual([alice.username]);
    const fromAlice = inbox.conversationWith(alice.username);
    await expect(fromAlice).toContainText(alice.username);
    await expect(fromAlice).toContainText("hello from api");
    await expect(fromAlice).not.toContainText("You:");
    await expect(fromAlice.locator("time")).toHaveText("just now");
    await expect(inbox.empty).toBeHidden();

    // Another person writes: they go on top.
    await sendViaApi(dave.context.request, bob.id, "dave here");
    await expect.poll(() => inbox.peersInOrder(), LIVE).toEqual([dave.username, alice.username]);
    await expect(inbox.conversationWith(dave.username)).toContainText("dave here");

    // Alice writes again: she moves back to the top, with her latest words.
    await sendViaApi(alice.context.request, bob.id, "alice again");
    await expect.poll(() => inbox.peersInOrder(), LIVE).toEqual([alice.username, dave.username]);
    await expect(fromAlice).toContainText("alice again");
    await expect(fromAlice).not.toContainText("hello from api");

    // Bob's own reply is shown as his, and moves that conversation up.
    await sendViaApi(bob.context.request, dave.id, "hi dave");
    await expect.poll(() => inbox.peersInOrder(), LIVE).toEqual([dave.username, alice.username]);
    await expect(inbox.conversationWith(dave.username)).toContainText("You: hi dave");

    // The same order after a reload (rendered by the server).
    await inbox.page.reload();
    await inbox.expectOnPage(bob.username);
    await expect.poll(() => inbox.peersInOrder()).toEqual([dave.username, alice.username]);

    // Each item opens its conversation.
    await fromAlice.getByRole("link").click();
    const conversation = new ConversationPage(inbox.page, alice.username);
    await conversation.expectOnPage();
    await expect(conversation.texts).toHaveText(["hello from api", "alice again"]);
  });

  test("people search finds a user and opens a conversation with them", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const inbox = new InboxPage(await alice.newPage());
    await inbox.goto();

    await inbox.search.fill(bob.username);
    await inbox.searchButton.click();
    await expect(inbox.page).toHaveURL((url) => url.pathname === "/" && url.searchParams.get("q") === bob.username);
    const result = inbox.peopleResults.getByRole("link", { name: bob.username, exact: true });
    await expect(result).toBeVisible();

    await result.click();
    const conversation = new ConversationPage(inbox.page, bob.username);
    await conversation.expectOnPage();
    await expect(conversation.empty).toBeVisible();
  });
});
