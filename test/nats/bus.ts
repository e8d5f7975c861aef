/** Buses for the shared cases: the filesystem one from helpers, and one pointing at a test nats-server. */
import { type Bus, makeBus } from "../helpers.ts";
import type { BusFactory } from "./shared-cases.ts";
import type { NatsServer } from "./server.ts";

/** A bus whose CLI processes use `server` (ABQ_URL), with a short lease so redelivery tests are quick. */
export function natsBusFactory(server: () => NatsServer, extra: NodeJS.ProcessEnv = {}): BusFactory {
  return (env = {}) => {
    const bus: Bus = makeBus({ ...extra, ...env });
    // makeBus drops any inherited ABQ_URL; set ours on the env object its abq() reads.
    bus.env["ABQ_URL"] = server().url;
    return bus;
  };
}

export const fsBusFactory: BusFactory = (env = {}) => makeBus(env);
