import type { Command } from "commander";
import { withExamples } from "../help.ts";
import { commonOptions, escapeControls, printJson, printText } from "../output.ts";

export function registerKeygen(program: Command): void {
  const keygen = program
    .command("keygen")
    .description("make an ed25519 signing key for `send --sign`, registered in $ABQ_HOME/keys to your agent identity")
    .option(
      "--private-key <file>",
      "keep the private key in this new file (0600), not in the bus; sign with ABQ_SIGNING_KEY=<file>",
    )
    .option("--json", "print {keyid, agent, public_key_file, private_key_file} as JSON")
    .action(async (opts: { privateKey?: string; json?: boolean }, cmd: Command) => {
      const { keygen } = await import("../../index.ts");
      const key = await keygen({ ...commonOptions(cmd), privateKeyFile: opts.privateKey });
      if (opts.json)
        printJson({
          keyid: key.keyid,
          agent: key.agent,
          public_key_file: key.publicKeyFile,
          private_key_file: key.privateKeyFile,
        });
      else
        printText(
          `Key ${key.keyid} speaks for ${escapeControls(key.agent)}: sign with \`abq send --sign\`; ` +
            `public key ${key.publicKeyFile}`,
        );
    });
  withExamples(
    keygen,
    "abq keygen",
    "abq keygen --private-key ~/.overseer.key",
    'abq send deploy command "ship it" --sign',
  );
}
