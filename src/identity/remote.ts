/**
 * Turning a git remote URL into `host/org/repo`. Handles https, ssh `git@host:org/repo`, `ssh://`, `git://`,
 * with or without `.git`, nested groups (GitLab), ports, and local paths. Credentials are never copied:
 * everything before the last `@` of the authority is dropped (the seed put tokens into every message).
 */
import { basename } from "node:path";

export interface RemoteName {
  host: string;
  /** `org/repo` (or `group/sub/repo`); for local paths just the repository folder name. */
  path: string;
}

const SCHEME_URL = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/i;
/** scp-like syntax: `[user@]host:path`, but not a Windows drive letter and not a URL. */
const SCP_LIKE = /^(?:[^@/]+@)?([^:/\\]{2,}):(?!\/\/)(.+)$/;

export function parseRemote(url: string): RemoteName | null {
  const raw = url.trim();
  if (raw === "") return null;
  const scheme = SCHEME_URL.exec(raw);
  if (scheme) {
    const [, proto = "", authority = "", rest = ""] = scheme;
    if (proto.toLowerCase() === "file") return localRemote(rest);
    const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
    const host = stripPort(hostPort).toLowerCase();
    const path = cleanPath(rest);
    return host !== "" && path !== "" ? { host, path } : null;
  }
  const scp = SCP_LIKE.exec(raw);
  if (scp) {
    const [, host = "", rest = ""] = scp;
    const path = cleanPath(rest);
    return path !== "" ? { host: host.toLowerCase(), path } : null;
  }
  return localRemote(raw);
}

function localRemote(path: string): RemoteName | null {
  const name = stripGitSuffix(basename(path.replace(/\/+$/, "")));
  // A "path" with ':' or '@' is a broken URL (e.g. `git@host:` with no repo), not a folder: ignore it.
  return name !== "" && !/[:@]/.test(name) ? { host: "local", path: name } : null;
}

function stripPort(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(0, hostPort.indexOf("]") + 1); // IPv6 literal
  const colon = hostPort.lastIndexOf(":");
  return colon === -1 ? hostPort : hostPort.slice(0, colon);
}

function cleanPath(path: string): string {
  const segments = path
    .replace(/[?#].*$/, "")
    .split("/")
    .filter((s) => s !== "" && s !== "." && s !== ".." && s !== "~");
  const last = segments.pop();
  if (last === undefined) return "";
  segments.push(stripGitSuffix(last));
  return segments.filter((s) => s !== "").join("/");
}

/** Removes a trailing `.git` suffix, once (the seed's `rstrip(".git")` turned `widget.git` into `widge`). */
function stripGitSuffix(name: string): string {
  return name.endsWith(".git") ? name.slice(0, -4) : name;
}
