/**
 * Channels shared between Unix users (`abq channel create|config <name> --group`). Every folder of the
 * channel becomes 2770 (setgid, so new files and folders keep the channel's group) and every file 0660
 * (read-only topic copies 0440); writers pick the mode from the folder's setgid bit (files.ts), so all
 * users agree without reading the policy. The bus home and `channels/` become 0750 so group members can
 * reach the channel; everything else in the home stays private.
 *
 * Setup for a team: `abq channel create shared --group`, then
 * `chgrp team ~/.abq ~/.abq/channels && chgrp -R team ~/.abq/channels/shared`, and teammates use
 * `ABQ_HOME=/home/you/.abq`.
 */
import * as fs from "../fs-promised.ts";
import { join } from "node:path";
import { DIR_MODE, FILE_MODE, GROUP_DIR_MODE, GROUP_FILE_MODE } from "./files.ts";

export async function applyGroupMode(home: string, channelPath: string, shared: boolean): Promise<void> {
  await walk(channelPath, shared);
  if (shared) {
    for (const dir of [home, join(home, "channels")]) {
      const st = await fs.stat(dir);
      if ((st.mode & 0o050) !== 0o050) await fs.chmod(dir, (st.mode & 0o7777) | 0o750);
    }
  }
}

async function walk(dir: string, shared: boolean): Promise<void> {
  await fs.chmod(dir, shared ? GROUP_DIR_MODE : DIR_MODE);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, shared);
    else if (entry.isFile()) {
      const st = await fs.stat(path);
      const readOnly = (st.mode & 0o200) === 0;
      await fs.chmod(path, readOnly ? (shared ? 0o440 : 0o400) : shared ? GROUP_FILE_MODE : FILE_MODE);
    }
  }
}
