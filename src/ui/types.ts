/** The dashboard's public types, apart from the lazy barrel (index.ts) so server.ts can name them too. */
import type { CommonOptions } from "../api/options.ts";

export interface UiOptions extends CommonOptions {
  /** TCP port on 127.0.0.1. Default: 0, any free port. */
  port?: number | undefined;
}

/** A running dashboard. */
export interface UiServer {
  /** What to open: `http://127.0.0.1:<port>/?token=<token>`. */
  url: string;
  port: number;
  /** The access token the URL carries; every request and action needs it. */
  token: string;
  /** Stops serving: ends the live streams, frees the port and closes the bus. */
  close(): Promise<void>;
}
