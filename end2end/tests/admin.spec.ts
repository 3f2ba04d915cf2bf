import {
  AdminAuditPage,
  AdminChatsPage,
  AdminConversationPage,
  AdminSearchPage,
  AdminUsersPage,
  between,
  ConversationPage,
  EXACT_DATE,
  expect,
  InboxPage,
  LoginPage,
  logInViaApi,
  pathIs,
  sendViaApi,
  signInAsAdmin,
  test,
  uniqueName,
  waitUntilSettled,
} from "./fixtures";
import type { Page } from "@playwright/test";

/** The not-found page every /admin page is to anyone but an admin. */
async function expectNotFound(page: Page, path: string, who: string, options: { soft?: boolean } = {}): Promise<void> {
  // Soft: a test checking many pages reports every one that is wrong, not just the first.
  const check = options.soft ? expect.soft : expect;
  const response = await page.goto(path);
  check(response?.status(), `status of ${path} (${who})`).toBe(404);
  // Not sent anywhere else (an anonymous visitor is not redirected to /login).
  check(response?.request().redirectedFrom() ?? null, `${path} redirected (${who})`).toBeNull();
  await check(page, `URL after ${path} (${who})`).toHaveURL(pathIs(new URL(path, "http://x").pathname));
  // The very page an unknown address gets.
  await check(page.getByTestId("not-found"), `not-found page on ${path} (${who})`).toBeVisible();
  for (const part of ["admin-users", "admin-chats", "admin-messages", "admin-audit", "reason-form"]) {
    await check(page.getByTestId(part), `${part} on ${path} (${who})`).toHaveCount(0);
  }
}

test.describe("admin console", () => {
  test("an admin finds a chat, gives a reason, reads it in order, and the read is audited", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const sent = [
      `hi ${bob.username}, first message`,
      `hello ${alice.username}, second message`,
      `and a third one from ${alice.username}`,
    ];
    await sendViaApi(alice.context.request, bob.id, sent[0]);
    await sendViaApi(bob.context.request, alice.id, sent[1]);
    await sendViaApi(alice.context.request, bob.id, sent[2]);

    const admin = await people.newAdmin("admin");
    const page = await signInAsAdmin(admin);

    // The Admin link opens the console; its navigation leads to the chats.
    await new InboxPage(page).topBar.adminLink.click();
    const users = new AdminUsersPage(page);
    await users.expectOnPage();
    await users.navLink("Chats").click();
    const chats = new AdminChatsPage(page);
    await chats.expectOnPage();

    // Narrowed to Alice's chats: the one with Bob, named lower id first.
    await chats.filter.fill(alice.username);
    await chats.filterButton.click();
    await expect(page).toHaveURL((url) => url.pathname === "/admin/chats" && url.searchParams.get("user") === alice.username);
    const chat = chats.chat(between(alice, bob));
    await expect(chat).toHaveCount(1);
    await expect(chats.rows).toHaveCount(1);
    const [low, high] = alice.id < bob.id ? [alice, bob] : [bob, alice];
    const open = chat.getByRole("link", { name: "Open" });
    await expect(open).toHaveAttribute("href", `/admin/chats/${low.id}/${high.id}`);
    await open.click();

    // Nothing is shown before a reason is given.
    await expect(page).toHaveURL(pathIs(`/admin/chats/${low.id}/${high.id}`));
    const conversation = new AdminConversationPage(page);
    await expect(conversation.reasonForm).toBeVisible();
    await expect(conversation.table).toHaveCount(0);
    for (const text of sent) {
      await expect(page.getByText(text)).toHaveCount(0);
    }

    const reason = `abuse report ${uniqueName("case")}`;
    await conversation.giveReason(reason);
    // Posted, not put in the address (where a link from anywhere could carry it).
    await expect(page).toHaveURL((url) => url.pathname === `/admin/chats/${low.id}/${high.id}` && url.search === "");
    await expect(conversation.pair).toHaveText(between(alice, bob));
    await expect(conversation.recordedReason).toHaveText(reason);
    // Every message, oldest first, with its exact date.
    await expect(conversation.texts).toHaveText(sent);
    const ids = await conversation.idsInOrder();
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const dates = await conversation.datesInOrder();
    expect(dates).toHaveLength(sent.length);
    for (const date of dates) {
      expect(date).toMatch(EXACT_DATE);
    }
    expect(dates).toEqual([...dates].sort());

    // The read is in the audit log, with who did it and why.
    await conversation.navLink("Audit log").click();
    const audit = new AdminAuditPage(page);
    await audit.expectOnPage();
    const entry = audit.entry("view_conversation", reason);
    await expect(entry).toHaveCount(1);
    await expect(entry).toContainText(admin.username);
    await expect(entry).toContainText(between(alice, bob));

    // Above the log: the retention policy the server runs with, and its latest run.
    const retention = page.getByTestId("retention-policy");
    await expect(retention).toContainText("Messages older than 3650 days are removed");
    await expect(page.getByTestId("retention-last-run")).toContainText(/^Last run \d{4}-\d\d-\d\dT[\d:.]+Z: removed \d+ messages? dated before/);
  });

  test("a link with a reason reads nothing; each page of a long conversation is a posted, audited read", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const lines = Array.from({ length: 55 }, (_, n) => `line ${n} ${uniqueName("m")}`);
    for (const line of lines) {
      await sendViaApi(alice.context.request, bob.id, line);
    }
    const [low, high] = alice.id < bob.id ? [alice, bob] : [bob, alice];
    const admin = await people.newAdmin("admin");
    const page = await signInAsAdmin(admin);

    // As if following a link from elsewhere: the form, and nothing read.
    const linked = `from a link ${uniqueName("case")}`;
    await page.goto(`/admin/chats/${low.id}/${high.id}?reason=${encodeURIComponent(linked)}`);
    const conversation = new AdminConversationPage(page);
    await expect(conversation.reasonForm).toBeVisible();
    await expect(conversation.table).toHaveCount(0);

    const reason = `paging ${uniqueName("case")}`;
    await conversation.giveReason(reason);
    await expect(conversation.texts).toHaveCount(50);
    await expect(conversation.texts.last()).toHaveText(lines[54]);
    await Promise.all([
      page.waitForResponse((res) => res.request().method() === "POST" && res.url().includes("/admin/chats/")),
      conversation.older.click(),
    ]);
    await expect(conversation.texts).toHaveText(lines.slice(0, 5));
    await expect(conversation.recordedReason).toHaveText(reason);
    await expect(conversation.older).toHaveCount(0);

    const audit = new AdminAuditPage(page);
    await audit.goto();
    await expect(audit.entry("view_conversation", reason)).toHaveCount(2);
    await expect(audit.entry("view_conversation", linked)).toHaveCount(0);
  });

  test("the console is not found for a logged-in non-admin or an anonymous visitor", async ({ people, page }) => {
    const bob = await people.signUp("bob");
    const bobPage = await bob.newPage();

    // No Admin link for Bob...
    const inbox = new InboxPage(bobPage);
    await inbox.goto();
    await expect(inbox.topBar.currentUser).toHaveText(bob.username);
    await expect(inbox.topBar.adminLink).toHaveCount(0);

    // ...and typing the address gets the not-found page, as for an anonymous visitor.
    await expectNotFound(bobPage, "/admin", "non-admin");
    await expectNotFound(page, "/admin", "anonymous");
  });

  test("every admin page, the reason form included, is not found for non-admins", async ({ people, page }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "a private word");
    const [low, high] = alice.id < bob.id ? [alice, bob] : [bob, alice];
    const paths = [
      "/admin",
      `/admin?q=${bob.username}`,
      "/admin/chats",
      `/admin/chats?user=${alice.username}`,
      `/admin/chats/${low.id}/${high.id}`,
      `/admin/chats/${low.id}/${high.id}?reason=curious`,
      "/admin/search",
      "/admin/search?q=private",
      "/admin/audit",
    ];
    const bobPage = await bob.newPage();
    for (const path of paths) {
      await expectNotFound(bobPage, path, "non-admin", { soft: true });
      await expectNotFound(page, path, "anonymous", { soft: true });
    }
  });

  test("an admin searches message text and opens a hit; the search is audited", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    // A word nobody else in the run writes, so the hits are exactly ours.
    const word = `zebra${uniqueName("w").replace(/[^a-z0-9]/g, "")}`;
    await sendViaApi(alice.context.request, bob.id, "nothing to see here");
    await sendViaApi(bob.context.request, alice.id, `the ${word} is out`);
    await sendViaApi(alice.context.request, bob.id, "after the hit");

    const admin = await people.newAdmin("admin");
    const page = await signInAsAdmin(admin);
    await page.goto("/admin/search");
    const search = new AdminSearchPage(page);
    await search.words.fill(word);
    await search.search.click();
    await expect(page).toHaveURL((url) => url.pathname === "/admin/search" && url.searchParams.get("q") === word);
    await expect(search.hits).toHaveCount(1);
    await expect(search.hits).toContainText(`the ${word} is out`);
    await expect(search.empty).toHaveCount(0);

    // The hit opens that conversation (after a reason), ending at the hit.
    await search.hits.getByRole("link").click();
    const conversation = new AdminConversationPage(page);
    await expect(conversation.reasonForm).toBeVisible();
    const reason = `following search ${uniqueName("case")}`;
    await conversation.giveReason(reason);
    await expect(conversation.pair).toHaveText(between(alice, bob));
    await expect(conversation.texts).toHaveText(["nothing to see here", `the ${word} is out`]);

    // A search for something nobody wrote finds nothing.
    const nothing = `nothing${uniqueName("w").replace(/[^a-z0-9]/g, "")}`;
    await page.goto("/admin/search");
    await search.words.fill(nothing);
    await search.search.click();
    await expect(search.empty).toBeVisible();
    await expect(search.hits).toHaveCount(0);

    const audit = new AdminAuditPage(page);
    await audit.goto();
    await expect(audit.entry("search", word)).toHaveCount(1);
    await expect(audit.entry("search", word)).toContainText(admin.username);
    await expect(audit.entry("search", nothing)).toHaveCount(1);
    await expect(audit.entry("view_conversation", reason)).toHaveCount(1);
  });

  test("an admin disables and re-enables an account; the disabled user is sent to the login page", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello bob");
    const bobTab = new ConversationPage(await bob.newPage(), alice.username);
    await bobTab.goto();

    const admin = await people.newAdmin("admin");
    const page = await signInAsAdmin(admin);
    const users = new AdminUsersPage(page);
    await users.goto();
    await users.filter.fill(bob.username);
    await users.filterButton.click();
    await expect(page).toHaveURL((url) => url.pathname === "/admin" && url.searchParams.get("q") === bob.username);
    await expect(users.rows).toHaveCount(1);
    await expect(users.status(bob.username)).toHaveText("active");
    // The button below is a plain form: a click posts, and the page reloads with the new state.
    await waitUntilSettled(page);

    await users.toggle(bob.username, "Disable").click();
    await expect(users.status(bob.username)).toHaveText("disabled");
    await expect(users.toggle(bob.username, "Enable")).toBeVisible();

    // Bob's open page is told at once and goes to the login page; he cannot log back in.
    await new LoginPage(bobTab.page).expectOnPage();
    expect((await logInViaApi(bob.context.request, bob.username, bob.password)).status()).toBe(403);
    expect((await bob.context.request.get(`/api/conversations/${alice.id}/messages`)).status()).toBe(401);

    await users.toggle(bob.username, "Enable").click();
    await expect(users.status(bob.username)).toHaveText("active");
    await expect(users.toggle(bob.username, "Disable")).toBeVisible();
    expect((await logInViaApi(bob.context.request, bob.username, bob.password)).status()).toBe(200);

    const audit = new AdminAuditPage(page);
    await audit.goto();
    await expect(audit.entry("disable_user", bob.username)).toHaveCount(1);
    await expect(audit.entry("enable_user", bob.username)).toHaveCount(1);
    await expect(audit.entry("disable_user", bob.username)).toContainText(admin.username);
  });
});
