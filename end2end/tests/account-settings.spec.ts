import * as fs from "node:fs";
import {
  expect,
  InboxPage,
  LoginPage,
  PASSWORD,
  pathIs,
  sendViaApi,
  SettingsPage,
  signUpViaApi,
  test,
  uniqueName,
} from "./fixtures";

const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

test.describe("your account", () => {
  test("change the password, then log in with the new one (and not the old)", async ({ people }) => {
    const alice = await people.signUp("alice");
    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();

    await settings.changePasswordTo("not the password", "a brand new passphrase");
    await expect(settings.passwordError).toContainText("not your current password");
    await expect(settings.passwordChanged).toBeEmpty();

    await settings.changePasswordTo(PASSWORD, "a brand new passphrase");
    await expect(settings.passwordChanged).toContainText("Password changed");
    // Still logged in here.
    await settings.page.goto("/");
    await new InboxPage(settings.page).expectOnPage(alice.username);

    const fresh = await people.newContext();
    const login = new LoginPage(await fresh.newPage());
    await login.goto();
    await login.logIn(alice.username, PASSWORD);
    await expect(login.error).toContainText("invalid username or password");
    await login.logIn(alice.username, "a brand new passphrase");
    await new InboxPage(login.page).expectOnPage(alice.username);
  });

  test("log out another device from the list; it is logged out there at once", async ({ people }) => {
    const username = uniqueName("alice");
    const laptop = await people.newContext({ userAgent: FIREFOX });
    await signUpViaApi(laptop.request, username);
    const phone = await people.newContext({ userAgent: PHONE, viewport: { width: 390, height: 844 } });
    const phoneLogin = new LoginPage(await phone.newPage());
    await phoneLogin.goto();
    await phoneLogin.logIn(username, PASSWORD);
    const phoneInbox = new InboxPage(phoneLogin.page);
    await phoneInbox.expectOnPage(username);
    await phoneInbox.waitForLive();

    const settings = new SettingsPage(await laptop.newPage());
    await settings.goto();
    await expect(settings.thisDevice()).toContainText("Firefox on Linux");
    await expect(settings.thisDevice()).toContainText("this device");
    await expect(settings.otherDevices()).toHaveCount(1);
    await expect(settings.otherDevices()).toContainText("Chrome on Android");
    await settings.otherDevices().getByTestId("log-out-device").click();
    await expect(settings.otherDevices()).toHaveCount(0);

    // The phone's open page is told at once and goes to the login page.
    await expect(phoneLogin.page).toHaveURL(/\/login$/);
    await phoneLogin.page.goto("/");
    await phoneLogin.expectOnPage();
    // The laptop is still in.
    await settings.page.reload();
    await expect(settings.thisDevice()).toBeVisible();
  });

  test("the password and device forms work without JavaScript", async ({ people }) => {
    const username = uniqueName("alice");
    const noScript = await people.newContext({ javaScriptEnabled: false });
    await signUpViaApi(noScript.request, username);
    const other = await people.newContext();
    const otherLogin = new LoginPage(await other.newPage());
    await otherLogin.goto();
    await otherLogin.logIn(username, PASSWORD);
    await new InboxPage(otherLogin.page).expectOnPage(username);

    const settings = new SettingsPage(await noScript.newPage());
    await settings.page.goto("/settings");
    await expect(settings.otherDevices()).toHaveCount(1);
    await settings.otherDevices().getByTestId("log-out-device").click();
    await expect(settings.page).toHaveURL(pathIs("/settings"));
    await expect(settings.otherDevices()).toHaveCount(0);
    await otherLogin.page.goto("/");
    await otherLogin.expectOnPage();

    await settings.changePasswordTo(PASSWORD, "a brand new passphrase");
    await expect(settings.page).toHaveURL(pathIs("/settings"));
    const check = await people.newContext();
    const response = await check.request.post("/api/auth/login", {
      data: { username, password: "a brand new passphrase" },
    });
    expect(response.status()).toBe(200);
  });

  test("Download my data gives a JSON file with my messages", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(alice.context.request, bob.id, "hello bob");
    await sendViaApi(bob.context.request, alice.id, "hello alice");
    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();
    const [download] = await Promise.all([
      settings.page.waitForEvent("download"),
      settings.page.getByTestId("export").click(),
    ]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^parley-${alice.username}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
    const file = JSON.parse(fs.readFileSync((await download.path())!, "utf8"));
    expect(file.format).toBe("parley-export/1");
    expect(file.account.username).toBe(alice.username);
    expect(file.conversations).toHaveLength(1);
    expect(file.conversations[0].peer.username).toBe(bob.username);
    expect(file.conversations[0].messages.map((m: { message: string }) => m.message)).toEqual([
      "hello bob",
      "hello alice",
    ]);
  });
});
