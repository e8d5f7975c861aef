/** The name mapping abq ↔ NATS (no server needed): injective, and always valid subject tokens and stream names. */
import { describe, expect, it } from "vitest";
import { channelOfStream, decodeName, encodeName, recordKey, requestSubject, streamName } from "../src/nats/names.ts";
import { parseAck } from "../src/nats/claim.ts";
import { natsSettings } from "../src/nats/connect.ts";
import { channelName } from "../src/protocol/names.ts";

describe("NATS names", () => {
  it("encodes every allowed channel name reversibly into a safe token, and different names differently", () => {
    const names = ["a", "a.b", "a_b", "a_2eb", "a-b", "x..y".replace("..", "._"), "v1.2_rc-3", "0"];
    const encoded = names.map(encodeName);
    expect(new Set(encoded).size).toBe(names.length);
    for (const [i, e] of encoded.entries()) {
      expect(e).toMatch(/^[a-z0-9_-]+$/);
      expect(decodeName(e)).toBe(names[i]);
      expect(channelOfStream(streamName(channelName(names[i]!)))).toBe(names[i]);
    }
    expect(requestSubject("a.b", "req_01")).toBe("abq.a_2eb.req.req_01");
    expect(recordKey("a.b", "bob", "req_01")).toBe("a_2eb.bob.req_01");
    expect(recordKey("a.b", undefined, "req_01")).toBe("a_2eb._.req_01");
    expect(channelOfStream("KV_abq_state")).toBeUndefined();
    // Names are validated where they enter (channelName); a stream name is only ever built from a valid one.
    expect(() => channelName("../x")).toThrow(/invalid channel name/);
  });

  it("reads the delivery count and stream sequence from both ack subject forms", () => {
    expect(parseAck("$JS.ACK.ABQ_a.work.3.17.20.1795240577198425574.0")).toEqual({ delivery: 3, seq: 17 });
    expect(parseAck("$JS.ACK.dom.acchash.ABQ_a.work.2.9.11.1795240577198425574.0.tok")).toEqual({
      delivery: 2,
      seq: 9,
    });
  });

  it("accepts nats:// URLs (lists too), hides credentials, and refuses anything else as a usage error", () => {
    expect(natsSettings("nats://u:secret@h:4222,nats://h2").display).toBe("nats://h:4222,nats://h2");
    for (const bad of ["nats://h:port", "http://h:4222", "nats://", "h:4222"]) {
      expect(() => natsSettings(bad)).toThrow(expect.objectContaining({ code: "E_USAGE" }));
    }
  });
});
