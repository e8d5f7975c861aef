/** Builds the CLI once if `npm test`'s pretest build did not (e.g. `npx vitest run` directly). */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export default function setup(): void {
  const root = join(import.meta.dirname, "..");
  if (!existsSync(join(root, "dist", "bin", "abq.js"))) {
    execFileSync(
      process.execPath,
      [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
      {
        cwd: root,
        stdio: "inherit",
      },
    );
  }
}
