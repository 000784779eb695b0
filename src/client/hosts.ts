// The connection string ("h1:2181,h2:2181/app"), the host rotation and path
// checks with chroot handling, as ZooKeeper's ConnectStringParser,
// StaticHostProvider and PathUtils do them.
import { BadArgumentsError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ConnectString {
  hosts: HostPort[];
  /** Server-side prefix of every path, without a trailing slash; null when there is none. */
  chroot: string | null;
}

const DEFAULT_PORT = 2181;

/** Parses "host[:port][,host[:port]...][/chroot]"; IPv6 hosts go in brackets. */
export function parseConnectString(s: string): ConnectString {
  const text = s.trim();
  const slash = text.indexOf('/');
  let chroot: string | null = null;
  let hostPart = text;
  if (slash >= 0) {
    hostPart = text.substring(0, slash);
    const root = text.substring(slash);
    if (root.length > 1) {
      validatePath(root);
      chroot = root;
    }
  }
  const hosts: HostPort[] = [];
  for (const raw of hostPart.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    hosts.push(parseHostPort(item));
  }
  if (hosts.length === 0) throw new BadArgumentsError(`no hosts in connection string ${JSON.stringify(s)}`);
  return { hosts, chroot };
}

function parseHostPort(item: string): HostPort {
  let host: string;
  let portText: string | undefined;
  if (item.startsWith('[')) {
    const close = item.indexOf(']');
    if (close < 0) throw new BadArgumentsError(`unclosed IPv6 bracket in ${JSON.stringify(item)}`);
    host = item.substring(1, close);
    const rest = item.substring(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new BadArgumentsError(`bad host ${JSON.stringify(item)}`);
      portText = rest.substring(1);
    }
  } else {
    const colon = item.lastIndexOf(':');
    if (colon >= 0 && item.indexOf(':') !== colon) {
      // A bare IPv6 address without a port.
      host = item;
    } else if (colon >= 0) {
      host = item.substring(0, colon);
      portText = item.substring(colon + 1);
    } else {
      host = item;
    }
  }
  if (host === '') throw new BadArgumentsError(`empty host in ${JSON.stringify(item)}`);
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw new BadArgumentsError(`bad port in ${JSON.stringify(item)}`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new BadArgumentsError(`port out of range in ${JSON.stringify(item)}`);
  }
  return { host, port };
}

/**
 * Hosts in a random order fixed at start (so load spreads over the ensemble),
 * tried round-robin; a full round without a successful connection asks the
 * caller to back off before the next one.
 */
export class HostProvider {
  readonly hosts: readonly HostPort[];
  private index = -1;
  /** Index of the host of the last successful connection; -1 before any. */
  private lastConnected = -1;
  private triedSinceConnect = 0;

  constructor(hosts: readonly HostPort[], random: () => number = Math.random) {
    const list = hosts.slice();
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(random() * (i + 1)));
      const t = list[i]!;
      list[i] = list[j]!;
      list[j] = t;
    }
    this.hosts = list;
  }

  get size(): number {
    return this.hosts.length;
  }

  /** The next host to try, and whether every host has been tried since the last success. */
  next(): { host: HostPort; roundDone: boolean } {
    this.index = (this.index + 1) % this.hosts.length;
    const roundDone = this.triedSinceConnect >= this.hosts.length;
    if (roundDone) this.triedSinceConnect = 0;
    this.triedSinceConnect++;
    return { host: this.hosts[this.index]!, roundDone };
  }

  /** The host last returned by next(). */
  get current(): HostPort | undefined {
    return this.index >= 0 ? this.hosts[this.index] : undefined;
  }

  /** Makes next() return `host` (one of `hosts`). */
  preferNext(host: HostPort): void {
    const i = this.hosts.indexOf(host);
    if (i >= 0) {
      this.index = i - 1;
      this.triedSinceConnect = 0;
    }
  }

  onConnected(): void {
    this.lastConnected = this.index;
    this.triedSinceConnect = 0;
  }

  get lastConnectedIndex(): number {
    return this.lastConnected;
  }
}

/**
 * ZooKeeper's PathUtils.validatePath: absolute, no empty, "." or ".." segments,
 * no trailing slash (except for a sequential create's prefix) and no characters
 * ZooKeeper refuses.
 */
export function validatePath(path: string, sequential = false): void {
  if (typeof path !== 'string') throw new BadArgumentsError('path must be a string');
  const p = sequential ? path + '1' : path;
  const why = pathProblem(p);
  if (why !== null) throw new BadArgumentsError(`invalid path ${JSON.stringify(path)}: ${why}`, path);
}

function pathProblem(path: string): string | null {
  if (path.length === 0) return 'empty';
  if (path.charCodeAt(0) !== 47) return 'must start with /';
  if (path.length === 1) return null;
  if (path.charCodeAt(path.length - 1) === 47) return 'must not end with /';
  let segStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : 47;
    if (c === 47) {
      const len = i - segStart;
      if (len === 0) return `empty node name at index ${i}`;
      if (len === 1 && path.charCodeAt(segStart) === 46) return 'relative paths (.) are not allowed';
      if (len === 2 && path.charCodeAt(segStart) === 46 && path.charCodeAt(segStart + 1) === 46) {
        return 'relative paths (..) are not allowed';
      }
      segStart = i + 1;
      continue;
    }
    if (c === 0) return `null character at index ${i}`;
    if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)) return `invalid character at index ${i}`;
    if ((c >= 0xd800 && c <= 0xf8ff) || (c >= 0xfff0 && c <= 0xffff)) return `invalid character at index ${i}`;
  }
  return null;
}

/** The server-side path of a client path under `chroot`. */
export function prependChroot(chroot: string | null, path: string): string {
  if (chroot === null) return path;
  return path === '/' ? chroot : chroot + path;
}

/** The client-side path of a server path; paths outside the chroot are returned unchanged. */
export function stripChroot(chroot: string | null, serverPath: string): string {
  if (chroot === null) return serverPath;
  if (serverPath === chroot) return '/';
  if (
    serverPath.length > chroot.length &&
    serverPath.startsWith(chroot) &&
    serverPath.charCodeAt(chroot.length) === 47
  ) {
    return serverPath.substring(chroot.length);
  }
  return serverPath;
}
