import { defineConfig } from "@playwright/test";
import * as path from "node:path";
import suite from "./playwright.config";

// `make bench-page-load`: how long a page takes to become usable on a slow phone network, from an
// empty cache, against the release build. A measurement that prints figures (docs/BENCHMARKS.md),
// not part of the test suite: the same server, browser and fresh database as the suite.
//
// PAGE_LOAD_VIA=tls-proxy serves the same node behind nginx speaking TLS and HTTP/2, as
// docs/DEPLOY.md deploys it (.ci/behind-tls-proxy.sh): the browser then sends every request over one
// connection instead of queueing for one of HTTP/1.1's six per host.
const viaProxy = process.env.PAGE_LOAD_VIA === "tls-proxy";
if (!viaProxy && (process.env.PAGE_LOAD_VIA ?? "direct") !== "direct") {
  throw new Error(`PAGE_LOAD_VIA must be direct or tls-proxy, got ${process.env.PAGE_LOAD_VIA}`);
}
const server = suite.webServer as { url: string; env: Record<string, string> };
const port = new URL(server.url).port;
const baseURL = `https://127.0.0.1:${port}`;

export default defineConfig({
  ...suite,
  testDir: "./page-load",
  timeout: 600_000,
  ...(viaProxy && {
    use: { ...suite.use, baseURL, ignoreHTTPSErrors: true },
    webServer: {
      ...server,
      command: JSON.stringify(path.resolve(__dirname, "..", ".ci", "behind-tls-proxy.sh")) + " " + port,
      url: `${baseURL}/login`,
      ignoreHTTPSErrors: true,
      // Without it the script is killed outright and cannot remove its folder and certificate.
      gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    },
  }),
});
