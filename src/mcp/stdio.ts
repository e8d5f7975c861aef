/**
 * The SDK's stdio transport, made to answer bad input. On a line that is not JSON (or not JSON-RPC) the
 * SDK only calls `onerror` and drops the line, so a client waiting for its reply hangs forever. JSON-RPC
 * 2.0 (§5.1) says to reply with an error whose id is null: -32700 for a parse error, -32600 for a request
 * that is not one. The line is dropped and the server keeps serving.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

export const PARSE_ERROR = { code: -32700, message: "Parse error" } as const;
export const INVALID_REQUEST = { code: -32600, message: "Invalid Request" } as const;

/** A stdio transport whose bad lines get a JSON-RPC error reply. */
export function createStdioTransport(
  stdin: NodeJS.ReadableStream = process.stdin,
  stdout: NodeJS.WritableStream = process.stdout,
): StdioServerTransport {
  // The SDK types these as node:stream Readable/Writable; process.stdin/stdout are both.
  const transport = new StdioServerTransport(stdin as typeof process.stdin, stdout as typeof process.stdout);
  // Set before connect(): the protocol layer chains an `onerror` it finds instead of replacing it.
  transport.onerror = (err: Error): void => {
    const error = err instanceof SyntaxError ? PARSE_ERROR : err.name === "ZodError" ? INVALID_REQUEST : undefined;
    if (error === undefined) return;
    // Through the same stream as replies, so it cannot interleave inside one of them.
    stdout.write(`${JSON.stringify({ jsonrpc: "2.0", id: null, error })}\n`);
  };
  return transport;
}
