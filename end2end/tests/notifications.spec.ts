import type { BrowserContext, Page } from "@playwright/test";
import { ConversationPage, expect, InboxPage, sendViaApi, SettingsPage, test } from "./fixtures";

/**
 * Keeps a record of the notifications the page creates and of permission requests, around the
 * browser's own `Notification` (each one is still created by the browser): headless Chromium
 * shows no desktop to look at.
 */
async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const Real = window.Notification;
    const record = window as unknown as { shown: { title: string; body?: string; notification: Notification }[]; asked: number };
    record.shown = [];
    record.asked = 0;
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        record.shown.push({ title, body: options?.body, notification: this });
      }
      static override get permission(): NotificationPermission {
        return Real.permission;
      }
      static override requestPermission(): Promise<NotificationPermission> {
        record.asked += 1;
        return Real.requestPermission();
      }
    }
    window.Notification = Recorded;
  });
}

const shown = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { shown: { title: string; body?: string }[] }).shown.map(({ title, body }) => ({ title, body })),
  );
const asked = (page: Page) => page.evaluate(() => (window as unknown as { asked: number }).asked);

/** Makes the page hidden or visible, as switching tabs does. */
async function setVisible(page: Page, visible: boolean): Promise<void> {
  await page.evaluate((visible) => {
    Object.defineProperty(document, "visibilityState", { value: visible ? "visible" : "hidden", configurable: true });
    document.dispatchEvent(new Event("visibilitychange", { bubbles: true }));
  }, visible);
}

test.describe("notifications", () => {
  test("permission is asked for only from the settings control, never when a page loads", async ({ people }) => {
    const alice = await people.signUp("alice");
    const bob = await people.signUp("bob");
    await recordNotifications(alice.context);
    await sendViaApi(bob.context.request, alice.id, "hi");

    const inbox = new InboxPage(await alice.newPage());
    await inbox.goto();
    await inbox.waitForLive();
    const conversation = new ConversationPage(await alice.newPage(), bob.username);
    await conversation.goto();
    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();
    await expect(settings.enableNotifications).toBeVisible();
    for (const page of [inbox.page, conversation.page, settings.page]) {
      expect(await asked(page)).toBe(0);
    }

    await settings.enableNotifications.click();
    await expect.poll(() => asked(settings.page)).toBe(1);
  });

  test("with permission, a message arriving while the tab is hidden shows a notification that opens its conversation", async ({
    people,
  }) => {
    const granted = { permissions: ["notifications"] };
    const alice = await people.signUp("alice", granted);
    const bob = await people.signUp("bob");
    await recordNotifications(alice.context);
    await sendViaApi(alice.context.request, bob.id, "hi bob");

    const settings = new SettingsPage(await alice.newPage());
    await settings.goto();
    await expect(settings.notificationsState).toContainText("Notifications are on");
    await expect(settings.enableNotifications).toBeHidden();

    const inbox = new InboxPage(await alice.newPage());
    await inbox.goto();
    await inbox.waitForLive();
    // In front of her: nothing to notify.
    await sendViaApi(bob.context.request, alice.id, "while you look");
    await expect(inbox.conversationWith(bob.username)).toContainText("while you look");
    expect(await shown(inbox.page)).toEqual([]);

    await setVisible(inbox.page, false);
    await sendViaApi(bob.context.request, alice.id, "while you are away");
    await expect.poll(() => shown(inbox.page)).toEqual([{ title: bob.username, body: "while you are away" }]);

    // Clicking it opens the conversation.
    await inbox.page.evaluate(() => {
      const record = window as unknown as { shown: { notification: Notification }[] };
      record.shown[0].notification.dispatchEvent(new Event("click"));
    });
    const conversation = new ConversationPage(inbox.page, bob.username);
    await conversation.expectOnPage();
  });
});
