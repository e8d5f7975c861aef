/**
 * Hardening: unsafe bus folders are refused (exit 9) with nothing lost, message files are private, the
 * claim carries the OS-verified owner, and signatures: unsigned messages on a require-signed channel and
 * tampered ones anywhere are set aside with a reason.
 */
import {
  chmodSync,
  chownSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsTransport } from "../src/index.ts";
import { makeBus, parseJson, type Bus } from "./helpers.ts";

const chan = (bus: Bus, ...rest: string[]): string => join(bus.home, "channels", ...rest);

describe("unsafe folders are refused", () => {
  it("a world-writable home: exit 9 naming the fix, and the message is still there", async () => {
    const bus = makeBus();
    await bus.abq(["send", "c", "signal", "keep me", "--create"]);
    chmodSync(bus.home, 0o777);
    const r = await bus.abq(["recv", "c"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/bus home .* is writable by everyone .*chmod o-w/);
    chmodSync(bus.home, 0o700);
    expect((await bus.abq(["recv", "c", "--json"])).stdout).toContain("keep me");
  });

  it("a symlinked channel folder: refused, nothing followed", async () => {
    const bus = makeBus();
    await bus.abq(["send", "c", "signal", "x", "--create"]);
    const real = join(bus.root, "elsewhere");
    renameSync(chan(bus, "c"), real);
    symlinkSync(real, chan(bus, "c"));
    for (const args of [
      ["send", "c", "signal", "y"],
      ["recv", "c"],
    ]) {
      const r = await bus.abq(args);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/is a symbolic link/);
    }
    expect(readdirSync(join(real, "requests"))).toHaveLength(1);
  });

  it("a world-writable channel folder is refused", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    chmodSync(chan(bus, "c", "requests"), 0o777);
    const r = await bus.abq(["send", "c", "signal", "x"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/writable by everyone/);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "a channel folder owned by another user is refused (as root: chown to nobody)",
    async () => {
      const bus = makeBus();
      await bus.abq(["channel", "create", "c"]);
      chownSync(chan(bus, "c"), 65534, 65534);
      const r = await bus.abq(["send", "c", "signal", "x"]);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(/owned by uid 65534, not by you/);
    },
  );

  it("a message file that is a symbolic link is set aside, not followed", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const secret = join(bus.root, "secret.json");
    writeFileSync(secret, "{}");
    symlinkSync(secret, chan(bus, "c", "requests", "req_0123456789abcdef.json"));
    expect((await bus.abq(["recv", "c"])).code).toBe(4);
    const reason = parseJson<{ reason: string }>(
      readFileSync(chan(bus, "c", "rejected", "req_0123456789abcdef.json.reason.json"), "utf8"),
    );
    expect(reason.reason).toMatch(/symbolic link/);
    expect(readFileSync(secret, "utf8")).toBe("{}");
  });
});

describe("provenance", () => {
  it("message files are 0600 and the claim reports the file owner's uid", async () => {
    const bus = makeBus();
    const sent = parseJson<{ id: string }>((await bus.abq(["send", "c", "signal", "x", "--create", "--json"])).stdout);
    expect(statSync(chan(bus, "c", "requests", `${sent.id}.json`)).mode & 0o777).toBe(0o600);
    const claimed = await new FsTransport({ home: bus.home }).claim("c");
    expect(claimed?.from_uid).toBe(process.getuid?.());
  });
});

describe("signatures", () => {
  it("a require-signed channel takes signed messages and sets aside unsigned and tampered ones", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "sec", "--require-signed"]);
    const key = parseJson<{ keyid: string; public_key_file: string }>((await bus.abq(["keygen", "--json"])).stdout);
    expect(statSync(join(bus.home, "keys", `${key.keyid}.key`)).mode & 0o777).toBe(0o600);

    const unsigned = parseJson<{ id: string }>((await bus.abq(["send", "sec", "signal", "plain", "--json"])).stdout);
    const signed = parseJson<{ id: string; signature: { key: string } }>(
      (await bus.abq(["send", "sec", "signal", "trusted", "--sign", "--json"])).stdout,
    );
    expect(signed.signature.key).toBe(key.keyid);
    const got = await bus.abq(["recv", "sec", "--json"]);
    expect(parseJson<{ id: string }>(got.stdout).id).toBe(signed.id);
    expect(readFileSync(chan(bus, "sec", "rejected", `${unsigned.id}.json.reason.json`), "utf8")).toMatch(/unsigned/);

    // Tampering: change the content of a signed message; on any channel it is set aside.
    await bus.abq(["channel", "create", "open"]);
    const t = parseJson<{ id: string }>(
      (await bus.abq(["send", "open", "signal", "pay 10", "--sign", "--json"])).stdout,
    );
    const file = chan(bus, "open", "requests", `${t.id}.json`);
    writeFileSync(file, readFileSync(file, "utf8").replace("pay 10", "pay 1000"));
    expect((await bus.abq(["recv", "open"])).code).toBe(4);
    expect(readFileSync(chan(bus, "open", "rejected", `${t.id}.json.reason.json`), "utf8")).toMatch(/bad signature/);
    expect(readFileSync(chan(bus, "open", "rejected", `${t.id}.json`), "utf8")).toContain("pay 1000"); // kept
    const trace = (await bus.abq(["trace", t.id])).stdout;
    expect(trace).toMatch(/rejected/);
  });

  it("send --sign without a key is a clear usage error", async () => {
    const bus = makeBus();
    await bus.abq(["channel", "create", "c"]);
    const r = await bus.abq(["send", "c", "signal", "x", "--sign"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no signing key.*abq keygen/);
  });
});
