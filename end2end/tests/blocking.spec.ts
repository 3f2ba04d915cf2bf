import { ConversationPage, expect, InboxPage, sendViaApi, SettingsPage, test, type Person } from "./fixtures";

/** Opens `/c/<peer>` in a new tab of `person`'s browser and waits for the live link. */
async function openConversation(person: Person, peer: Person): Promise<ConversationPage> {
  const conversation = new ConversationPage(await person.newPage(), peer.username);
  await conversation.goto();
  return conversation;
}

/** Alice and Bob, who have both written, so they see each other's presence. */
async function twoWhoTalk(people: { signUp(prefix: string): Promise<Person> }) {
  const alice = await people.signUp("alice");
  const bob = await people.signUp("bob");
  await sendViaApi(alice.context.request, bob.id, `hi ${bob.username}`);
  await sendViaApi(bob.context.request, alice.id, `hi ${alice.username}`);
  return { alice, bob };
}

const LIVE = { timeout: 2_000 };

test.describe("blocking", () => {
  test("a blocked person cannot write and sees no presence; unblocking in settings undoes it", async ({
    people,
  }) => {
    const { alice, bob } = await twoWhoTalk(people);
    const aliceTab = await openConversation(alice, bob);
    const bobTab = await openConversation(bob, alice);
    await expect(aliceTab.presence).toHaveText("online", LIVE);

    // Bob blocks Alice from their conversation: the composer gives way to a notice.
    await bobTab.block.click();
    await expect(bobTab.blockedNotice).toContainText(`You blocked ${alice.username}`);
    await expect(bobTab.composer).toBeHidden();
    // Alice no longer sees whether he is online.
    await expect(aliceTab.presence).toHaveText("offline", LIVE);

    // Her messages are refused, and she is told no more than that.
    const refused = "are you there?";
    const dropped = "never mind";
    await aliceTab.sendWithEnter(dropped);
    await expect(aliceTab.message(dropped)).toHaveAttribute("data-state", "failed", LIVE);
    await aliceTab.message(dropped).getByTestId("discard").click();
    await expect(aliceTab.message(dropped)).toHaveCount(0);
    await aliceTab.sendWithEnter(refused);
    await expect(aliceTab.message(refused)).toHaveAttribute("data-state", "failed", LIVE);
    await expect(aliceTab.message(refused).getByTestId("message-state")).toHaveText(
      "not sent: you can't message this person",
    );
    await expect(bobTab.texts).toHaveText([`hi ${bob.username}`, `hi ${alice.username}`]);

    // Bob's inbox no longer lists her; his settings do.
    const bobInbox = new InboxPage(await bob.newPage());
    await bobInbox.goto();
    await expect(bobInbox.conversationWith(alice.username)).toHaveCount(0);
    const settings = new SettingsPage(await bob.newPage());
    await settings.goto();
    await expect(settings.blocked(alice.username)).toBeVisible();

    await settings.unblock(alice.username);
    await expect(settings.blocked(alice.username)).toHaveCount(0);
    await expect(settings.nobodyBlocked).toBeVisible();

    // At once they see each other again. The message refused while blocked waits with Retry and
    // Delete: sent again, it reaches him (once); deleted, another never does.
    await expect(aliceTab.presence).toHaveText("online", LIVE);
    await aliceTab.message(refused).getByTestId("retry").click();
    await expect(bobTab.message(refused)).toHaveCount(1, LIVE);
    // His open tab reads it at once.
    await aliceTab.expectState(refused, "read", LIVE);
    const welcome = "hello again";
    await aliceTab.sendWithEnter(welcome);
    await expect(bobTab.message(welcome)).toBeVisible(LIVE);
    await aliceTab.expectState(welcome, "read", LIVE);
    await expect(bobTab.message(dropped)).toHaveCount(0);
    await expect(aliceTab.message(dropped)).toHaveCount(0);
  });

  test("blocking from the inbox takes the conversation out of it", async ({ people }) => {
    const { alice, bob } = await twoWhoTalk(people);
    const bobInbox = new InboxPage(await bob.newPage());
    await bobInbox.goto();
    await bobInbox.waitForLive();
    await expect(bobInbox.conversationWith(alice.username)).toHaveCount(1);

    await bobInbox.blockButton(alice.username).click();
    await expect(bobInbox.conversationWith(alice.username)).toHaveCount(0);
    await bobInbox.page.reload();
    await bobInbox.expectOnPage();
    await expect(bobInbox.conversationWith(alice.username)).toHaveCount(0);

    // The conversation still opens from its address, with Unblock where the composer was.
    const bobTab = await openConversation(bob, alice);
    await expect(bobTab.texts).toHaveText([`hi ${bob.username}`, `hi ${alice.username}`]);
    await expect(bobTab.unblock).toBeVisible();
    const response = await alice.context.request.post(`/api/conversations/${bob.id}/messages`, {
      data: { message: "hello?" },
    });
    expect(response.status()).toBe(403);
  });
});
