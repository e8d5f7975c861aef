/**
 * Whether a file descriptor is a terminal, without loading `node:tty` for the usual case. `node:tty`
 * pulls in `net` and the whole streams stack (about twenty built-in modules, several ms of every CLI
 * call), and agents, hooks and scripts run abq with pipes and files, not a terminal. A terminal is a
 * character device, so one fstat(2) settles every other case; only a character device (a terminal, or
 * /dev/null) is asked of `tty.isatty`.
 */
import { fstatSync } from "node:fs";

const known = new Map<number, boolean>();

export function isTerminal(fd: number): boolean {
  let answer = known.get(fd);
  if (answer === undefined) {
    answer = characterDevice(fd) && process.getBuiltinModule("node:tty").isatty(fd);
    known.set(fd, answer);
  }
  return answer;
}

function characterDevice(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice();
  } catch {
    return false; // closed or invalid: not a terminal
  }
}
