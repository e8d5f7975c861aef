/**
 * URL scheme → transport: the only module that knows which transports exist. Adding one means
 * implementing TransportCore (src/lifecycle/transport.ts), passing test/conformance, and adding a line
 * here. No other code checks a scheme or a transport's class.
 *
 * A bus is named by a URL: `file:///path/to/home` (or no URL: `$ABQ_HOME`, else ~/.abq) for the spool,
 * `nats://host:port` (or `tls://`) for JetStream, which is loaded only when asked for.
 */
import { AbqError } from "./protocol/errors.ts";
import type { Transport } from "./lifecycle/transport.ts";
import { FsTransport } from "./spool/spool.ts";

export interface OpenOptions {
  /** The spool's home, and where JetStream materialises claimed messages. */
  home?: string | undefined;
  fsync?: boolean | undefined;
  /** Who is acting (recorded in leases and the event log). */
  agent?: string | undefined;
  /** The process recorded as the owner of claims. */
  ownerPid?: number | undefined;
}

type Opener = (url: string, opts: OpenOptions) => Promise<Transport>;

const OPENERS: Record<string, Opener> = {
  file: (url, opts) => {
    const path = url === "" ? undefined : decodeURIComponent(new URL(url).pathname);
    return Promise.resolve(new FsTransport({ ...opts, home: path ?? opts.home }));
  },
  nats: async (url, opts) => (await import("./nats/transport.ts")).NatsTransport.open({ url, ...opts }),
};
OPENERS["tls"] = OPENERS["nats"]!;

/** Hides a password in a URL shown in an error. */
function shown(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@").slice(0, 200);
}

/** The scheme of a bus URL (`file` for none). */
export function schemeOf(url: string | undefined): string {
  if (url === undefined || url === "") return "file";
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url);
  if (!m) {
    throw new AbqError("E_USAGE", `'${shown(url)}' is not a bus URL`, {
      hint: `use ${Object.keys(OPENERS)
        .map((s) => `${s}://…`)
        .join(", ")}, or unset ABQ_URL to use the local bus`,
    });
  }
  return m[1]!.toLowerCase();
}

/** Opens the transport for `url` (undefined or "" = the local spool). */
export async function openBus(url: string | undefined, opts: OpenOptions = {}): Promise<Transport> {
  const scheme = schemeOf(url);
  const open = OPENERS[scheme];
  if (open === undefined) {
    throw new AbqError("E_USAGE", `no transport for '${scheme}://' in '${shown(url ?? "")}'`, {
      hint: `known: ${Object.keys(OPENERS).join(", ")}; unset ABQ_URL to use the local bus`,
    });
  }
  return open(url ?? "", opts);
}
