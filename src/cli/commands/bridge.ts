/**
 * The `abq bridge` command (registered by src/cli/main.ts). Loads the bridge, and with it the NATS
 * client, only when the command runs.
 */
import { type Command, Option } from "commander";
import { AbqError } from "../../protocol/errors.ts";
import { withExamples } from "../help.ts";
import { preferSmallHeap } from "../memory.ts";
import { commonOptions, printJson } from "../output.ts";
import { withAbortOnSignals } from "../signals.ts";
import { parseJobs } from "./parse.ts";

export function registerBridge(program: Command): void {
  const bridge = program
    .command("bridge <channel>")
    .description("forward a local channel's requests to the NATS channel of the same name, and answers back")
    .addOption(new Option("-j, --jobs <n>", "requests in flight at once (default 64)").argParser(parseJobs))
    .option("--json", "NDJSON events on stdout instead of log lines on stderr")
    .action(async (channel: string, opts: { jobs?: number; json?: boolean }, cmd: Command) => {
      preferSmallHeap();
      const common = commonOptions(cmd);
      const url = common.url ?? process.env["ABQ_URL"] ?? "";
      if (!/^(nats|tls):\/\//.test(url)) {
        throw new AbqError("E_USAGE", "abq bridge needs the NATS bus to forward to", {
          hint: "give --url nats://host:4222 (or set ABQ_URL)",
        });
      }
      const [{ runBridge }, { resolveIdentity }, { channelName }] = await Promise.all([
        import("../../nats/bridge.ts"),
        import("../../identity/index.ts"),
        import("../../protocol/names.ts"),
      ]);
      const agent = (await resolveIdentity()).agent;
      await withAbortOnSignals((signal) =>
        runBridge({
          channel: channelName(channel),
          url,
          home: common.home,
          agent,
          concurrency: opts.jobs,
          signal,
          onEvent: (e) =>
            opts.json
              ? printJson({ ...e, at: new Date().toISOString() })
              : process.stderr.write(`${new Date().toISOString()} ${JSON.stringify(e)}\n`),
        }),
      );
    });
  withExamples(
    bridge,
    "abq bridge reviews --url nats://localhost:4222",
    "ABQ_URL=nats://hub:4222 abq bridge reviews -j 16 --json",
  );
}
