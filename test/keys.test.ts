/**
 * The key registry through the built CLI: `abq keygen` (registered to the caller; --private-key outside
 * the bus with ABQ_SIGNING_KEY), `abq keys list|add|revoke`, and hostile input: private keys, garbage,
 * other algorithms, devices, control characters, races, damaged records, unsafe keys folders.
 */
import { generateKeyPairSync, sign } from "node:crypto";
import { chmodSync, existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signedBytes } from "../src/security/sign.ts";
import type { Request } from "../src/protocol/schema.ts";
import { type Bus, makeBus, parseJson } from "./helpers.ts";

async function keygen(
  bus: Bus,
  agent: string,
  extra: string[] = [],
): Promise<{ keyid: string; public_key_file: string }> {
  const r = await bus.abq(["keygen", "--json", ...extra], { env: { ABQ_AGENT: agent } });
  expect(r.code, r.stderr).toBe(0);
  return parseJson(r.stdout);
}

function rejectedReason(bus: Bus, ch: string, id: string): string {
  const file = join(bus.home, "channels", ch, "rejected", `${id}.json.reason.json`);
  return parseJson<{ reason: string }>(readFileSync(file, "utf8")).reason;
}

describe("keygen and keys list", () => {
  it("registers the key to the caller; the private key is 0600, the keys folder 0700", async () => {
    const bus = makeBus();
    const key = await keygen(bus, "github.com/acme/api/main");
    expect(key.keyid).toMatch(/^[0-9a-f]{16}$/);
    expect(statSync(join(bus.home, "keys", `${key.keyid}.key`)).mode & 0o777).toBe(0o600);
    expect(statSync(join(bus.home, "keys")).mode & 0o777).toBe(0o700);
    const list = await bus.abq(["keys", "list", "--json"]);
    expect(parseJson(list.stdout)).toMatchObject({
      keyid: key.keyid,
      agent: "github.com/acme/api/main",
      private: true,
    });
    const text = await bus.abq(["keys", "list"]);
    expect(text.stdout).toMatch(new RegExp(`${key.keyid}\\s+github.com/acme/api/main\\s+active\\s+yes`));
    expect((await makeBus().abq(["keys", "list"])).stdout).toMatch(/^No keys/);
  });

  it("--private-key keeps the key outside the bus; ABQ_SIGNING_KEY signs with it", async () => {
    const bus = makeBus();
    const file = join(bus.root, "overseer.key");
    const key = await keygen(bus, "HumanOverseer", ["--private-key", file]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(join(bus.home, "keys", `${key.keyid}.key`))).toBe(false);
    await bus.abq(["channel", "create", "ops", "--allow-sender", "HumanOverseer"]);
    const env = { ABQ_AGENT: "HumanOverseer" };
    // Without the file, the identity alone does not sign: the key is not in the bus to be found.
    const without = await bus.abq(["send", "ops", "signal", "x", "--sign"], { env });
    expect(without.code).toBe(2);
    expect(without.stderr).toMatch(/no signing key for 'HumanOverseer'/);
    const sent = await bus.abq(["send", "ops", "signal", "x", "--sign", "--json"], {
      env: { ...env, ABQ_SIGNING_KEY: file },
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect(parseJson<{ id: string }>((await bus.abq(["recv", "ops", "--json"])).stdout).id).toBe(
      parseJson<{ id: string }>(sent.stdout).id,
    );
    // Someone else signing with that file while claiming another name is a spoof.
    const other = await bus.abq(["send", "ops", "signal", "y", "--sign", "--json"], {
      env: { ABQ_AGENT: "evil/agent", ABQ_SIGNING_KEY: file },
    });
    expect((await bus.abq(["recv", "ops"])).code).toBe(4);
    expect(rejectedReason(bus, "ops", parseJson<{ id: string }>(other.stdout).id)).toMatch(/^spoofed/);
    // A key file others can read is refused; an existing file is never overwritten.
    chmodSync(file, 0o644);
    const open = await bus.abq(["send", "ops", "signal", "z", "--sign"], { env: { ...env, ABQ_SIGNING_KEY: file } });
    expect(open.code).toBe(9);
    expect(open.stderr).toMatch(/open to others.*chmod 600/);
    const again = await bus.abq(["keygen", "--private-key", file], { env });
    expect(again.code).toBe(7);
  });
});

describe("keys add", () => {
  it("from a file or stdin, idempotent; one key speaks for one agent", async () => {
    const bus = makeBus();
    const other = makeBus();
    const key = await keygen(other, "HumanOverseer");
    const pem = readFileSync(key.public_key_file, "utf8");
    const added = await bus.abq(["keys", "add", "HumanOverseer", "-", "--json"], { input: pem });
    expect(parseJson(added.stdout)).toEqual({ keyid: key.keyid, agent: "HumanOverseer", added: true });
    const again = await bus.abq(["keys", "add", "HumanOverseer", key.public_key_file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already speaks for HumanOverseer/);
    const stolen = await bus.abq(["keys", "add", "evil/agent", key.public_key_file]);
    expect(stolen.code).toBe(7);
    expect(stolen.stderr).toMatch(/is registered to 'HumanOverseer', not 'evil\/agent'/);
    expect(parseJson<{ private: boolean }>((await bus.abq(["keys", "list", "--json"])).stdout).private).toBe(false);
  });

  it("refuses private keys, garbage, other algorithms, devices, missing files and bad names, one line each", async () => {
    const bus = makeBus();
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const ed = generateKeyPairSync("ed25519");
    const cases: Array<[string[], string | undefined, RegExp]> = [
      [["a/b", "-"], ed.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), /that is a private key/],
      [["a/b", "-"], "hello", /not a public key in PEM format/],
      [
        ["a/b", "-"],
        rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
        /a rsa key: abq signs with ed25519 only/,
      ],
      [["a/b", "/dev/zero"], undefined, /is not a public key file/],
      [["a/b", join(bus.root, "missing.pub")], undefined, /cannot read .*missing\.pub: ENOENT/],
      [
        ["a\u0007b", "-"],
        ed.publicKey.export({ type: "spki", format: "pem" }).toString(),
        /without control characters/,
      ],
      [[" ", "-"], ed.publicKey.export({ type: "spki", format: "pem" }).toString(), /1-512 characters/],
    ];
    for (const [args, input, message] of cases) {
      const r = await bus.abq(["keys", "add", ...args], input !== undefined ? { input } : {});
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split("\n")[0]).toMatch(message);
    }
    expect((await bus.abq(["keys", "list", "--json"])).stdout).toBe("");
  });

  it("two processes binding one key to two agents at once: exactly one wins, and the record says which", async () => {
    const bus = makeBus();
    const other = makeBus();
    const key = await keygen(other, "x");
    const runs = await Promise.all(
      ["agent/one", "agent/two", "agent/three"].map((a) => bus.abq(["keys", "add", a, key.public_key_file])),
    );
    const winners = runs.filter((r) => r.code === 0);
    expect(winners).toHaveLength(1);
    expect(runs.filter((r) => r.code === 7)).toHaveLength(2);
    const rec = parseJson<{ agent: string }>((await bus.abq(["keys", "list", "--json"])).stdout);
    expect(winners[0]?.stdout).toContain(`speaks for ${rec.agent}`);
  });
});

describe("keys revoke", () => {
  it("keeps the first record, refuses re-adding, and rejects bad ids and reasons", async () => {
    const bus = makeBus();
    const key = await keygen(bus, "HumanOverseer");
    const r = await bus.abq(["keys", "revoke", key.keyid, "--reason", "leaked", "--json"]);
    const rec = parseJson<{ revoked_at: string; revoke_reason: string; revoked_by: string; already: boolean }>(
      r.stdout,
    );
    expect(rec).toMatchObject({ revoke_reason: "leaked", revoked_by: "test/agent", already: false });
    const twice = await bus.abq(["keys", "revoke", key.keyid, "--reason", "other"]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toBe(`Key ${key.keyid} was already revoked at ${rec.revoked_at}\n`);
    expect((await bus.abq(["keys", "list"])).stdout).toContain(`revoked ${rec.revoked_at}`);
    const readd = await bus.abq(["keys", "add", "HumanOverseer", key.public_key_file]);
    expect(readd.code).toBe(7);
    expect(readd.stderr).toMatch(/was revoked at .*: it cannot be added again/);
    for (const [args, message] of [
      [["keys", "revoke", "0123456789abcdef"], /no key 0123456789abcdef on this bus/],
      [["keys", "revoke", "../../etc/passwd"], /is not a key id/],
      [["keys", "revoke", key.keyid, "--reason", "a\nb"], /without control characters/],
    ] as const) {
      const bad = await bus.abq([...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });
});

describe("a registry that cannot be trusted fails closed", () => {
  it("an unsafe keys folder stops the claim (exit 9) and the message stays pending", async () => {
    const bus = makeBus();
    await keygen(bus, "HumanOverseer");
    await bus.abq(["channel", "create", "c"]);
    await bus.abq(["send", "c", "signal", "x", "--sign"], { env: { ABQ_AGENT: "HumanOverseer" } });
    chmodSync(join(bus.home, "keys"), 0o770);
    const r = await bus.abq(["recv", "c"]);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/keys folder .* is writable by others.*chmod go-w/);
    expect((await bus.abq(["ls", "c", "requests", "--json"])).stdout.trim().split("\n")).toHaveLength(1);
    chmodSync(join(bus.home, "keys"), 0o700);
    expect((await bus.abq(["recv", "c"])).code).toBe(0);
    // A symbolic link in place of the folder is refused too.
    const elsewhere = join(bus.root, "elsewhere");
    rmSync(join(bus.home, "keys"), { recursive: true });
    symlinkSync(makeBus().home, elsewhere);
    symlinkSync(elsewhere, join(bus.home, "keys"));
    expect((await bus.abq(["keys", "list"])).code).toBe(9);
  });

  it("a damaged binding makes its key's messages rejected; a pre-registry key passes only where unsigned would", async () => {
    const bus = makeBus();
    const human = await keygen(bus, "HumanOverseer");
    const legacy = await keygen(bus, "legacy/agent");
    // Pre-registry: a key with no binding file and not named by default.json.
    rmSync(join(bus.home, "keys", `${legacy.keyid}.agent.json`));
    writeFileSync(join(bus.home, "keys", "default.json"), "{}");
    const legacyPem = readFileSync(join(bus.home, "keys", `${legacy.keyid}.key`), "utf8");
    await bus.abq(["channel", "create", "open"]);
    await bus.abq(["channel", "create", "strict", "--require-signed"]);
    const drop = (ch: string, agent: string): string => {
      const id = `req_${Date.now().toString(16).padStart(16, "0")}${Math.random().toString(16).slice(2, 18).padEnd(16, "0")}`;
      const m: Request = {
        id,
        version: "1.0.0",
        type: "signal",
        from: { agent, pid: 1, pwd: "/" },
        to: ch,
        content: "legacy",
        timestamp: new Date().toISOString(),
        ttl: 0,
      };
      const sig = sign(null, signedBytes(m), legacyPem).toString("base64");
      writeFileSync(
        join(bus.home, "channels", ch, "requests", `${id}.json`),
        JSON.stringify({ ...m, signature: { alg: "ed25519", key: legacy.keyid, sig } }),
      );
      return id;
    };
    const onOpen = drop("open", "legacy/agent");
    expect(parseJson<{ id: string }>((await bus.abq(["recv", "open", "--json"])).stdout).id).toBe(onOpen);
    const posing = drop("open", "HumanOverseer");
    expect((await bus.abq(["recv", "open"])).code).toBe(4);
    expect(rejectedReason(bus, "open", posing)).toMatch(/^spoofed: .* is not one registered to it/);
    const onStrict = drop("strict", "legacy/agent");
    expect((await bus.abq(["recv", "strict"])).code).toBe(4);
    expect(rejectedReason(bus, "strict", onStrict)).toMatch(/^unbound key: [0-9a-f]{16} is registered to no agent/);
    expect((await bus.abq(["keys", "list"])).stdout).toMatch(/\(no agent: abq keys add\)/);

    writeFileSync(join(bus.home, "keys", `${human.keyid}.agent.json`), "{not json");
    const sent = await bus.abq(["send", "open", "signal", "x", "--sign", "--json"], {
      env: { ABQ_AGENT: "HumanOverseer", ABQ_SIGNING_KEY: join(bus.home, "keys", `${human.keyid}.key`) },
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect((await bus.abq(["recv", "open"])).code).toBe(4);
    expect(rejectedReason(bus, "open", parseJson<{ id: string }>(sent.stdout).id)).toMatch(/agent\.json is unreadable/);
    expect((await bus.abq(["keys", "list"])).stdout).toMatch(new RegExp(`${human.keyid}.*damaged`));
  });
});
