import { type Command, InvalidArgumentError, Option } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";
import { whileHandlingSignals } from "../signals.ts";

interface UiFlags {
  port?: number;
  open?: boolean;
  json?: boolean;
}

export function registerUi(program: Command): void {
  const ui = program
    .command("ui")
    .description("serve a live dashboard of the bus on 127.0.0.1, until interrupted (exit 7: port in use)")
    .addOption(new Option("--port <port>", "port on 127.0.0.1 (default: any free port)").argParser(port))
    .option("--open", "open the dashboard in the default browser")
    .option("--json", "print {url, port, token} as JSON once it is serving")
    .action(async (opts: UiFlags, cmd: Command) => {
      const { startUi } = await import("../../index.ts");
      // Ctrl-C or kill, even while starting: stop serving, free the port, close the bus, exit 0 (like tail
      // and watch). The handlers are in place before the URL is printed, so whoever reads it can stop us.
      let stop = (): void => {};
      const stopped = new Promise<void>((resolve) => (stop = resolve));
      await whileHandlingSignals(
        () => stop(),
        async () => {
          const server = await startUi({ ...commonOptions(cmd), port: opts.port });
          try {
            // The URL carries the access token: it is printed to the user, never to a log.
            if (opts.json) printJson({ url: server.url, port: server.port, token: server.token });
            else printText(`Dashboard: ${server.url}\n(serving on 127.0.0.1 only; Ctrl-C to stop)`);
            if (opts.open) await openBrowser(server.url);
            await stopped;
          } finally {
            await server.close();
          }
        },
      );
    });
  withExamples(ui, "abq ui", "abq ui --port 8377 --open", "abq ui --url nats://127.0.0.1:4222");
}

/** `--port`: 0 (any free port) to 65535. */
function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError(`'${value}' is not a port (0-65535)`);
  return n;
}

/** Hands the URL to the desktop's opener; a missing one is a note, not a failure (the URL is printed). */
async function openBrowser(url: string): Promise<void> {
  const { spawn } = await import("node:child_process");
  const opener = process.platform === "darwin" ? "open" : "xdg-open";
  await new Promise<void>((resolve) => {
    const child = spawn(opener, [url], { stdio: "ignore", detached: true });
    child.once("error", () => {
      process.stderr.write(`abq: could not run ${opener}; open the URL above yourself\n`);
      resolve();
    });
    child.once("spawn", () => (child.unref(), resolve()));
  });
}
