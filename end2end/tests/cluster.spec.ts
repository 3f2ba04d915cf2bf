import { ConversationPage, expect, sendViaApi, signUpViaApi, startCluster, test, uniqueName } from "./fixtures";

/** How long a live update may take to show up on another screen (across two nodes). */
const LIVE = { timeout: 2_000 };

test.describe("several nodes", () => {
  // Starting PostgreSQL, NATS, two nodes and nginx takes a few seconds of the budget.
  test.setTimeout(120_000);

  test("two people whose browsers are on two different nodes chat live, with typing and read marks", async ({
    browser,
  }) => {
    const cluster = await startCluster(2);
    try {
      const [nodeOne, nodeTwo] = cluster.nodes;
      const aliceContext = await browser.newContext({ baseURL: nodeOne });
      const bobContext = await browser.newContext({ baseURL: nodeTwo });
      const alice = await signUpViaApi(aliceContext.request, uniqueName("alice"));
      const bob = await signUpViaApi(bobContext.request, uniqueName("bob"));
      // Typing notices and presence are shared between people who have both written.
      await sendViaApi(bobContext.request, alice.id, `hi ${alice.username}`);
      await sendViaApi(aliceContext.request, bob.id, `hi ${bob.username}`);

      const alicePage = await aliceContext.newPage();
      const bobPage = await bobContext.newPage();
      const sockets: Record<string, string[]> = { alice: [], bob: [] };
      alicePage.on("websocket", (socket) => sockets.alice.push(socket.url()));
      bobPage.on("websocket", (socket) => sockets.bob.push(socket.url()));
      const aliceTab = new ConversationPage(alicePage, bob.username);
      const bobTab = new ConversationPage(bobPage, alice.username);
      await aliceTab.goto();
      await bobTab.goto();
      // Each live link really is to its own node.
      expect(sockets.alice.map((url) => new URL(url).host)).toEqual([new URL(nodeOne).host]);
      expect(sockets.bob.map((url) => new URL(url).host)).toEqual([new URL(nodeTwo).host]);
      await expect(aliceTab.presence).toHaveText("online", LIVE);
      await expect(bobTab.presence).toHaveText("online", LIVE);

      await aliceTab.input.click();
      await aliceTab.input.pressSequentially("across the nodes");
      await expect(bobTab.typing).toHaveText(`${alice.username} is typing…`, LIVE);
      await aliceTab.input.press("Enter");
      await expect(bobTab.message("across the nodes")).toBeVisible(LIVE);
      await expect(bobTab.typing).toBeEmpty(LIVE);
      // Bob's open conversation marks it read, and that comes back to node one.
      await aliceTab.expectState("across the nodes", "read", LIVE);

      await bobTab.sendWithEnter("and back again");
      await expect(aliceTab.message("and back again")).toBeVisible(LIVE);
      await bobTab.expectState("and back again", "read", LIVE);
      await expect(aliceTab.texts).toHaveText([
        `hi ${alice.username}`,
        `hi ${bob.username}`,
        "across the nodes",
        "and back again",
      ]);

      // Bob closes his tab: node one tells Alice that he went offline on node two.
      await bobPage.close();
      await expect(aliceTab.presence).toHaveText("offline", LIVE);
      await aliceContext.close();
      await bobContext.close();
    } finally {
      await cluster.stop();
    }
  });
});
