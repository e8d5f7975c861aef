import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerSubscribe(program: Command): void {
  const subscribe = program
    .command("subscribe <topic> <subscriber>")
    .description("give <subscriber> its own copy of every message published to <topic> from now on")
    .option("--json", "print {topic, subscriber, created} as JSON")
    .action(async (topic: string, subscriber: string, opts: { json?: boolean }, cmd: Command) => {
      const { subscribe } = await import("../../index.ts");
      const { created } = await subscribe({ ...commonOptions(cmd), topic, name: subscriber });
      if (opts.json) printJson({ topic, subscriber, created });
      else
        printText(created ? `Subscribed: ${subscriber} -> ${topic}` : `Already subscribed: ${subscriber} -> ${topic}`);
    });
  withExamples(
    subscribe,
    "abq channel create news --topic && abq subscribe news alice",
    "abq watch news --as alice --handler ./on-news.sh",
  );

  const unsubscribe = program
    .command("unsubscribe <topic> <subscriber>")
    .description("remove a subscriber and the copies it has not handled")
    .action(async (topic: string, subscriber: string, _opts: unknown, cmd: Command) => {
      const { unsubscribe } = await import("../../index.ts");
      await unsubscribe({ ...commonOptions(cmd), topic, name: subscriber });
      printText(`Unsubscribed: ${subscriber} from ${topic}`);
    });
  withExamples(unsubscribe, "abq unsubscribe news alice");
}
