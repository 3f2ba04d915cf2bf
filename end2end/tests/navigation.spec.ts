import { expect, test } from "./fixtures";

test.describe("navigation", () => {
  test("an unknown page is a 404 with a not-found notice", async ({ people }) => {
    const alice = await people.signUp("alice");
    const page = await alice.newPage();
    const response = await page.goto("/no/such/page");
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("not-found")).toBeVisible();
  });

  test("a conversation with an unknown user is a 404 with an error notice", async ({ people }) => {
    const alice = await people.signUp("alice");
    const page = await alice.newPage();
    const response = await page.goto("/c/nobody_by_this_name");
    expect(response?.status()).toBe(404);
    await expect(page.getByTestId("error-notice")).toBeVisible();
    await expect(page.getByTestId("message-list")).toHaveCount(0);
  });
});
