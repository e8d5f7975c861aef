/**
 * The transport-independent behaviours (test/nats/shared-cases.ts) on NATS JetStream, and the same cases
 * on the filesystem, so both transports are held to one definition.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { fsBusFactory, natsBusFactory } from "./nats/bus.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";
import * as cases from "./nats/shared-cases.ts";

const CASES: [string, (f: cases.BusFactory) => Promise<void>][] = [
  ["send, recv and respond from separate processes; same JSON as stored", cases.sendRecvRespond],
  ["ask and send --wait answered by a watcher; $1 is the message", cases.askAndWatch],
  ["watch --handler end to end: success and error answers", cases.watchHandler],
  ["competing watchers handle every message exactly once", (f) => cases.competingWatchers(f)],
  ["topics: named subscribers each get a copy", cases.topicSubscribers],
  ["cancel and purge withdraw pending messages, not claimed ones", cases.cancelAndPurge],
];

describe.skipIf(!natsAvailable())("NATS JetStream transport", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const factory = natsBusFactory(() => server);
  for (const [name, run] of CASES) it(name, () => run(factory));
});

describe("filesystem transport (same cases)", () => {
  for (const [name, run] of CASES) it(name, () => run(fsBusFactory));
});
