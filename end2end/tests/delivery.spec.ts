import { ConversationPage, expect, InboxPage, sendViaApi, test, type Person } from "./fixtures";

/** Opens `/c/<peer>` in a new tab of `person`'s browser and waits for the live link. */
async function openConversation(person: Person, peer: Person): Promise<ConversationPage> {
  const conversation = new ConversationPage(await person.newPage(), peer.username);
  await conversation.goto();
  return conversation;
}

/** The texts of the conversation between `person` and `peer`, as the server has stored them. */
async function storedTexts(person: Person, peer: Person): Promise<string[]> {
  const response = await person.context.request.get(`/api/conversations/${peer.id}/messages`);
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { messages: { message: string }[] };
  return body.messages.map((m) => m.message);
}

/** How long a live update may take to show up on another screen. */
const LIVE = { timeout: 2_000 };
/** Reconnecting after `online` goes through the socket handshake and the resume replay. */
const RECONNECT = { timeout: 5_000 };
/** The typing indicator goes about 4 s after the last notice; notices come at most every 2 s. */
const TYPING_GONE = { timeout: 8_000 };

test.describe("delivery", () => {
  test("messages sent while the reader is offline arrive once, in order, when they come back", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const before = `before the outage, ${bob.username}`;
    const answer = `hello ${alice.username}`;
    await sendViaApi(alice.context.request, bob.id, before);
    await sendViaApi(bob.context.request, alice.id, answer);
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);
    await expect(bobTab.texts).toHaveText([before, answer]);
    // Both have written, so each sees the other's presence.
    await expect(aliceTab.presence).toHaveText("online", LIVE);
    await expect(aliceTab.presence).toHaveAttribute("data-online", "true");
    await expect(bobTab.presence).toHaveText("online", LIVE);

    await bob.context.setOffline(true);
    await bobTab.expectOffline();
    await expect(aliceTab.presence).toHaveText("offline", LIVE);

    const during = ["one while you were away", "two while you were away", "three while you were away"];
    for (const text of during) {
      await aliceTab.sendWithEnter(text);
      // Confirmed by the server before the next one is written.
      await aliceTab.expectState(text, "sent", LIVE);
    }
    await expect(aliceTab.texts).toHaveText([before, answer, ...during]);
    // Nothing reached Bob's page while it was offline.
    await expect(bobTab.texts).toHaveText([before, answer]);

    await bob.context.setOffline(false);
    await expect(bobTab.linkStatus).toHaveText("live", RECONNECT);
    // The resume brings exactly what was missed: each message once, in order, no reload.
    await expect(bobTab.texts).toHaveText([before, answer, ...during], LIVE);
    await expect(bobTab.messages).toHaveCount(2 + during.length);
    for (const text of during) {
      await expect(bobTab.message(text)).toHaveAttribute("data-state", "received");
    }
    await expect(aliceTab.presence).toHaveText("online", LIVE);

    // And the live link works again afterwards.
    const after = "welcome back";
    await aliceTab.sendWithEnter(after);
    await expect(bobTab.texts).toHaveText([before, answer, ...during, after], LIVE);
  });

  test("a message written offline waits as pending and is sent once when back online", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const hello = `hello ${bob.username}`;
    await sendViaApi(alice.context.request, bob.id, hello);

    // Alice watches her inbox (which does not mark anything read), not the conversation.
    const aliceInbox = new InboxPage(await alice.newPage());
    await aliceInbox.goto();
    await aliceInbox.waitForLive();
    await expect(aliceInbox.conversationWith(bob.username)).toContainText(`You: ${hello}`);

    const bobTab = await openConversation(bob, alice);
    await bob.context.setOffline(true);
    await bobTab.expectOffline();

    const reply = `written offline by ${bob.username}`;
    await bobTab.sendWithEnter(reply);
    await expect(bobTab.input).toHaveValue("");
    // Shown at once as Bob's, pending, after everything else.
    await bobTab.expectState(reply, "pending");
    await expect(bobTab.message(reply)).toHaveAttribute("data-mine", "true");
    await expect(bobTab.texts).toHaveText([hello, reply]);
    await expect(bobTab.messages.last()).toHaveAttribute("data-state", "pending");
    // Not sent anywhere yet.
    expect(await storedTexts(alice, bob)).toEqual([hello]);
    await expect(aliceInbox.conversationWith(bob.username)).toContainText(`You: ${hello}`);

    await bob.context.setOffline(false);
    await expect(bobTab.linkStatus).toHaveText("live", RECONNECT);
    // Confirmed: the stored message replaces the pending one (no second copy on the page).
    await bobTab.expectState(reply, "sent", LIVE);
    await expect(bobTab.texts).toHaveText([hello, reply]);
    await expect(bobTab.message(reply)).toHaveCount(1);

    // Alice gets it live, once.
    await expect(aliceInbox.conversationWith(bob.username)).toContainText(reply, LIVE);
    await expect(aliceInbox.unreadCount(bob.username)).toHaveText("1");
    expect(await storedTexts(alice, bob)).toEqual([hello, reply]);
    const aliceTab = new ConversationPage(aliceInbox.page, bob.username);
    await aliceInbox.conversationWith(bob.username).getByRole("link").click();
    await aliceTab.expectOnPage();
    await expect(aliceTab.texts).toHaveText([hello, reply]);
    await aliceTab.waitForLive();
    await expect(aliceTab.message(reply)).toHaveCount(1);
    await aliceTab.expectState(reply, "received");

    // Alice has now read it, and Bob sees that.
    await bobTab.expectState(reply, "read", LIVE);
  });

  test("the reader sees when the writer is typing, until they stop or send", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    // Typing notices are only relayed between two people who have both written.
    await sendViaApi(bob.context.request, alice.id, `hi ${alice.username}`);
    await sendViaApi(alice.context.request, bob.id, `hi ${bob.username}`);
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);
    await expect(bobTab.typing).toBeEmpty();

    const typing = `${alice.username} is typing…`;
    await aliceTab.input.click();
    await aliceTab.input.pressSequentially("let me think");
    await expect(bobTab.typing).toHaveText(typing, LIVE);
    await expect(bobTab.typing).toBeVisible();

    // Alice stops typing (the draft stays in her box): the indicator goes away by itself.
    await expect(bobTab.typing).toBeEmpty(TYPING_GONE);
    await expect(bobTab.messages).toHaveCount(2);

    // She types again and sends: the indicator comes back, and goes as soon as the message lands
    // (well before it would time out).
    await aliceTab.input.pressSequentially(" about it");
    await expect(bobTab.typing).toHaveText(typing, LIVE);
    await aliceTab.input.press("Enter");
    await expect(bobTab.message("let me think about it")).toBeVisible(LIVE);
    await expect(bobTab.typing).toBeEmpty({ timeout: 1_500 });

    // Bob never typed, so Alice never saw an indicator.
    await expect(aliceTab.typing).toBeEmpty();
  });

  test("unread counts and read marks update live across people and tabs", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const dave = await people.signUp("dave");
    // Bob has written to Alice before, so his read marks reach her.
    const hello = `hello ${alice.username}`;
    await sendViaApi(bob.context.request, alice.id, hello);

    const bobInbox = new InboxPage(await bob.newPage());
    await bobInbox.goto();
    await bobInbox.waitForLive();
    await expect(bobInbox.page).toHaveTitle("Inbox · Parley");
    const aliceTab = await openConversation(alice, bob);

    const first = `first of two for ${bob.username}`;
    const second = `second of two for ${bob.username}`;
    await aliceTab.sendWithEnter(first);
    await aliceTab.expectState(first, "sent", LIVE);
    await aliceTab.sendWithEnter(second);
    await aliceTab.expectState(second, "sent", LIVE);

    // Bob's inbox counts them as they arrive, and so does its tab title.
    await expect(bobInbox.unreadCount(alice.username)).toHaveText("2", LIVE);
    await expect(bobInbox.page).toHaveTitle("(2) Inbox · Parley");
    await expect(bobInbox.conversationWith(alice.username)).toContainText(second);

    // Bob opens the conversation in another tab: that reads them.
    const bobTab = await openConversation(bob, alice);
    await expect(bobTab.texts).toHaveText([hello, first, second]);

    // The inbox tab drops the count without a reload...
    await expect(bobInbox.unreadCount(alice.username)).toHaveCount(0, LIVE);
    await expect(bobInbox.page).toHaveTitle("Inbox · Parley");
    await expect(bobTab.page).toHaveTitle(`${alice.username} · Parley`);
    // ...and Alice sees both of her messages as read.
    await aliceTab.expectState(first, "read", LIVE);
    await aliceTab.expectState(second, "read", LIVE);

    // Unread messages elsewhere show in the open conversation's title, and in the inbox.
    await sendViaApi(dave.context.request, bob.id, `hey ${bob.username}, dave here`);
    await expect(bobTab.page).toHaveTitle(`(1) ${alice.username} · Parley`, LIVE);
    await expect(bobInbox.unreadCount(dave.username)).toHaveText("1", LIVE);
    await expect(bobInbox.page).toHaveTitle("(1) Inbox · Parley");
    await expect(bobInbox.unreadCount(alice.username)).toHaveCount(0);
  });
});
