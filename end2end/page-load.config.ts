import { defineConfig } from "@playwright/test";
import suite from "./playwright.config";

// `make bench-page-load`: how long a page takes to become usable on a slow phone network, from an
// empty cache, against the release build. A measurement that prints figures (docs/BENCHMARKS.md),
// not part of the test suite: the same server, browser and fresh database as the suite.
export default defineConfig({
  ...suite,
  testDir: "./page-load",
  timeout: 600_000,
});
