import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests spawn many real processes; two workers on a 2-core machine keep timing-sensitive waits honest.
    maxWorkers: 2,
  },
});
