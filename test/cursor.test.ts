/** The claim cursor keeps only the oldest names of a listing, so a deep backlog costs flat memory. */
import { describe, expect, it } from "vitest";
import { CURSOR_SIZE, oldest } from "../src/spool/claim.ts";
import { newId } from "../src/protocol/ids.ts";

describe("oldest()", () => {
  it("returns the k smallest names in order, for listings in any order", () => {
    const names = Array.from({ length: 20_000 }, () => `${newId(Date.now() - Math.floor(Math.random() * 1e9))}.json`);
    const expected = [...names].sort().slice(0, 100);
    const shuffled = [...names].sort(() => Math.random() - 0.5);
    expect(oldest(shuffled, 100)).toEqual(expected);
    expect(oldest([...names].sort().reverse(), 100)).toEqual(expected);
  });

  it("small listings are simply sorted", () => {
    expect(oldest(["c", "a", "b"], CURSOR_SIZE)).toEqual(["a", "b", "c"]);
  });
});
