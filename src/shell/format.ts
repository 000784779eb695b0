// Output formats of Apache ZooKeeper's zkCli, so scripts that parse its output keep working.
import { Perms, type ACL, type Stat, type WatchedEvent } from '../client/index.js';
import { ZooKeeperError } from '../client/index.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(d)
    .find((p) => p.type === 'timeZoneName');
  // Java names UTC "UTC" where Intl may say "GMT" for some zones; keep Intl's otherwise.
  if (!part) return 'UTC';
  return part.value === 'GMT' && d.getTimezoneOffset() === 0 ? (process.env.TZ === 'GMT' ? 'GMT' : 'UTC') : part.value;
}

/** java.util.Date#toString: "EEE MMM dd HH:mm:ss zzz yyyy" in the local time zone. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const time = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${time} ${zoneName(d)} ${d.getFullYear()}`;
}

function hex(n: number | bigint): string {
  // Long.toHexString prints the two's complement of negative values.
  return `0x${BigInt.asUintN(64, BigInt(n)).toString(16)}`;
}

/** zkCli's StatPrinter lines. */
export function formatStat(s: Stat): string {
  return (
    [
      `cZxid = ${hex(s.czxid)}`,
      `ctime = ${javaDate(s.ctime)}`,
      `mZxid = ${hex(s.mzxid)}`,
      `mtime = ${javaDate(s.mtime)}`,
      `pZxid = ${hex(s.pzxid)}`,
      `cversion = ${s.cversion}`,
      `dataVersion = ${s.version}`,
      `aclVersion = ${s.aversion}`,
      `ephemeralOwner = ${hex(s.ephemeralOwner)}`,
      `dataLength = ${s.dataLength}`,
      `numChildren = ${s.numChildren}`,
    ].join('\n') + '\n'
  );
}

/** Java's List#toString. */
export function javaList(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

const PERM_LETTERS: [string, number][] = [
  ['c', Perms.CREATE],
  ['d', Perms.DELETE],
  ['r', Perms.READ],
  ['w', Perms.WRITE],
  ['a', Perms.ADMIN],
];

export function permString(perms: number): string {
  return PERM_LETTERS.filter(([, bit]) => (perms & bit) !== 0)
    .map(([c]) => c)
    .join('');
}

export function formatAcl(acl: readonly ACL[]): string {
  return acl.map((a) => `'${a.id.scheme},'${a.id.id}\n: ${permString(a.perms)}\n`).join('');
}

export class AclFormatError extends Error {}

/**
 * zkCli's AclParser: comma-separated scheme:id:perm, where the id may itself
 * hold colons (digest ids, IPv6), so the scheme ends at the first colon and
 * the perms start after the last.
 */
export function parseAcl(text: string): ACL[] {
  const out: ACL[] = [];
  for (const entry of text.split(',')) {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first < 0 || last === first) throw new AclFormatError(`${entry} does not have the form scheme:id:perm`);
    let perms = 0;
    for (const ch of entry.substring(last + 1)) {
      const bit = PERM_LETTERS.find(([c]) => c === ch.toLowerCase());
      if (bit) perms |= bit[1];
      else if (ch.toLowerCase() !== 'x') throw new AclFormatError(`Unknown perm type: ${ch}`);
    }
    out.push({ perms, id: { scheme: entry.substring(0, first), id: entry.substring(first + 1, last) } });
  }
  return out;
}

const STATE_NAMES: Record<number, string> = {
  0: 'Disconnected',
  3: 'SyncConnected',
  4: 'AuthFailed',
  5: 'ConnectedReadOnly',
  6: 'SaslAuthenticated',
  [-112]: 'Expired',
  7: 'Closed',
};

const EVENT_NAMES: Record<number, string> = {
  [-1]: 'None',
  1: 'NodeCreated',
  2: 'NodeDeleted',
  3: 'NodeDataChanged',
  4: 'NodeChildrenChanged',
  5: 'DataWatchRemoved',
  6: 'ChildWatchRemoved',
  7: 'PersistentWatchRemoved',
};

/** WatchedEvent#toString of ZooKeeper 3.8. */
export function formatEvent(e: { type: number; state: number; path: string | null }): string {
  const state = STATE_NAMES[e.state] ?? String(e.state);
  const type = EVENT_NAMES[e.type] ?? String(e.type);
  return `WatchedEvent state:${state} type:${type} path:${e.path === '' || e.path === null ? 'null' : e.path}`;
}

export function formatWatchedEvent(e: WatchedEvent): string {
  return formatEvent(e);
}

// KeeperException.Code names as Java spells them in "KeeperErrorCode = ..." messages.
const JAVA_CODE_TEXT: Record<number, string> = {
  [-1]: 'SystemError',
  [-2]: 'RuntimeInconsistency',
  [-3]: 'DataInconsistency',
  [-4]: 'ConnectionLoss',
  [-5]: 'MarshallingError',
  [-6]: 'Unimplemented',
  [-7]: 'OperationTimeout',
  [-8]: 'BadArguments',
  [-13]: 'NewConfigNoQuorum',
  [-14]: 'ReconfigInProgress',
  [-100]: 'APIError',
  [-101]: 'NoNode',
  [-102]: 'NoAuth',
  [-103]: 'BadVersion',
  [-108]: 'NoChildrenForEphemerals',
  [-110]: 'NodeExists',
  [-111]: 'Directory not empty',
  [-112]: 'Session expired',
  [-113]: 'Invalid callback',
  [-114]: 'InvalidACL',
  [-115]: 'AuthFailed',
  [-118]: 'Session moved',
  [-119]: 'Not a read-only call',
  [-120]: 'Ephemeral node on local session',
  [-121]: 'No such watcher',
  [-122]: 'Request timed out',
  [-123]: 'Reconfig is disabled',
  [-125]: 'Quota has exceeded',
  [-127]: 'Op throttled due to high load',
};

/** The message zkCli prints for a failed command (CliWrapperException). */
export function errorMessage(err: unknown, path?: string): string {
  if (!(err instanceof ZooKeeperError)) return err instanceof Error ? err.message : String(err);
  const p = err.path ?? path ?? '';
  switch (err.code) {
    case -101:
      return `Node does not exist: ${p}`;
    case -108:
      return `Ephemerals cannot have children: ${p}`;
    case -110:
      return `Node already exists: ${p}`;
    case -111:
      return `Node not empty: ${p}`;
    case -119:
      return `Not a read-only call: ${p}`;
    case -114:
      return `Acl is not valid : ${p}`;
    case -102:
      return `Insufficient permission : ${p}`;
    case -8:
      return `Arguments are not valid : ${p}`;
    case -103:
      return `version No is not valid : ${p}`;
    default: {
      const text = JAVA_CODE_TEXT[err.code] ?? err.codeName;
      return `KeeperErrorCode = ${text}${p ? ` for ${p}` : ''}`;
    }
  }
}
