import { expect, InboxPage, LoginPage, PASSWORD, signInAsAdmin, test } from "./fixtures";

test("an admin makes a reset link; its owner sets a new password with it, once", async ({ people }) => {
  const alice = await people.signUp("alice");
  const admin = await people.newAdmin("admin");
  const page = await signInAsAdmin(admin);
  await page.goto("/admin");
  const form = page.getByTestId("reset-link-form");
  await form.getByLabel("Username").fill(alice.username);
  await form.getByLabel("Reason").fill("forgot the password, ticket #7");
  await form.getByRole("button", { name: "Make link" }).click();
  const link = page.getByTestId("reset-link");
  await expect(link).toHaveText(/^http:\/\/127\.0\.0\.1:\d+\/reset\/[0-9a-f]{64}$/);
  const address = (await link.textContent())!;

  // Alice's open tab is logged out when the link is used.
  const aliceInbox = new InboxPage(await alice.newPage());
  await aliceInbox.goto();
  await aliceInbox.waitForLive();

  const stranger = await people.newContext();
  const resetPage = await stranger.newPage();
  await resetPage.goto(address);
  await expect(resetPage.getByRole("heading", { name: "Set a new password" })).toBeVisible();
  await expect(resetPage.getByText(`For ${alice.username}.`)).toBeVisible();
  await resetPage.getByLabel("New password").fill("a brand new passphrase");
  await resetPage.getByRole("button", { name: "Set password" }).click();
  const login = new LoginPage(resetPage);
  await login.expectOnPage();
  await expect(aliceInbox.page).toHaveURL(/\/login$/);

  await login.logIn(alice.username, PASSWORD);
  await expect(login.error).toContainText("invalid username or password");
  await login.logIn(alice.username, "a brand new passphrase");
  await new InboxPage(resetPage).expectOnPage(alice.username);

  // Used: the link says so.
  const again = await (await people.newContext()).newPage();
  await again.goto(address);
  await expect(again.getByRole("heading", { name: "This link does not work" })).toBeVisible();
  await expect(again.getByLabel("New password")).toHaveCount(0);

  // The audit log has it, with the reason.
  await page.goto("/admin/audit");
  await expect(page.getByTestId("admin-audit").first()).toBeVisible();
  await expect(page.locator("body")).toContainText("forgot the password, ticket #7");
});
