import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, printJson, printText } from "../output.ts";

export function registerKeygen(program: Command): void {
  const keygen = program
    .command("keygen")
    .description("make an ed25519 signing key for `send --sign`; its .pub file in $ABQ_HOME/keys marks it trusted")
    .option("--json", "print {keyid, publicKeyFile} as JSON")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { keygen } = await import("../../index.ts");
      const key = await keygen(commonOptions(cmd));
      if (opts.json) printJson(key);
      else printText(`Key ${key.keyid}: sign with \`abq send --sign\`; public key ${key.publicKeyFile}`);
    });
  withExamples(keygen, "abq keygen", 'abq send deploy command "ship it" --sign');
}
