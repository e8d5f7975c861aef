/**
 * The transport conformance suite: every transport registered in src/transports.ts runs every core case
 * (test/conformance/core.ts) and the cases of every capability it declares
 * (test/conformance/capabilities.ts); for a capability it does not declare, `capable()` must refuse with
 * E_USAGE. The spool runs on a temp ABQ_HOME, JetStream on a real nats-server (required in CI).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Capability, capable, type TransportCore } from "../src/lifecycle/transport.ts";
import { openBus, schemeOf } from "../src/transports.ts";
import { CAPABILITY_CASES } from "./conformance/capabilities.ts";
import { type Bed, CORE } from "./conformance/core.ts";
import { tempDir } from "./helpers.ts";
import { natsAvailable, type NatsServer, startServer } from "./nats/server.ts";

const ALL: Capability[] = ["admin", "inspect", "supervise", "topics"];

/** What each transport declares: the suite checks the declaration too, so a capability cannot vanish. */
const TRANSPORTS: Array<{ scheme: string; declares: Capability[]; url: () => string | undefined }> = [];
let server: NatsServer | undefined;
TRANSPORTS.push({ scheme: "file", declares: ALL, url: () => undefined });
const withNats = natsAvailable();
if (withNats) TRANSPORTS.push({ scheme: "nats", declares: ["admin", "inspect", "topics"], url: () => server!.url });

beforeAll(async () => {
  // JetStream's policy comes from the environment: short ack waits keep the delay cases quick.
  process.env["ABQ_NATS_ACK_WAIT_MS"] = "5000";
  process.env["ABQ_NATS_BACKOFF_MS"] = "100";
  if (withNats) server = await startServer();
});

afterAll(async () => {
  delete process.env["ABQ_NATS_ACK_WAIT_MS"];
  delete process.env["ABQ_NATS_BACKOFF_MS"];
  await server?.stop();
});

let counter = 0;

for (const transport of TRANSPORTS) {
  describe(`conformance: ${transport.scheme}`, () => {
    const opened: TransportCore[] = [];
    // One bus per transport for the whole describe (tempDir cleans up per test, so not here).
    const home = mkdtempSync(join(tmpdir(), "abq-conf-"));
    const bed: Bed = {
      open: async (agent = "conformance", opts = {}) => {
        const t = await openBus(transport.url(), { home, agent, fsync: false, ...opts });
        opened.push(t);
        return t;
      },
      channel: async (prefix) => {
        const name = `${prefix}-${process.pid}-${++counter}`;
        await capable(await bed.open(), "admin").createChannel(name);
        return name;
      },
    };
    afterAll(async () => {
      for (const t of opened) await t.close().catch(() => undefined);
      rmSync(home, { recursive: true, force: true });
    });

    it("is registered under its scheme and declares its capabilities", async () => {
      const t = await bed.open();
      expect(t.scheme).toBe(transport.scheme);
      expect(schemeOf(transport.url())).toBe(transport.scheme);
      expect([...t.capabilities].sort()).toEqual([...transport.declares].sort());
      for (const cap of ALL.filter((c) => !transport.declares.includes(c))) {
        let refused: unknown;
        try {
          capable(t, cap, "this call");
        } catch (err) {
          refused = err;
        }
        expect(refused).toMatchObject({ code: "E_USAGE" });
        expect(String((refused as Error).message)).toMatch(/this call is not available/);
      }
    });

    for (const [name, run] of Object.entries(CORE)) it(name, () => run(bed), 30_000);
    for (const cap of transport.declares) {
      for (const [name, run] of Object.entries(CAPABILITY_CASES[cap])) it(`${cap}: ${name}`, () => run(bed), 30_000);
    }
  });
}

describe("the transport registry", () => {
  it("refuses an unknown scheme or a malformed URL with one clear line", async () => {
    const refused = await openBus("http://example.invalid:80").catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: "E_USAGE" });
    expect(String((refused as Error).message)).toMatch(/no transport for 'http:\/\/'/);
    expect(() => schemeOf("not a url")).toThrow(/is not a bus URL/);
    expect(() => schemeOf("nats://user:secret@host:4222/x y")).not.toThrow();
    expect(schemeOf("")).toBe("file");
  });

  it("opens the spool for a file:// URL at that path", async () => {
    const home = tempDir("abq-conf-file-");
    const t = await openBus(`file://${home}`);
    try {
      expect(t.scheme).toBe("file");
      expect((await capable(t, "admin").init()).home).toBe(home);
    } finally {
      await t.close();
    }
  });
});
