import * as fs from "node:fs";

// Removes the run's temporary database folder (made in playwright.config.ts). Deleting an
// open SQLite file on Unix is harmless: the server keeps its handle until it exits.
export default function globalTeardown(): void {
  const dir = process.env.PARLEY_E2E_DB_DIR;
  if (dir && dir.includes("parley-e2e-")) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
