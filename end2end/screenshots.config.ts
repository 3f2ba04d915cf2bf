import { defineConfig } from "@playwright/test";
import suite from "./playwright.config";

// `make screenshots`: the pictures in docs/screenshots, taken from a real run of the release build
// with the same server, browser and fresh database as the test suite, but not part of it.
export default defineConfig({
  ...suite,
  testDir: "./screenshots",
});
