import { expect, InboxPage, LoginPage, PASSWORD, pathIs, signUpViaApi, test, uniqueName } from "./fixtures";

test.describe("accounts without JavaScript", () => {
  test("the login form works with JavaScript disabled", async ({ people, request }) => {
    // Made through the API from a separate client, so the no-JS browser starts logged out.
    const account = await signUpViaApi(request, uniqueName("nojs"));
    const context = await people.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const login = new LoginPage(page);
    const inbox = new InboxPage(page);

    await login.goto();

    // A wrong password: the server redirects back here and renders the error itself.
    await login.logIn(account.username, "not the right password");
    await login.expectOnPage();
    await expect(login.error).toHaveText("invalid username or password");
    await expect(inbox.topBar.currentUser).toHaveCount(0);

    await login.logIn(account.username, PASSWORD);
    await inbox.expectOnPage(account.username);
    await expect(page).toHaveURL(pathIs("/"));
    // No script ran: the page is exactly as the server rendered it, and there is no live link, so
    // the page does not claim to be connecting one.
    await expect(inbox.linkStatus).toHaveText("");
    await expect(page.getByText("connecting…")).toHaveCount(0);
  });
});
