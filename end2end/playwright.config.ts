import { defineConfig } from "@playwright/test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// The suite runs against the release build (what users get): `make release` (`cargo leptos build --release --split`)
// leaves the server at target/release/parley and the site (wasm, JS, CSS) under target/site.
const repoRoot = path.resolve(__dirname, "..");
const serverBinary = path.join(repoRoot, "target", "release", "parley");
const siteRoot = path.join(repoRoot, "target", "site");

const port = Number(process.env.PARLEY_E2E_PORT ?? 3950);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  throw new Error(`PARLEY_E2E_PORT must be a TCP port, got ${process.env.PARLEY_E2E_PORT}`);
}
const baseURL = `http://127.0.0.1:${port}`;

// A fresh, empty database for every run. This file is evaluated again in each worker process;
// the main process puts the folder and the file in the environment, which workers inherit, so
// only one folder is made per run and every process agrees on the file: the main process's
// webServer serves it, and tests run `parley create-admin` against it (tests/fixtures/admin.ts).
// global-teardown.ts removes the folder.
process.env.PARLEY_E2E_DB_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), "parley-e2e-"));
process.env.PARLEY_E2E_DB ??= path.join(process.env.PARLEY_E2E_DB_DIR, "e2e.db");
// PARLEY_E2E_DATABASE_URL, when given, runs the suite on that database instead (`make e2e-postgres`
// gives it an empty database on a throwaway PostgreSQL cluster).
process.env.PARLEY_E2E_DATABASE_URL ??= `sqlite://${process.env.PARLEY_E2E_DB}`;
const databaseUrl = process.env.PARLEY_E2E_DATABASE_URL;
// The same binary serves and, as `parley create-admin`, makes admins for the admin tests.
process.env.PARLEY_E2E_SERVER_BINARY ??= serverBinary;

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  // Generous: the first page of a run waits for the wasm to be fetched, compiled and hydrated.
  timeout: 60_000,
  expect: { timeout: 5_000 },
  globalTeardown: "./global-teardown.ts",
  use: {
    baseURL,
    // Playwright cannot download its own browser here: use the system Chromium.
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium" }],
  webServer: {
    command: JSON.stringify(serverBinary),
    cwd: repoRoot,
    url: `${baseURL}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      DATABASE_URL: databaseUrl,
      LEPTOS_SITE_ROOT: siteRoot,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      RUST_LOG: "warn",
      // Every test account signs up from this one address: the per-address signup limit would
      // stop the suite after 20. (Its behaviour is covered by the integration tests.) Every other
      // limit has its default; tests/limits.spec.ts starts its own server for a small send budget.
      PARLEY_SIGNUPS_PER_IP_PER_HOUR: "0",
      // A retention policy no test message is old enough for, so the console shows a policy and its
      // runs (what it removes is covered by the integration tests).
      PARLEY_RETENTION_DAYS: "3650",
    },
  },
});
