import {
  ConversationPage,
  expect,
  sendViaApi,
  signUpViaApi,
  startOwnServer,
  test,
  uniqueName,
  type Person,
} from "./fixtures";

const DAY_MS = 24 * 60 * 60 * 1000;

/** Opens `/c/<peer>` for `person` in a new tab whose clock reads `shift_ms` after now. */
async function openAt(person: Person, peer: Person, shift_ms: number): Promise<ConversationPage> {
  const page = await person.newPage();
  await page.clock.setFixedTime(new Date(Date.now() + shift_ms));
  const conversation = new ConversationPage(page, peer.username);
  await conversation.goto();
  return conversation;
}

/** How the reader's browser (en-US, UTC) names the day `days` before the page's clock. */
function dayInWords(now: number, options: Intl.DateTimeFormatOptions): string {
  return new Date(now).toLocaleDateString("en-US", { ...options, timeZone: "UTC" });
}

test.describe("the conversation view", () => {
  test("a day line heads each day (Today, Yesterday, weekday, then the date) and messages group by sender", async ({
    people,
  }) => {
    const reader = { locale: "en-US", timezoneId: "UTC" };
    const alice = await people.signUp("alice", reader);
    const bob = await people.signUp("bob", reader);
    for (const text of ["first", "second", "third"]) {
      await sendViaApi(alice.context.request, bob.id, text);
    }
    await sendViaApi(bob.context.request, alice.id, "a reply");

    const today = await openAt(bob, alice, 0);
    const lines = today.list.getByTestId("day-line");
    await expect(lines).toHaveText(["Today"]);
    // Alice's three messages are one group: the time once, on the first; the next two continue it.
    await expect(today.message("first")).not.toHaveClass(/continues/);
    await expect(today.message("second")).toHaveClass(/continues/);
    await expect(today.message("third")).toHaveClass(/continues/);
    await expect(today.message("a reply")).not.toHaveClass(/continues/);
    await expect(today.message("first").locator("time")).toHaveCount(1);
    await expect(today.message("second").locator("time")).toHaveCount(0);
    // In the reader's locale: en-US writes a 12-hour time; the full date is on hover.
    const time = today.message("first").locator("time");
    await expect(time).toHaveText(/^\d{1,2}:\d{2}\s?[AP]M$/);
    await expect(time).toHaveAttribute("title", /\d{4}/);
    // Each message tells a screen reader who sent it.
    await expect(today.message("first")).toContainText(`${alice.username}:`);
    await expect(today.message("a reply")).toContainText("You:");

    const shown = async (shift_ms: number) => {
      const later = await openAt(bob, alice, shift_ms);
      const text = await later.list.getByTestId("day-line").allTextContents();
      await later.page.close();
      return text;
    };
    const now = Date.now();
    expect(await shown(DAY_MS)).toEqual(["Yesterday"]);
    expect(await shown(3 * DAY_MS)).toEqual([dayInWords(now, { weekday: "long" })]);
    expect(await shown(10 * DAY_MS)).toEqual([
      dayInWords(now, { weekday: "long", day: "numeric", month: "long", year: "numeric" }),
    ]);
  });

  test("a 24-hour locale gets 24-hour times", async ({ people }) => {
    const alice = await people.signUp("alice", { locale: "en-GB", timezoneId: "UTC" });
    const bob = await people.signUp("bob");
    await sendViaApi(bob.context.request, alice.id, "what time is it?");
    const tab = await openAt(alice, bob, 0);
    await expect(tab.message("what time is it?").locator("time")).toHaveText(/^\d{2}:\d{2}$/);
  });

  test("web addresses in a message are links that open apart; other schemes stay text", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const text = "see https://example.com/page?x=1. but not javascript:alert(1)";
    await sendViaApi(alice.context.request, bob.id, text);
    const tab = await openAt(bob, alice, 0);
    const links = tab.message(text).getByRole("link");
    await expect(links).toHaveCount(1);
    await expect(links).toHaveText("https://example.com/page?x=1");
    await expect(links).toHaveAttribute("href", "https://example.com/page?x=1");
    await expect(links).toHaveAttribute("rel", "noopener noreferrer nofollow");
    await expect(links).toHaveAttribute("target", "_blank");
  });

  test("the composer has the cursor on open and keeps a draft across reloads and navigation until it is sent", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await sendViaApi(bob.context.request, alice.id, "hello");
    const tab = await openAt(alice, bob, 0);
    await expect(tab.input).toBeFocused();
    await tab.input.pressSequentially("half a thought");

    await tab.page.reload();
    await tab.waitForLive();
    await expect(tab.input).toHaveValue("half a thought");

    await tab.page.goto("/");
    await tab.goto();
    await expect(tab.input).toHaveValue("half a thought");

    await tab.input.press("End");
    await tab.input.pressSequentially(", finished");
    await tab.input.press("Enter");
    await tab.expectState("half a thought, finished", "sent");
    await tab.page.reload();
    await tab.waitForLive();
    await expect(tab.input).toHaveValue("");

    // Logging out forgets the drafts kept in this browser: the next person here finds none.
    await tab.input.pressSequentially("a secret never sent");
    await tab.topBar.logout.click();
    await expect(tab.page).toHaveURL(/\/login$/);
    const drafts = await tab.page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith("parley.draft.")));
    expect(drafts).toEqual([]);
  });

  test("a New messages line sits above what arrived since I last looked, on opening and after being away", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    // Both have written, so read marks are shared between them.
    await sendViaApi(alice.context.request, bob.id, "hi bob");
    await sendViaApi(bob.context.request, alice.id, "old news");
    const first = await openAt(alice, bob, 0);
    await expect(first.list.getByTestId("unread-line").locator("xpath=following-sibling::li[1]")).toContainText(
      "old news",
    );
    await first.page.close();

    const fresh = Array.from({ length: 30 }, (_, n) => `fresh ${n + 1}`);
    for (const text of fresh) {
      await sendViaApi(bob.context.request, alice.id, text);
    }
    const tab = await openAt(alice, bob, 0);
    const line = tab.list.getByTestId("unread-line");
    await expect(line).toHaveText("New messages");
    // Right above the first of them, and brought into view (the newest is out of view below).
    const next = line.locator("xpath=following-sibling::li[1]");
    await expect(next).toContainText("fresh 1");
    await expect(line).toBeInViewport();
    await expect(tab.message("fresh 30")).not.toBeInViewport();

    // Away (the tab is hidden): what arrives is unread, and not marked read until I am back.
    const bobTab = await openAt(bob, alice, 0);
    const setVisible = (visible: boolean) =>
      tab.page.evaluate((visible) => {
        Object.defineProperty(document, "visibilityState", { value: visible ? "visible" : "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
      }, visible);
    await setVisible(false);
    await bobTab.sendWithEnter("while you were away");
    await expect(tab.message("while you were away")).toHaveCount(1);
    await bobTab.expectState("while you were away", "sent");
    await tab.page.waitForTimeout(500);
    await bobTab.expectState("while you were away", "sent");
    await setVisible(true);
    await expect(line.locator("xpath=following-sibling::li[1]")).toContainText("while you were away");
    await expect(line).toBeInViewport();
    await bobTab.expectState("while you were away", "read");

    // Answering clears the line.
    await tab.sendWithEnter("catching up");
    await expect(line).toHaveCount(0);
  });

  test("scrolled up, new messages do not move what I read; a button counts them and jumps to the newest", async ({
    people,
  }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    const history = Array.from({ length: 40 }, (_, n) => `line ${n + 1}: something long enough to take some room on the screen`);
    for (const text of history) {
      await sendViaApi(bob.context.request, alice.id, text);
    }
    // Read once, so the next visit opens at the newest message.
    await (await openAt(alice, bob, 0)).page.close();
    const tab = await openAt(alice, bob, 0);
    const jump = tab.page.getByTestId("jump-newest");
    await expect(jump).toBeHidden();
    await expect(tab.message(history[39])).toBeInViewport();

    const scroller = tab.page.getByTestId("message-scroller");
    await scroller.evaluate((el) => {
      el.scrollTop = -600;
    });
    await expect(jump).toHaveText("Jump to newest ↓");
    const reading = tab.message(history[25]);
    await expect(reading).toBeInViewport();
    const before = (await reading.boundingBox())!.y;

    await sendViaApi(bob.context.request, alice.id, "new one");
    await sendViaApi(bob.context.request, alice.id, "new two");
    await expect(jump).toHaveText("2 new messages ↓");
    await expect(tab.message("new two")).toHaveCount(1);
    expect(Math.abs((await reading.boundingBox())!.y - before)).toBeLessThanOrEqual(1);
    await expect(tab.message("new two")).not.toBeInViewport();

    await jump.click();
    await expect(tab.message("new two")).toBeInViewport();
    await expect(jump).toBeHidden();
    // At the newest, the view follows what arrives.
    await sendViaApi(bob.context.request, alice.id, "new three");
    await expect(tab.message("new three")).toBeInViewport();
  });

  test("near the server's length limit the composer counts down, and over it will not send", async ({ browser }) => {
    const server = await startOwnServer({ PARLEY_MAX_MESSAGE_CHARS: "20", PARLEY_SIGNUPS_PER_IP_PER_HOUR: "0" });
    try {
      const context = await browser.newContext({ baseURL: server.baseURL, viewport: { width: 390, height: 844 } });
      const peerContext = await browser.newContext({ baseURL: server.baseURL });
      await signUpViaApi(context.request, uniqueName("alice"));
      const bob = await signUpViaApi(peerContext.request, uniqueName("bob"));
      const tab = new ConversationPage(await context.newPage(), bob.username);
      await tab.goto();
      const counter = tab.composer.getByTestId("composer-counter");

      await tab.input.pressSequentially("0123456789012345"); // 16 of 20: no counter yet
      await expect(counter).toBeEmpty();
      await tab.input.pressSequentially("67"); // 18
      await expect(counter).toHaveText("2 left");
      await expect(tab.send).toBeEnabled();
      await tab.input.pressSequentially("890"); // 21
      await expect(counter).toHaveText("1 over the limit");
      await expect(tab.send).toBeDisabled();
      await tab.input.press("Enter");
      await expect(tab.sendError).toHaveText("This message is too long: at most 20 characters.");
      await expect(tab.messages).toHaveCount(0);

      // The box grows with its lines.
      const oneLine = (await tab.input.boundingBox())!.height;
      await tab.input.fill("a\nb\nc\nd\ne");
      expect((await tab.input.boundingBox())!.height).toBeGreaterThan(oneLine);

      // On a phone-sized screen, Esc goes back to the inbox.
      await tab.input.press("Escape");
      await expect(tab.page).toHaveURL(/\/$/);
      await context.close();
      await peerContext.close();
    } finally {
      await server.stop();
    }
  });
});
