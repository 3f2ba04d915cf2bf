import {
  AdminConversationPage,
  ConversationPage,
  expect,
  InboxPage,
  sendViaApi,
  signInAsAdmin,
  test,
  uniqueName,
  type Person,
} from "./fixtures";

const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

async function openConversation(person: Person, peer: Person): Promise<ConversationPage> {
  const conversation = new ConversationPage(await person.newPage(), peer.username);
  await conversation.goto();
  return conversation;
}

for (const [device, options] of [
  ["a desktop", DESKTOP],
  ["a phone", PHONE],
] as const) {
  test(`on ${device}, an edit and a deletion show live for both people, in every tab`, async ({ people }) => {
    const alice = await people.signUp("alice", options);
    const bob = await people.signUp("bob", options);
    await sendViaApi(alice.context.request, bob.id, "meet at 5");
    await sendViaApi(bob.context.request, alice.id, "fine");
    const mine = await openConversation(alice, bob);
    const myOtherTab = await openConversation(alice, bob);
    const theirs = await openConversation(bob, alice);

    await mine.startEditing("meet at 5");
    await mine.input.fill("meet at 6");
    await mine.input.press("Enter");
    await expect(mine.editingLine).toBeHidden();
    for (const view of [mine, myOtherTab, theirs]) {
      await expect(view.message("meet at 6")).toBeVisible();
      await expect(view.message("meet at 6").getByTestId("message-edited")).toHaveText("edited");
      await expect(view.message("meet at 5")).toHaveCount(0);
    }
    // Nobody edits or deletes the other person's messages.
    await theirs.message("meet at 6").hover();
    await expect(theirs.message("meet at 6").getByTestId("edit-message")).toHaveCount(0);
    await expect(theirs.message("meet at 6").getByTestId("delete-message")).toHaveCount(0);

    await mine.deleteMessage("meet at 6");
    for (const view of [mine, myOtherTab, theirs]) {
      await expect(view.deleted()).toHaveCount(1);
      await expect(view.deleted()).toContainText("Message deleted");
      await expect(view.list).not.toContainText("meet at 6");
      await expect(view.message("fine")).toBeVisible();
    }
    // After a reload, as the server has it now.
    await theirs.page.reload();
    await expect(theirs.deleted()).toHaveCount(1);
    await expect(theirs.list).not.toContainText("meet at");
  });
}

test("Up in an empty composer edits my newest message; Esc and Cancel give the draft back", async ({ people }) => {
  const alice = await people.signUp("alice", PHONE);
  const bob = await people.signUp("bob");
  await sendViaApi(bob.context.request, alice.id, "hello");
  const view = await openConversation(alice, bob);
  await view.sendWithEnter("first");
  await view.sendWithEnter("secnd");
  await view.expectState("secnd", "sent");

  await view.input.press("ArrowUp");
  await expect(view.editingLine).toBeVisible();
  await expect(view.input).toHaveValue("secnd");
  await expect(view.send).toHaveText("Save");
  await view.input.fill("second");
  await view.input.press("Enter");
  await expect(view.message("second").getByTestId("message-edited")).toBeVisible();
  await expect(view.input).toHaveValue("");

  await view.input.press("ArrowUp");
  await expect(view.input).toHaveValue("second");
  await view.input.press("Escape");
  await expect(view.editingLine).toBeHidden();
  await expect(view.input).toHaveValue("");
  // Still on the conversation: Esc closed the editor, it did not leave the page.
  await view.expectOnPage();

  // What I was writing comes back after editing another message.
  await view.input.fill("a draft in progress");
  await view.startEditing("first");
  await view.cancelEdit.click();
  await expect(view.input).toHaveValue("a draft in progress");
  await expect(view.message("first").getByTestId("message-edited")).toHaveCount(0);
});

test("Edit is offered for 15 minutes after sending, Delete always", async ({ people }) => {
  const alice = await people.signUp("alice");
  const bob = await people.signUp("bob");
  await sendViaApi(alice.context.request, bob.id, "written a while ago");
  const page = await alice.newPage();
  await page.clock.setFixedTime(new Date(Date.now() + 16 * 60 * 1000));
  const view = new ConversationPage(page, bob.username);
  await view.goto();
  const message = view.message("written a while ago");
  await message.hover();
  await expect(message.getByTestId("delete-message")).toBeVisible();
  await expect(view.editButton("written a while ago")).toHaveCount(0);
  // Up finds nothing left to edit. (The server checks the window by its own clock whatever the
  // browser offers; the integration tests hold it to that.)
  await view.input.press("ArrowUp");
  await expect(view.editingLine).toBeHidden();
  await expect(view.input).toHaveValue("");
});

test("search finds my own messages with the words marked, and opens the conversation at the hit", async ({ people }) => {
  const alice = await people.signUp("alice", DESKTOP);
  const bob = await people.signUp("bob");
  const carol = await people.signUp("carol");
  const dave = await people.signUp("dave");
  const word = uniqueName("kayak").replace(/[^a-z0-9]/g, "");
  await sendViaApi(alice.context.request, bob.id, "before the trip");
  const hit = await sendViaApi(bob.context.request, alice.id, `The blue ${word} is ready`);
  for (let n = 0; n < 40; n += 1) {
    await sendViaApi(alice.context.request, bob.id, `later ${n}`);
  }
  await sendViaApi(carol.context.request, dave.id, `a secret ${word} of someone else`);

  const inbox = new InboxPage(await alice.newPage());
  await inbox.goto();
  await inbox.messageSearch.fill(word.toUpperCase());
  await inbox.messageSearch.press("Enter");
  await expect(inbox.page).toHaveURL(/\/search\?q=/);
  const hits = inbox.page.getByTestId("search-hit");
  await expect(hits).toHaveCount(1);
  await expect(hits.first()).toContainText(`${bob.username} → you`);
  await expect(hits.first().locator("mark")).toHaveText(word);
  await expect(inbox.page.getByText("someone else")).toHaveCount(0);

  await hits.first().getByTestId("search-hit-link").click();
  const view = new ConversationPage(inbox.page, bob.username);
  await expect(inbox.page).toHaveURL(new RegExp(`/c/${bob.username}\\?at=${hit.id}$`));
  await view.waitForLive();
  const found = view.messageById(hit.id);
  await expect(found).toHaveClass(/found/);
  await expect(found).toBeInViewport();
  // Both ways from there: the newer messages below it, the older above.
  await expect(view.message("later 39")).toHaveCount(1);
  await expect(view.message("later 39")).not.toBeInViewport();
  await expect(view.message("before the trip")).toHaveCount(1);
  await view.message("later 39").scrollIntoViewIfNeeded();
  await expect(view.message("later 39")).toBeInViewport();

  // Nothing matches: said plainly.
  await inbox.page.goto(`/search?q=${word}zzz`);
  await expect(inbox.page.getByTestId("search-empty")).toHaveText("No messages match.");
});

test("search works without JavaScript, as a plain form", async ({ people }) => {
  const alice = await people.signUp("alice", { javaScriptEnabled: false });
  const bob = await people.signUp("bob");
  await sendViaApi(bob.context.request, alice.id, "a parcel for you");
  const page = await alice.newPage();
  await page.goto("/");
  const inbox = new InboxPage(page);
  await inbox.messageSearch.fill("parcel");
  await page.getByRole("button", { name: "Search messages" }).click();
  await expect(page.getByTestId("search-hit")).toHaveCount(1);
  await expect(page.getByTestId("search-hit").locator("mark")).toHaveText("parcel");
});

test("the admin console shows that a message was edited or deleted, and when, never the old text", async ({
  people,
}) => {
  const alice = await people.signUp("alice");
  const bob = await people.signUp("bob");
  const edited = await sendViaApi(alice.context.request, bob.id, "original wording");
  const deleted = await sendViaApi(alice.context.request, bob.id, "regrettable words");
  await sendViaApi(bob.context.request, alice.id, "untouched");
  const patch = await alice.context.request.patch(`/api/conversations/${bob.id}/messages/${edited.id}`, {
    data: { message: "better wording" },
  });
  expect(patch.status()).toBe(200);
  const remove = await alice.context.request.delete(`/api/conversations/${bob.id}/messages/${deleted.id}`, {
    data: {},
  });
  expect(remove.status()).toBe(200);

  const admin = await people.newAdmin("admin");
  const page = await signInAsAdmin(admin);
  const [low, high] = alice.id < bob.id ? [alice, bob] : [bob, alice];
  await page.goto(`/admin/chats/${low.id}/${high.id}`);
  const conversation = new AdminConversationPage(page);
  await conversation.giveReason(`edit review ${uniqueName("case")}`);
  await expect(conversation.texts).toHaveCount(3);
  const marks = conversation.messages.getByTestId("admin-change-mark");
  await expect(marks).toHaveCount(2);
  await expect(conversation.texts.nth(0)).toContainText(/\[edited \d{4}-\d{2}-\d{2}T[\d:.]+Z\] better wording/);
  await expect(conversation.texts.nth(1)).toHaveText(/^\s*\[deleted \d{4}-\d{2}-\d{2}T[\d:.]+Z\]\s*$/);
  await expect(page.getByText("original wording")).toHaveCount(0);
  await expect(page.getByText("regrettable")).toHaveCount(0);
});

test("on a wide screen the conversation list sits beside the open conversation; on a phone the conversation is the page", async ({
  people,
}) => {
  const alice = await people.signUp("alice", DESKTOP);
  const bob = await people.signUp("bob");
  const carol = await people.signUp("carol");
  await sendViaApi(bob.context.request, alice.id, "from bob");
  await sendViaApi(carol.context.request, alice.id, "from carol");
  const view = await openConversation(alice, bob);
  const side = view.page.getByTestId("side-inbox");
  await expect(side).toBeVisible();
  await expect(side.getByRole("link")).toHaveText([new RegExp(`^${carol.username}`), new RegExp(`^${bob.username}`)]);
  await expect(side.getByRole("link", { name: new RegExp(`^${bob.username}`) })).toHaveAttribute("aria-current", "page");
  // The list and the conversation side by side: the list on the left, both in view.
  const [list, conversation] = [(await side.boundingBox())!, (await view.list.boundingBox())!];
  expect(list.x + list.width).toBeLessThanOrEqual(conversation.x);
  await side.getByRole("link", { name: new RegExp(`^${carol.username}`) }).click();
  const withCarol = new ConversationPage(view.page, carol.username);
  await withCarol.expectOnPage();
  await expect(withCarol.message("from carol")).toBeVisible();

  await view.page.setViewportSize(PHONE.viewport);
  await expect(side).toBeHidden();
  await expect(withCarol.input).toBeInViewport();
});
