import {
  ConversationPage,
  expect,
  InboxPage,
  logInViaApi,
  LoginPage,
  PASSWORD,
  pathIs,
  sendViaApi,
  SettingsPage,
  test,
} from "./fixtures";

test.describe("your profile and leaving", () => {
  test("a display name shows to the other person, with the username beside it", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello bob");

    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();
    await settings.setDisplayName("Alice \u202Eecila");
    await expect(settings.profileError).toContainText("may not be used in names");
    await settings.setDisplayName("  Alice Liddell  ");
    await expect(settings.profileSaved).toContainText(`People see you as Alice Liddell (${alice.username})`);
    await settings.page.reload();
    await expect(settings.displayName).toHaveValue("Alice Liddell");

    const inbox = new InboxPage(await bob.newPage());
    await inbox.goto();
    const row = inbox.conversationWith(alice.username);
    await expect(row.locator(".person-name")).toHaveText("Alice Liddell");
    await expect(row.getByTestId("username-beside")).toHaveText(`@${alice.username}`);

    await row.locator("a").first().click();
    const conversation = new ConversationPage(inbox.page, alice.username);
    await expect(conversation.page).toHaveURL(pathIs(`/c/${alice.username}`));
    await expect(conversation.peerHeading).toContainText("Alice Liddell");
    await expect(conversation.peerHeading.getByTestId("username-beside")).toHaveText(`@${alice.username}`);
    await expect(conversation.input).toHaveAttribute("placeholder", /^Message Alice Liddell/);
  });

  test("delete the account: it is gone for good, and the other person sees a deleted account", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "meet me at noon");
    await sendViaApi(bob.context.request, alice.id, "where?");
    await sendViaApi(alice.context.request, bob.id, "by the old clock");

    // Bob is watching the conversation while Alice leaves.
    const conversation = new ConversationPage(await bob.newPage(), alice.username);
    await conversation.goto();
    await expect(conversation.texts).toHaveText(["meet me at noon", "where?", "by the old clock"]);

    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();
    await settings.deleteAccount(PASSWORD, "someone-else");
    await expect(settings.deleteError).toContainText(`type your username, ${alice.username}, to confirm`);
    await settings.deleteAccount("not the password", alice.username);
    await expect(settings.deleteError).toContainText("not your current password");
    await settings.deleteAccount(PASSWORD, alice.username);
    await expect(settings.page).toHaveURL(/\/login\?account=deleted$/);
    await expect(settings.page.getByTestId("account-deleted")).toContainText("Your account has been deleted");

    // Her words go from his open page at once; his stay.
    await expect(conversation.deleted()).toHaveCount(2);
    await expect(conversation.texts).toHaveText(["Message deleted", "where?", "Message deleted"]);

    // Reloaded: the conversation is whole, she is "Deleted account", and nobody can write to her.
    await conversation.page.reload();
    await expect(conversation.peerHeading).toHaveText("Deleted account");
    await expect(conversation.messages).toHaveCount(3);
    await expect(conversation.page.getByTestId("deleted-notice")).toContainText("This account was deleted");
    await expect(conversation.composer).toHaveCount(0);
    const inbox = new InboxPage(conversation.page);
    await inbox.goto();
    await expect(inbox.conversationWith(alice.username).locator(".person-name")).toHaveText("Deleted account");
    await expect(inbox.conversationWith(alice.username)).toContainText("Message deleted");

    // She cannot come back with the old password, and her name is not free yet.
    const visitor = await people.newContext();
    expect((await logInViaApi(visitor.request, alice.username)).status()).toBe(401);
    const again = await visitor.request.post("/api/auth/signup", {
      data: { username: alice.username, password: PASSWORD },
    });
    expect(again.status()).toBe(409);
  });

  test("deleting works without JavaScript", async ({ people }) => {
    const alice = await people.signUp("alice", { javaScriptEnabled: false });
    const settings = new SettingsPage(await alice.newPage());
    await settings.page.goto("/settings");
    await settings.deleteAccount(PASSWORD, alice.username);
    await expect(settings.page).toHaveURL(/\/login\?account=deleted$/);
    await expect(settings.page.getByTestId("account-deleted")).toBeVisible();
    const login = new LoginPage(settings.page);
    await login.logIn(alice.username, PASSWORD);
    await expect(login.error).toContainText("invalid username or password");
  });
});
