import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { Page } from "@playwright/test";
import { ConversationPage, expect, sendViaApi, signUpViaApi, test, type Person } from "../tests/fixtures";

/**
 * Takes the screenshots in docs/screenshots (linked from the README): the inbox, a conversation
 * (day lines, grouping, the unread line, an edited and a deleted message) and search results, at
 * a phone's size and a desktop's. The data is made through the API like a user's, except that a
 * few messages are moved back in time (the server dates what it stores), straight in the database.
 */
const OUT = path.resolve(__dirname, "..", "..", "docs", "screenshots");
const SIZES = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;
const HOUR = 60 * 60 * 1000;

/** Moves messages back by `ms` in the suite's SQLite database. */
function backdate(ids: number[], ms: number): void {
  const database = process.env.PARLEY_E2E_DB;
  if (!database || !process.env.PARLEY_E2E_DATABASE_URL?.startsWith("sqlite:")) {
    throw new Error("screenshots are taken on the suite's SQLite database");
  }
  execFileSync("sqlite3", [database, `update chat set date = date - ${ms} where id in (${ids.join(",")})`]);
}

async function send(from: Person, to: Person, text: string): Promise<number> {
  return (await sendViaApi(from.context.request, to.id, text)).id;
}

async function shoot(page: Page, name: string): Promise<void> {
  // Times say what a reader would see; nothing blinks in the picture.
  await page.waitForTimeout(300);
  await page.screenshot({ path: path.join(OUT, `${name}.png`) });
}

test("screenshots", async ({ people }) => {
  test.setTimeout(120_000);
  // Plain names (the database is new for every run), in one reader's language and zone.
  const person = async (username: string): Promise<Person> => {
    const context = await people.newContext({ locale: "en-GB", timezoneId: "Europe/Amsterdam" });
    const account = await signUpViaApi(context.request, username);
    return { ...account, context, newPage: () => context.newPage() };
  };
  const ana = await person("ana");
  const ben = await person("ben");
  const chloe = await person("chloe");
  const dev = await person("dev");

  // Two days ago, yesterday and today, with a few grouped runs.
  const older = [
    await send(ben, ana, "Are we still on for the hike on Saturday?"),
    await send(ana, ben, "Yes! Meet at the station at 8?"),
    await send(ana, ben, "I'll bring the map and some snacks"),
    await send(ben, ana, "Perfect. Weather looks good: https://example.com/forecast"),
  ];
  const yesterday = [
    await send(ben, ana, "Bought new boots today"),
    await send(ana, ben, "Nice, break them in before Saturday"),
  ];
  backdate(older, 50 * HOUR);
  backdate(yesterday, 26 * HOUR);
  const wrong = await send(ana, ben, "Train leaves at 8:15");
  const regret = await send(ana, ben, "Also bringing my cousin, hope that's ok");
  // Ana opens the conversation (reading everything so far), then Ben answers.
  const readIt = new ConversationPage(await ana.newPage(), ben.username);
  await readIt.goto();
  await expect(readIt.message("Also bringing my cousin, hope that's ok")).toBeVisible();
  await readIt.page.close();
  expect((await ana.context.request.patch(`/api/conversations/${ben.id}/messages/${wrong}`, {
    data: { message: "Train leaves at 8:45" },
  })).status()).toBe(200);
  expect((await ana.context.request.delete(`/api/conversations/${ben.id}/messages/${regret}`, {
    data: {},
  })).status()).toBe(200);
  await send(ben, ana, "Got it, 8:45");
  await send(ben, ana, "See you at the station!");
  await send(chloe, ana, "Did you see the photos from the lake?");
  await send(ana, dev, "Thanks for the book, I'll return it next week");
  await send(dev, ana, "No rush");

  // One page for every picture, resized between them: the unread line lasts while the page is
  // open (opening the conversation again would have read it).
  const page = await ana.newPage();
  const bothSizes = async (name: string) => {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await shoot(page, `${name}-${size}`);
    }
  };
  await page.goto("/");
  await expect(page.getByTestId("link-status")).toHaveText("live");
  await bothSizes("inbox");

  const conversation = new ConversationPage(page, ben.username);
  await conversation.goto();
  await expect(conversation.list.getByTestId("unread-line")).toBeVisible();
  await bothSizes("conversation");

  await page.goto("/search?q=station");
  await expect(page.getByTestId("search-hit").first()).toBeVisible();
  await bothSizes("search");
});
