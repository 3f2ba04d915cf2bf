import {
  expect,
  InboxPage,
  logInViaApi,
  LoginPage,
  PASSWORD,
  pathIs,
  signUpViaApi,
  SignupPage,
  test,
  uniqueName,
  waitUntilSettled,
  type ApiUser,
} from "./fixtures";

test.describe("accounts", () => {
  test("sign up on the page, log out, and log back in", async ({ page }) => {
    const name = uniqueName("alice");
    const login = new LoginPage(page);
    const signup = new SignupPage(page);
    const inbox = new InboxPage(page);

    // A newcomer starts at the login page and follows the link to make an account.
    await login.goto();
    await login.signupLink.click();
    await expect(page).toHaveURL(pathIs("/signup"));
    await expect(signup.form).toBeVisible();
    await waitUntilSettled(page);

    await signup.signUp(name, PASSWORD);
    await inbox.expectOnPage(name);
    await expect(inbox.empty).toBeVisible();
    // Hydrated and connected: logging out also closes the live socket.
    await inbox.waitForLive();

    await inbox.topBar.logout.click();
    await login.expectOnPage();
    await expect(inbox.topBar.currentUser).toHaveCount(0);

    // Really logged out: the inbox is out of reach again.
    await page.goto("/");
    await login.expectOnPage();
    await waitUntilSettled(page);

    await login.logIn(name, PASSWORD);
    await inbox.expectOnPage(name);
  });

  test("a wrong password shows an error and stays on the login page", async ({ page, request }) => {
    const account = await signUpViaApi(request, uniqueName("wrongpw"));
    const login = new LoginPage(page);
    const inbox = new InboxPage(page);
    await login.goto();

    await login.logIn(account.username, "not the right password");
    await expect(login.error).toHaveText("invalid username or password");
    await expect(page).toHaveURL(pathIs("/login"));
    await expect(inbox.topBar.currentUser).toHaveCount(0);

    // An unknown user gets exactly the same answer (no hint about which part was wrong).
    await login.goto();
    await expect(login.error).toBeEmpty();
    await login.logIn(uniqueName("nobody"), PASSWORD);
    await expect(login.error).toHaveText("invalid username or password");
    await expect(page).toHaveURL(pathIs("/login"));

    // The form is still usable: the right password gets in.
    await login.logIn(account.username, account.password);
    await inbox.expectOnPage(account.username);
  });

  test("anonymous visits to logged-in pages land on the login page", async ({ page }) => {
    const login = new LoginPage(page);

    const response = await page.goto("/");
    await login.expectOnPage();
    // It was the server that sent us there (an HTTP redirect), not a script.
    expect(response?.request().redirectedFrom()?.url()).toMatch(/\/$/);

    await page.goto(`/c/${uniqueName("someone")}`);
    await login.expectOnPage();
  });

  test("logged-in visits to /login and /signup land on the inbox", async ({ people }) => {
    const alice = await people.signUp("alice");
    const page = await alice.newPage();
    const inbox = new InboxPage(page);

    await page.goto("/login");
    await inbox.expectOnPage(alice.username);
    await page.goto("/signup");
    await inbox.expectOnPage(alice.username);
  });

  test("signing up with a taken username shows an error", async ({ page, request }) => {
    const taken = await signUpViaApi(request, uniqueName("taken"));
    const signup = new SignupPage(page);
    await signup.goto();

    await signup.signUp(taken.username, "another password 123");
    await expect(signup.error).toHaveText("that username is taken");
    await expect(page).toHaveURL(pathIs("/signup"));

    // Usernames are case-insensitive: the same name in capitals is the same account.
    await signup.goto();
    await expect(signup.error).toBeEmpty();
    await signup.signUp(taken.username.toUpperCase(), "another password 123");
    await expect(signup.error).toHaveText("that username is taken");
    await expect(page).toHaveURL(pathIs("/signup"));

    // And the original owner's password still works (the attempt changed nothing).
    const login = await logInViaApi(request, taken.username, taken.password);
    expect(login.status()).toBe(200);
  });

  test("an account made on the page logs in through the API", async ({ page, request }) => {
    const name = uniqueName("pageuser");
    const signup = new SignupPage(page);
    await signup.goto();
    await signup.signUp(name, PASSWORD);
    await new InboxPage(page).expectOnPage(name);

    // `request` has its own cookie jar: this is a separate client logging in.
    const response = await logInViaApi(request, name, PASSWORD);
    expect(response.status()).toBe(200);
    expect(response.headers()["content-type"]).toContain("application/json");
    const user = (await response.json()) as ApiUser;
    expect(user).toEqual({ id: expect.any(Number), username: name, is_admin: false, display_name: null, deleted: false });

    const wrong = await logInViaApi(request, name, "not the right password");
    expect(wrong.status()).toBe(401);
  });

  test("an account made through the API logs in on the page", async ({ page, request }) => {
    const account = await signUpViaApi(request, uniqueName("apiuser"));
    const login = new LoginPage(page);
    await login.goto();
    await login.logIn(account.username, account.password);
    await new InboxPage(page).expectOnPage(account.username);
  });
});
