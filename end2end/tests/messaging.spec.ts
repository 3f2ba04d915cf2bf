import { ConversationPage, expect, InboxPage, sendViaApi, test, type Person } from "./fixtures";
import type { Page, WebSocket as PwWebSocket } from "@playwright/test";

/** Opens `/c/<peer>` in a new tab of `person`'s browser and waits for the live link. */
async function openConversation(person: Person, peer: Person): Promise<ConversationPage> {
  const conversation = new ConversationPage(await person.newPage(), peer.username);
  await conversation.goto();
  return conversation;
}

/** Everything the page's WebSocket(s) receive, as raw text. */
function recordSocketFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on("websocket", (socket: PwWebSocket) => {
    socket.on("framereceived", (frame) => frames.push(String(frame.payload)));
  });
  return frames;
}

/** How long a live message may take to show up on another screen. */
const LIVE = { timeout: 2_000 };

test.describe("messaging", () => {
  test("two people chat live; a second tab and a reload show the same history", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);
    const aliceSecondTab = await openConversation(alice, bob);
    for (const tab of [aliceTab, bobTab, aliceSecondTab]) {
      await expect(tab.empty).toBeVisible();
    }

    const hello = `Hi ${bob.username}, are you there?`;
    await aliceTab.sendWithEnter(hello);
    await expect(bobTab.message(hello)).toBeVisible(LIVE);
    await expect(bobTab.empty).toBeHidden();

    const reply = `Yes ${alice.username}, right here.`;
    await bobTab.sendWithEnter(reply);
    await expect(aliceTab.message(reply)).toBeVisible(LIVE);

    // Everyone shows both, oldest first; the second tab got them live too.
    await expect(aliceSecondTab.texts).toHaveText([hello, reply], LIVE);
    await expect(aliceTab.texts).toHaveText([hello, reply]);
    await expect(bobTab.texts).toHaveText([hello, reply]);
    await expect(aliceTab.message(hello)).toHaveAttribute("data-mine", "true");
    await expect(aliceSecondTab.message(reply)).toHaveAttribute("data-mine", "false");

    // The history was stored: a reload, rendered by the server, shows it in order.
    await bobTab.page.reload();
    await bobTab.expectOnPage();
    await expect(bobTab.texts).toHaveText([hello, reply]);
    await expect(bobTab.messages.nth(0)).toHaveAttribute("data-mine", "false");
    await expect(bobTab.messages.nth(1)).toHaveAttribute("data-mine", "true");
    // Each message appears once (no duplicate from the live copy and the stored copy).
    await bobTab.waitForLive();
    await expect(bobTab.messages).toHaveCount(2);
  });

  test("a third person cannot see someone else's conversation", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const carol = await people.signUp("carol");

    const secret = `for ${bob.username} only: the cake is in the fridge`;
    const answer = `thanks ${alice.username}, not telling anyone`;
    await sendViaApi(alice.context.request, bob.id, secret);
    await sendViaApi(bob.context.request, alice.id, answer);

    // Control: the two of them do see it.
    const aliceHistory = await alice.context.request.get(`/api/conversations/${bob.id}/messages`);
    expect(aliceHistory.status()).toBe(200);
    const aliceMessages = ((await aliceHistory.json()) as { messages: { message: string }[] }).messages;
    expect(aliceMessages.map((m) => m.message)).toEqual([secret, answer]);

    // Carol, on her conversation with Bob and with Alice: empty, and nothing of theirs in the HTML.
    const carolPage = await carol.newPage();
    const carolFrames = recordSocketFrames(carolPage);
    for (const peer of [bob, alice]) {
      const view = new ConversationPage(carolPage, peer.username);
      await view.goto();
      await expect(view.empty).toBeVisible();
      await expect(view.messages).toHaveCount(0);
      const html = await carolPage.content();
      expect(html).not.toContain(secret);
      expect(html).not.toContain(answer);
    }

    // Carol's inbox is empty too.
    const carolInbox = new InboxPage(carolPage);
    await carolInbox.goto();
    await expect(carolInbox.empty).toBeVisible();

    // Through the API, Carol's "conversation with Alice" holds only Carol–Alice messages: none.
    for (const peer of [alice, bob]) {
      const response = await carol.context.request.get(`/api/conversations/${peer.id}/messages`);
      expect(response.status()).toBe(200);
      const body = (await response.json()) as { messages: unknown[]; has_more: boolean };
      expect(body.messages).toEqual([]);
      expect(body.has_more).toBe(false);
    }

    // Live traffic does not leak either: with Carol's inbox and Bob's conversation both live,
    // Alice writes again; Bob gets it, and nothing about it reaches Carol's socket.
    await carolInbox.waitForLive();
    const bobTab = await openConversation(bob, alice);
    const later = `one more secret for ${bob.username}`;
    await sendViaApi(alice.context.request, bob.id, later);
    await expect(bobTab.message(later)).toBeVisible(LIVE);
    await expect(carolInbox.empty).toBeVisible();
    // (Carol's socket did receive frames, e.g. its own connection status: the check is not vacuous.)
    expect(carolFrames.length).toBeGreaterThan(0);
    for (const frame of carolFrames) {
      expect(frame).not.toContain(later);
      expect(frame).not.toContain(secret);
    }
  });

  test("message text is shown as text, never run as HTML", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);

    const payload = "<script>window.__pwned = 1</script><b>bold</b>";
    await aliceTab.sendWithEnter(payload);

    const check = async (tab: ConversationPage) => {
      await expect(tab.texts).toHaveText([payload], LIVE);
      await expect(tab.list.locator("b")).toHaveCount(0);
      await expect(tab.list.locator("script")).toHaveCount(0);
      expect(await tab.page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
    };
    // Rendered by the browser from the live message...
    await check(aliceTab);
    await check(bobTab);
    // ...and by the server from the stored one.
    for (const tab of [aliceTab, bobTab]) {
      await tab.page.reload();
      await tab.expectOnPage();
      await check(tab);
      await tab.waitForLive();
      await check(tab);
    }
  });

  test("Shift+Enter adds a line, Enter sends, and each side knows whose message it is", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);

    // The composer is labelled for screen readers with who the message goes to.
    await expect(aliceTab.page.getByLabel(`Message ${bob.username}`, { exact: true })).toHaveAttribute(
      "data-testid",
      "composer-input",
    );
    await aliceTab.input.click();
    await aliceTab.input.pressSequentially("line one");
    await aliceTab.input.press("Shift+Enter");
    await aliceTab.input.pressSequentially("line two");
    // Shift+Enter did not send: both lines are still in the box.
    await expect(aliceTab.input).toHaveValue("line one\nline two");
    await expect(aliceTab.messages).toHaveCount(0);

    await aliceTab.input.press("Enter");
    await expect(aliceTab.input).toHaveValue("");

    await expect(aliceTab.messages).toHaveCount(1);
    await expect(aliceTab.messages.first()).toHaveAttribute("data-mine", "true");
    await expect(bobTab.messages).toHaveCount(1, LIVE);
    await expect(bobTab.messages.first()).toHaveAttribute("data-mine", "false");

    for (const tab of [aliceTab, bobTab]) {
      const text = tab.texts.first();
      // Stored with its line break, and shown on two lines (what the reader sees).
      await expect(text).toHaveJSProperty("textContent", "line one\nline two");
      await expect.poll(() => text.innerText()).toBe("line one\nline two");
    }
    await expect(aliceTab.sendError).toBeEmpty();
  });

  test("older messages load on demand, 50 at a time", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const sent: string[] = [];
    for (let i = 1; i <= 55; i++) {
      const text = `message number ${i}`;
      await sendViaApi(alice.context.request, bob.id, text);
      sent.push(text);
    }

    // Read once: a conversation with unread messages opens at the first unread one (and, when
    // that is above the first page, loads older pages to reach it), which is not this test.
    await (await openConversation(bob, alice)).page.close();
    const bobTab = await openConversation(bob, alice);
    // The newest page first...
    await expect(bobTab.texts).toHaveText(sent.slice(5));
    await expect(bobTab.loadOlder).toBeVisible();

    // ...and the rest when asked for, in order, with nothing left to load. The click is
    // dispatched where the button is: a real click would first scroll it into view, and
    // scrolling near the top loads the older page by itself, racing the click (the button can
    // be gone by the time it lands).
    await bobTab.loadOlder.dispatchEvent("click");
    await expect(bobTab.texts).toHaveText(sent);
    await expect(bobTab.loadOlder).toBeHidden();
  });
});
