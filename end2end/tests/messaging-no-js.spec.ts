import {
  ConversationPage,
  expect,
  InboxPage,
  LoginPage,
  pathIs,
  signUpViaApi,
  test,
  uniqueName,
} from "./fixtures";

test.describe("messaging without JavaScript", () => {
  test("the composer sends with JavaScript disabled", async ({ people, request }) => {
    const sender = await signUpViaApi(request, uniqueName("nojs"));
    const peer = await people.signUp("peer");

    const context = await people.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const login = new LoginPage(page);
    await login.goto();
    await login.logIn(sender.username, sender.password);
    await new InboxPage(page).expectOnPage(sender.username);

    const conversation = new ConversationPage(page, peer.username);
    await conversation.goto({ live: false });
    await expect(conversation.empty).toBeVisible();

    const text = `sent from a browser without JavaScript to ${peer.username}`;
    await conversation.input.fill(text);
    await conversation.send.click();

    // The form post comes back to the conversation, which now shows the message as ours.
    await expect(page).toHaveURL(pathIs(`/c/${peer.username}`));
    await conversation.expectOnPage();
    await expect(conversation.texts).toHaveText([text]);
    await expect(conversation.message(text)).toHaveAttribute("data-mine", "true");
    await expect(conversation.sendError).toBeEmpty();
    await expect(conversation.input).toHaveValue("");

    // And it really reached the other person.
    const response = await peer.context.request.get(`/api/conversations/${sender.id}/messages`);
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { messages: { message: string; sender: number }[] };
    expect(body.messages.map((m) => [m.message, m.sender])).toEqual([[text, sender.id]]);
  });
});
