// Server configuration: ZooKeeper's zoo.cfg (a java.util.Properties file),
// the `synod server` command-line overrides, and the myid file.
//
// ZooKeeper facts this file follows (QuorumPeerConfig, QuorumPeer.QuorumServer,
// FourLetterCommands, VerifyingFileFactory @3.9):
// - the file is read with Properties.load, so later duplicates replace earlier
//   ones, and every key and value is trimmed;
// - keys QuorumPeerConfig does not know become `zookeeper.<key>` system
//   properties, which is how snapCount, forceSync, 4lw.commands.whitelist,
//   extendedTypesEnabled, globalOutstandingLimit and
//   DigestAuthenticationProvider.superDigest reach the server from zoo.cfg;
// - dataDir and dataLogDir are used as written: a relative path is relative
//   to the working directory, with a warning unless it starts with ./ or ../;
// - srvr is always whitelisted, whatever 4lw.commands.whitelist says.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

export class ConfigError extends Error {
  /** The zoo.cfg key (or CLI flag) at fault, when there is one. */
  readonly key: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where: { key?: string; file?: string; line?: number } = {}) {
    super(message);
    this.name = 'ConfigError';
    this.key = where.key;
    this.file = where.file;
    this.line = where.line;
  }
}

export const FOUR_LETTER_WORDS = [
  'ruok',
  'srvr',
  'stat',
  'mntr',
  'conf',
  'cons',
  'envi',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'isro',
  'crst',
  'srst',
  'dirs',
  'hash',
  'gtmk',
  'stmk',
] as const;

export interface ServerSpec {
  id: number;
  host: string;
  peerPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  clientPort?: number;
  clientHost?: string;
}

export interface ServerConfig {
  /** Milliseconds; the unit of initLimit/syncLimit and of the session timeout defaults. */
  tickTime: number;
  dataDir: string;
  dataLogDir: string;
  /** 0 asks the OS for a free port (a Synod extension; ZooKeeper has no client port then). */
  clientPort: number;
  clientPortAddress: string;
  /** Concurrent connections per client IP; 0 = unlimited. */
  maxClientCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  snapCount: number;
  autopurgeSnapRetainCount: number;
  /** Hours; 0 = off. */
  autopurgePurgeInterval: number;
  fourLetterWhitelist: Set<string> | '*';
  juteMaxBuffer: number;
  extendedTypesEnabled: boolean;
  /** Hard quotas (countHardLimit/byteHardLimit) refuse writes with QUOTAEXCEEDED. */
  enforceQuota: boolean;
  forceSync: boolean;
  superDigest: string | null;
  globalOutstandingLimit: number;
  initLimit: number;
  syncLimit: number;
  servers: ServerSpec[];
  /** This server's id in `servers` (myid or --id); 0 when standalone. */
  myId: number;
  /**
   * synod.joinExisting (or --join): a server with an empty data dir waits to
   * be added to a running ensemble by reconfig instead of starting a new one
   * from the server.N lines (etcd's initial-cluster-state=existing).
   */
  joinExisting: boolean;
  /** synod.dial.N=host:port: dial server N there instead of at its server line's peer address. */
  dial: Map<number, { host: string; port: number }>;
  /** reconfigEnabled: clients (super or with WRITE on /zookeeper/config) may change the membership. */
  reconfigEnabled: boolean;
  /** readonlymode.enabled: a server cut off from the quorum serves reads to clients that allow it. */
  readOnlyMode: boolean;
  /** synod.electionTimeoutMs: a follower that hears no leader for this long (up to twice it) calls an election. */
  electionTimeoutMs: number;
  /** synod.heartbeatMs: the leader's heartbeat interval and the Raft clock's tick. */
  heartbeatMs: number;
  /** synod.walInlineWriteMs: write small WAL batches on the event loop (fdatasync stays in the pool) while fdatasync averages under this (0: never). */
  walInlineWriteMs: number;
  admin: { enableServer: boolean; serverAddress: string; serverPort: number };
  /** znode.container.checkIntervalMs: how often container and TTL nodes are checked for removal. */
  containerCheckIntervalMs: number;
  /** znode.container.maxPerMinute: cap on container/TTL deletions per minute. */
  containerMaxPerMinute: number;
  /** znode.container.maxNeverUsedIntervalMs: 0 = a never-used container is kept forever. */
  containerMaxNeverUsedIntervalMs: number;
}

export interface ConfigResult {
  config: ServerConfig;
  warnings: string[];
}

const INT_MAX = 2147483647;
const MIN_SNAP_RETAIN_COUNT = 3;
/** Session ids carry the server id in their top byte. */
const MAX_SERVER_ID = 255;
/** ZooKeeper's EphemeralType.MAX_EXTENDED_SERVER_ID: TTL session ids reserve 0xff. */
const MAX_EXTENDED_SERVER_ID = 254;

export function defaultConfig(): ServerConfig {
  const tickTime = 2000;
  return {
    tickTime,
    dataDir: './data',
    dataLogDir: './data',
    clientPort: 2181,
    clientPortAddress: '127.0.0.1',
    maxClientCnxns: 60,
    minSessionTimeout: 2 * tickTime,
    maxSessionTimeout: 20 * tickTime,
    snapCount: 100000,
    autopurgeSnapRetainCount: 3,
    autopurgePurgeInterval: 0,
    fourLetterWhitelist: new Set(['srvr']),
    juteMaxBuffer: 0xfffff,
    extendedTypesEnabled: false,
    enforceQuota: false,
    forceSync: true,
    superDigest: null,
    globalOutstandingLimit: 1000,
    initLimit: 10,
    syncLimit: 5,
    servers: [],
    myId: 0,
    readOnlyMode: false,
    reconfigEnabled: false,
    joinExisting: false,
    dial: new Map(),
    electionTimeoutMs: 1000,
    heartbeatMs: 100,
    walInlineWriteMs: 1,
    admin: { enableServer: false, serverAddress: '127.0.0.1', serverPort: 8080 },
    containerCheckIntervalMs: 60000,
    containerMaxPerMinute: 10000,
    containerMaxNeverUsedIntervalMs: 0,
  };
}

// ---------------------------------------------------------------------------
// java.util.Properties syntax

export interface PropertyEntry {
  key: string;
  value: string;
  /** 1-based line where the logical line starts. */
  line: number;
}

/**
 * Splits text into Properties entries, in file order, duplicates kept.
 * Follows Properties.load: `#`/`!` comment lines, `=`, `:` or whitespace
 * after the key, backslash escapes and line continuations; then trims keys
 * and values as ZooKeeper does.
 */
export function parseProperties(text: string, file = 'zoo.cfg'): PropertyEntry[] {
  const out: PropertyEntry[] = [];
  for (const { text: logical, line } of logicalLines(text)) {
    const { rawKey, rawValue } = splitKeyValue(logical);
    const convert = (s: string): string => {
      const r = unescape(s);
      if (r === null) throw new ConfigError(`${file}:${line}: malformed \\uxxxx escape in: ${logical}`, { file, line });
      return r;
    };
    out.push({ key: javaTrim(convert(rawKey)), value: javaTrim(convert(rawValue)), line });
  }
  return out;
}

/** Java's LineReader: natural lines joined at an odd run of trailing backslashes. */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let buf = '';
  let skipWhiteSpace = true;
  let isCommentLine = false;
  let isNewLine = true;
  let appendedLineBegin = false;
  let precedingBackslash = false;
  let skipLF = false;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const here = line;
    if (c === '\r' || (c === '\n' && text[i - 1] !== '\r')) line++;
    if (skipLF) {
      skipLF = false;
      if (c === '\n') continue;
    }
    if (skipWhiteSpace) {
      if (c === ' ' || c === '\t' || c === '\f') continue;
      if (!appendedLineBegin && (c === '\r' || c === '\n')) continue;
      skipWhiteSpace = false;
      appendedLineBegin = false;
    }
    if (isNewLine) {
      isNewLine = false;
      startLine = here;
      if (c === '#' || c === '!') {
        isCommentLine = true;
        continue;
      }
    }
    if (c !== '\n' && c !== '\r') {
      if (isCommentLine) continue;
      buf += c;
      precedingBackslash = c === '\\' ? !precedingBackslash : false;
      continue;
    }
    if (isCommentLine || buf.length === 0) {
      isCommentLine = false;
      isNewLine = true;
      skipWhiteSpace = true;
      precedingBackslash = false;
      buf = '';
      continue;
    }
    if (precedingBackslash) {
      buf = buf.slice(0, -1);
      skipWhiteSpace = true;
      appendedLineBegin = true;
      precedingBackslash = false;
      if (c === '\r') skipLF = true;
      continue;
    }
    out.push({ text: buf, line: startLine });
    buf = '';
    isNewLine = true;
    skipWhiteSpace = true;
  }
  if (buf.length > 0 && !isCommentLine) {
    out.push({ text: precedingBackslash ? buf.slice(0, -1) : buf, line: startLine });
  }
  return out;
}

function splitKeyValue(s: string): { rawKey: string; rawValue: string } {
  let keyLen = 0;
  let valueStart = s.length;
  let hasSep = false;
  let backslash = false;
  while (keyLen < s.length) {
    const c = s[keyLen]!;
    if ((c === '=' || c === ':') && !backslash) {
      valueStart = keyLen + 1;
      hasSep = true;
      break;
    }
    if ((c === ' ' || c === '\t' || c === '\f') && !backslash) {
      valueStart = keyLen + 1;
      break;
    }
    backslash = c === '\\' ? !backslash : false;
    keyLen++;
  }
  while (valueStart < s.length) {
    const c = s[valueStart]!;
    if (c !== ' ' && c !== '\t' && c !== '\f') {
      if (!hasSep && (c === '=' || c === ':')) hasSep = true;
      else break;
    }
    valueStart++;
  }
  return { rawKey: s.slice(0, keyLen), rawValue: s.slice(valueStart) };
}

/** Properties.loadConvert; null on a malformed \uxxxx. */
function unescape(s: string): string | null {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) break;
    const e = s[i]!;
    if (e === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) return null;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (e === 't') out += '\t';
    else if (e === 'r') out += '\r';
    else if (e === 'n') out += '\n';
    else if (e === 'f') out += '\f';
    else out += e;
  }
  return out;
}

/** String.trim in Java strips every char <= U+0020, not only Unicode whitespace. */
function javaTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--;
  return s.slice(a, b);
}

// ---------------------------------------------------------------------------
// Keys

/** Where a value came from, for messages. */
interface Ctx {
  file: string;
  line: number;
  key: string;
  value: string;
}

function loc(ctx: { file: string; line: number }): string {
  return `${ctx.file}:${ctx.line}`;
}

function shown(value: string): string {
  return value === '' || /[\s'"]/.test(value) ? JSON.stringify(value) : value;
}

function bad(ctx: Ctx, what: string, value = ctx.value): ConfigError {
  return new ConfigError(`${loc(ctx)}: ${ctx.key}=${shown(value)} ${what}`, {
    key: ctx.key,
    file: ctx.file,
    line: ctx.line,
  });
}

interface IntRule {
  min: number;
  max?: number;
  /** Accept 0x-prefixed hex, as Integer.decode does for ZooKeeper's system-property keys. */
  hex?: boolean;
  /** What the number means, appended to the message. */
  unit?: string;
}

function describeInt(r: IntRule): string {
  const max = r.max ?? INT_MAX;
  let s: string;
  if (r.min < 0) s = 'an integer';
  else if (max === INT_MAX && r.min === 1) s = 'a positive integer';
  else if (max === INT_MAX && r.min === 0) s = 'a non-negative integer';
  else if (max === INT_MAX) s = `an integer >= ${r.min}`;
  else s = `an integer from ${r.min} to ${max}`;
  return r.unit ? `${s} (${r.unit})` : s;
}

function parseIntValue(ctx: Ctx, rule: IntRule): number {
  const v = ctx.value;
  let n: number;
  if (rule.hex && /^[+-]?(0x|0X|#)[0-9a-fA-F]+$/.test(v)) {
    const neg = v.startsWith('-');
    const digits = v.replace(/^[+-]?(0x|0X|#)/, '');
    n = (neg ? -1 : 1) * parseInt(digits, 16);
  } else if (/^[+-]?\d+$/.test(v)) {
    n = Number(v);
  } else {
    throw bad(ctx, `is not ${describeInt(rule)}`);
  }
  if (!Number.isSafeInteger(n) || n < rule.min || n > (rule.max ?? INT_MAX)) {
    throw bad(ctx, `is out of range: expected ${describeInt(rule)}`);
  }
  return n;
}

const PORT: IntRule = { min: 1, max: 65535 };

function parseBool(ctx: Ctx, yesNo = false): boolean {
  const v = ctx.value.toLowerCase();
  if (v === 'true' || (yesNo && v === 'yes')) return true;
  if (v === 'false' || (yesNo && v === 'no')) return false;
  throw bad(ctx, yesNo ? "is not a boolean: expected 'yes', 'no', 'true' or 'false'" : "is not 'true' or 'false'");
}

const HOSTNAME_RE =
  /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** An IP literal (IPv6 with or without brackets) or a host name; returned without brackets. */
function parseHost(s: string): string | null {
  const inner = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (inner !== s) return isIP(inner) === 6 ? inner : null;
  if (isIP(s) !== 0) return s;
  return s.length <= 253 && HOSTNAME_RE.test(s) ? s : null;
}

function hostValue(ctx: Ctx): string {
  const h = parseHost(ctx.value);
  if (h === null) throw bad(ctx, 'is not an IP address or host name');
  return h;
}

function pathValue(ctx: Ctx, warnings: string[]): string {
  const p = ctx.value;
  if (p === '') throw bad(ctx, 'is empty: expected a directory path');
  if (p.startsWith('~')) {
    warnings.push(`${loc(ctx)}: ${ctx.key}=${p} starts with '~', which is not expanded (nor is it by ZooKeeper)`);
  } else if (!isAbsolutePath(p) && !p.startsWith('./') && !p.startsWith('../')) {
    // ZooKeeper's VerifyingFileFactory gives the same nudge.
    warnings.push(
      `${loc(ctx)}: ${ctx.key}=${p} is relative to the working directory, not to the config file; prepend ./ to show that is intended`,
    );
  }
  return p;
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

function parseWhitelist(ctx: Ctx): Set<string> | '*' {
  const names = ctx.value
    .split(',')
    .map((s) => javaTrim(s))
    .filter((s) => s !== '');
  if (names.includes('*')) return '*';
  const known = new Set<string>(FOUR_LETTER_WORDS);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw bad(
      ctx,
      `names ${unknown.map((u) => `'${u}'`).join(', ')}, not a four-letter word: expected '*' or a comma-separated list of ${FOUR_LETTER_WORDS.join(', ')}`,
    );
  }
  // FourLetterCommands always adds srvr: zkServer.sh status depends on it.
  return new Set(['srvr', ...names]);
}

function parseSuperDigest(ctx: Ctx): string {
  const m = /^([^:]+):([A-Za-z0-9+/]+={0,2})$/.exec(ctx.value);
  if (!m || m[2]!.length % 4 !== 0) {
    // The value is a password hash: name the user at most.
    const user = ctx.value.includes(':') ? ctx.value.slice(0, ctx.value.indexOf(':')) : '';
    throw bad(
      ctx,
      "is not of the form 'user:base64digest' (as printed by DigestAuthenticationProvider.generateDigest)",
      user ? `${user}:...` : '...',
    );
  }
  return ctx.value;
}

type Handler = (ctx: Ctx, st: ParseState) => void;

interface ParseState {
  config: ServerConfig;
  warnings: string[];
  /** Keys given in the file (after de-duplication). */
  explicit: Set<string>;
  /** -1 means "derive from tickTime", as ZooKeeper does. */
  minSessionTimeout: number;
  maxSessionTimeout: number;
  serverLines: Map<number, { ctx: Ctx }>;
}

const HANDLERS: Record<string, Handler> = {
  tickTime: (c, s) => {
    s.config.tickTime = parseIntValue(c, { min: 1, unit: 'milliseconds' });
  },
  dataDir: (c, s) => {
    s.config.dataDir = pathValue(c, s.warnings);
  },
  dataLogDir: (c, s) => {
    s.config.dataLogDir = pathValue(c, s.warnings);
  },
  clientPort: (c, s) => {
    s.config.clientPort = parseIntValue(c, { min: 0, max: 65535, unit: '0 = any free port' });
  },
  clientPortAddress: (c, s) => {
    s.config.clientPortAddress = hostValue(c);
  },
  maxClientCnxns: (c, s) => {
    s.config.maxClientCnxns = parseIntValue(c, { min: 0, unit: '0 = unlimited' });
  },
  minSessionTimeout: (c, s) => {
    s.minSessionTimeout =
      c.value === '-1' ? -1 : parseIntValue(c, { min: 1, unit: 'milliseconds, or -1 for 2*tickTime' });
  },
  maxSessionTimeout: (c, s) => {
    s.maxSessionTimeout =
      c.value === '-1' ? -1 : parseIntValue(c, { min: 1, unit: 'milliseconds, or -1 for 20*tickTime' });
  },
  snapCount: (c, s) => {
    // SyncRequestProcessor rolls a random point in [snapCount/2+1, snapCount]; below 2 that is empty.
    s.config.snapCount = parseIntValue(c, { min: 2, hex: true, unit: 'transactions between snapshots' });
  },
  'autopurge.snapRetainCount': (c, s) => {
    const n = parseIntValue(c, { min: -INT_MAX - 1 });
    if (n < MIN_SNAP_RETAIN_COUNT) {
      s.warnings.push(`${loc(c)}: autopurge.snapRetainCount=${n} is below the minimum; using ${MIN_SNAP_RETAIN_COUNT}`);
    }
    s.config.autopurgeSnapRetainCount = Math.max(n, MIN_SNAP_RETAIN_COUNT);
  },
  'autopurge.purgeInterval': (c, s) => {
    const n = parseIntValue(c, { min: -INT_MAX - 1, unit: 'hours, 0 = off' });
    if (n < 0) s.warnings.push(`${loc(c)}: autopurge.purgeInterval=${n} is negative; purging is off`);
    s.config.autopurgePurgeInterval = Math.max(n, 0);
  },
  '4lw.commands.whitelist': (c, s) => {
    s.config.fourLetterWhitelist = parseWhitelist(c);
  },
  'jute.maxbuffer': (c, s) => {
    s.config.juteMaxBuffer = parseIntValue(c, { min: 1, hex: true, unit: 'bytes' });
  },
  enforceQuota: (c, s) => {
    s.config.enforceQuota = parseBool(c);
  },
  extendedTypesEnabled: (c, s) => {
    s.config.extendedTypesEnabled = parseBool(c);
  },
  forceSync: (c, s) => {
    s.config.forceSync = parseBool(c, true);
  },
  'DigestAuthenticationProvider.superDigest': (c, s) => {
    s.config.superDigest = parseSuperDigest(c);
  },
  globalOutstandingLimit: (c, s) => {
    s.config.globalOutstandingLimit = parseIntValue(c, { min: 1, hex: true, unit: 'requests' });
  },
  initLimit: (c, s) => {
    s.config.initLimit = parseIntValue(c, { min: 1, unit: 'ticks' });
  },
  syncLimit: (c, s) => {
    s.config.syncLimit = parseIntValue(c, { min: 1, unit: 'ticks' });
  },
  'synod.joinExisting': (c, s) => {
    s.config.joinExisting = parseBool(c);
  },
  reconfigEnabled: (c, s) => {
    s.config.reconfigEnabled = parseBool(c);
  },
  'readonlymode.enabled': (c, s) => {
    s.config.readOnlyMode = parseBool(c);
  },
  'synod.electionTimeoutMs': (c, s) => {
    s.config.electionTimeoutMs = parseIntValue(c, { min: 10, unit: 'milliseconds' });
  },
  'synod.heartbeatMs': (c, s) => {
    s.config.heartbeatMs = parseIntValue(c, { min: 1, unit: 'milliseconds' });
  },
  'synod.walInlineWriteMs': (c, s) => {
    s.config.walInlineWriteMs = parseIntValue(c, { min: 0, max: 1000, unit: 'milliseconds, 0 = never' });
  },
  'admin.enableServer': (c, s) => {
    s.config.admin.enableServer = parseBool(c);
  },
  'admin.serverAddress': (c, s) => {
    s.config.admin.serverAddress = hostValue(c);
  },
  'admin.serverPort': (c, s) => {
    s.config.admin.serverPort = parseIntValue(c, PORT);
  },
  'znode.container.checkIntervalMs': (c, s) => {
    s.config.containerCheckIntervalMs = parseIntValue(c, { min: 1, unit: 'milliseconds' });
  },
  'znode.container.maxPerMinute': (c, s) => {
    s.config.containerMaxPerMinute = parseIntValue(c, { min: 1, unit: 'deletions per minute' });
  },
  'znode.container.maxNeverUsedIntervalMs': (c, s) => {
    s.config.containerMaxNeverUsedIntervalMs = parseIntValue(c, { min: 0, unit: 'milliseconds, 0 = never' });
  },
};

/** ZooKeeper settings Synod accepts and ignores; a reason where one helps. */
const IGNORED: Record<string, string> = {
  secureClientPort: 'TLS is not supported',
  secureClientPortAddress: 'TLS is not supported',
  'client.secure': 'TLS is not supported',
  'client.portUnification': 'TLS is not supported',
  portUnification: 'TLS is not supported',
  sslQuorum: 'TLS is not supported',
  sslQuorumReloadCertFiles: 'TLS is not supported',
  serverCnxnFactory: '',
  observerMasterPort: '',
  clientPortListenBacklog: '',
  connectToLearnerMasterLimit: '',
  electionAlg: 'Synod replicates with Raft',
  quorumListenOnAllIPs: '',
  peerType: 'the role comes from the server.N line',
  syncEnabled: '',
  dynamicConfigFile: 'that file is not read; list the server.N lines in zoo.cfg',
  standaloneEnabled: '',
  localSessionsEnabled: '',
  localSessionsUpgradingEnabled: '',
  'quorum.cnxn.threads.size': '',
  oraclePath: '',
  version: '',
  maxCnxns: '',
  preAllocSize: '',
  commitLogCount: '',
  snapSizeLimitInKb: '',
  txnLogSizeLimitInKb: '',
  'fsync.warningthresholdms': '',
  maxResponseCacheSize: '',
  maxGetChildrenResponseCacheSize: '',
  emulate353TTLNodes: '',
  watchManagerName: '',
  watchManaggerName: '',
  watcherCleanThreadsNum: '',
  watcherCleanThreshold: '',
  watcherCleanIntervalInSeconds: '',
  maxInProcessingDeadWatchers: '',
  bitHashCacheSize: '',
  connectionMaxTokens: '',
  connectionTokenFillTime: '',
  connectionTokenFillCount: '',
  connectionFreezeTime: '',
  connectionDropIncrease: '',
  connectionDropDecrease: '',
  connectionDecreaseRatio: '',
  flushDelay: '',
  maxWriteQueuePollTime: '',
  maxBatchSize: '',
  requestThrottleLimit: '',
  requestThrottleStallTime: '',
  requestThrottleDropStale: '',
  requestStaleLatencyCheck: '',
  requestStaleConnectionCheck: '',
  throttledOpWaitTime: '',
  advancedFlowControlEnabled: '',
  enableEagerACLCheck: '',
  maxConcurrentSnapSyncs: '',
  maxConcurrentDiffSyncs: '',
  'digest.enabled': '',
  'snapshot.trust.empty': '',
  'snapshot.compression.method': '',
  largeRequestMaxBytes: '',
  largeRequestThreshold: '',
  'outstandingHandshake.limit': 'TLS is not supported',
  'learner.closeSocketAsync': '',
  'leader.closeSocketAsync': '',
  'learner.asyncSending': '',
  maxTimeToWaitForEpoch: '',
  leaderServes: '',
  cnxTimeout: '',
  quorumCnxnTimeoutMs: '',
  tcpKeepAlive: '',
  clientTcpKeepAlive: '',
  electionPortBindRetry: '',
  'observer.reconnectDelayMs': '',
  'observer.election.DelayMs': '',
  'X509AuthenticationProvider.superUser': 'TLS is not supported',
  'DigestAuthenticationProvider.digestAlg': '',
  'DigestAuthenticationProvider.digestEnabled': '',
  superUser: 'SASL is not supported',
  ensembleAuthName: '',
  sessionRequireClientSASLAuth: 'SASL is not supported',
  'enforce.auth.enabled': '',
  'enforce.auth.schemes': '',
  'kerberos.removeHostFromPrincipal': 'SASL is not supported',
  'kerberos.removeRealmFromPrincipal': 'SASL is not supported',
  'kerberos.canonicalizeHostNames': 'SASL is not supported',
  'jute.maxbuffer.extrasize': '',
  skipACL: '',
  'audit.enable': '',
  'audit.impl.class': '',
  'closeSessionTxn.enabled': '',
  'datadir.autocreate': '',
  'db.autocreate': '',
  traceFile: '',
};

/** Prefixes of ZooKeeper setting families Synod accepts and ignores. */
const IGNORED_PREFIXES: Array<[string, string]> = [
  ['admin.', ''],
  ['metricsProvider.', ''],
  ['ssl.', 'TLS is not supported'],
  ['authProvider.', ''],
  ['quorum.auth.', 'SASL is not supported'],
  ['jvm.pause.', ''],
  ['multiAddress.', ''],
  ['group.', 'hierarchical quorums are not supported'],
  ['weight.', 'hierarchical quorums are not supported'],
  ['nio.', ''],
  ['netty.', ''],
  ['commitProcessor.', ''],
  ['fastleader.', 'Synod replicates with Raft'],
  ['messageTracker.', ''],
  ['request_throttle', ''],
  ['connection_throttle', ''],
  ['observer.', ''],
  ['learner.', ''],
  ['kerberos.', 'SASL is not supported'],
  ['enforce.auth.', ''],
];

function ignoredReason(key: string): string | null {
  if (Object.prototype.hasOwnProperty.call(IGNORED, key)) return IGNORED[key]!;
  for (const [prefix, reason] of IGNORED_PREFIXES) if (key.startsWith(prefix)) return reason;
  return null;
}

function isKnown(key: string): boolean {
  return (
    Object.prototype.hasOwnProperty.call(HANDLERS, key) ||
    ignoredReason(key) !== null ||
    key.startsWith('server.') ||
    key.startsWith('synod.dial.')
  );
}

function suggestion(key: string): string | null {
  const all = [...Object.keys(HANDLERS), ...Object.keys(IGNORED)];
  const lower = key.toLowerCase();
  const stripped = key.startsWith('zookeeper.') ? key.slice('zookeeper.'.length) : null;
  if (stripped !== null && isKnown(stripped)) return stripped;
  if (key === 'superDigest') return 'DigestAuthenticationProvider.superDigest';
  return all.find((k) => k.toLowerCase() === lower) ?? null;
}

// ---------------------------------------------------------------------------
// server.N

const SERVER_FORM =
  'expected host:peerPort:electionPort[:participant|observer][;[clientHost:]clientPort] (IPv6 hosts in brackets)';

/** host:a:b... with a leading [IPv6] literal; trailing empty fields dropped, as Java's split does. */
function splitHostFields(s: string): string[] | null {
  let fields: string[];
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const rest = s.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    fields = [s.slice(0, close + 1), ...(rest === '' ? [] : rest.slice(1).split(':'))];
  } else {
    fields = s.split(':');
  }
  while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
  return fields.map((f) => f.trim());
}

function parseServer(id: number, c: Ctx): ServerSpec {
  const sections = c.value.split(';');
  while (sections.length > 1 && sections[sections.length - 1]!.trim() === '') sections.pop();
  if (sections.length > 2) throw bad(c, `has more than one ';': ${SERVER_FORM}`);
  const serverPart = sections[0]!.trim();
  if (serverPart.includes('|')) {
    throw bad(c, "lists several addresses with '|' (multiAddress), which Synod does not support");
  }
  const f = splitHostFields(serverPart);
  if (f === null || f.length < 3 || f.length > 4) throw bad(c, `is malformed: ${SERVER_FORM}`);
  const host = parseHost(f[0]!);
  if (host === null) throw bad(c, `has an invalid host '${f[0]}': ${SERVER_FORM}`);
  const port = (s: string, what: string): number => {
    if (!/^\d+$/.test(s)) throw bad(c, `has a ${what} '${s}' that is not a number: ${SERVER_FORM}`);
    const n = Number(s);
    if (n < 1 || n > 65535) throw bad(c, `has a ${what} ${n} outside 1..65535`);
    return n;
  };
  const peerPort = port(f[1]!, 'peer port');
  const electionPort = port(f[2]!, 'election port');
  if (peerPort === electionPort) throw bad(c, `uses port ${peerPort} for both peer and election traffic`);
  let role: ServerSpec['role'] = 'participant';
  if (f.length === 4) {
    const r = f[3]!.toLowerCase();
    if (r !== 'participant' && r !== 'observer') {
      throw bad(c, `has role '${f[3]}': expected 'participant' or 'observer'`);
    }
    role = r;
  }
  const spec: ServerSpec = { id, host, peerPort, electionPort, role };
  if (sections.length === 2) {
    const cf = splitHostFields(sections[1]!.trim());
    if (cf === null || cf.length < 1 || cf.length > 2) throw bad(c, `has a malformed client address: ${SERVER_FORM}`);
    if (cf.length === 2) {
      const ch = parseHost(cf[0]!);
      if (ch === null) throw bad(c, `has an invalid client host '${cf[0]}': ${SERVER_FORM}`);
      spec.clientHost = ch;
    }
    spec.clientPort = port(cf[cf.length - 1]!, 'client port');
  }
  return spec;
}

/** One `server.N=` value (a reconfig's joining server, a line of /zookeeper/config); ConfigError when malformed. */
export function parseServerSpec(id: number, value: string, source = 'server'): ServerSpec {
  return parseServer(id, { file: source, line: 0, key: `server.${id}`, value });
}

/** A server's line as ZooKeeper writes it in /zookeeper/config. */
export function formatServerSpec(s: ServerSpec): string {
  const h = (x: string): string => (x.includes(':') ? `[${x}]` : x);
  const client = s.clientPort !== undefined ? `;${h(s.clientHost ?? '0.0.0.0')}:${s.clientPort}` : '';
  return `server.${s.id}=${h(s.host)}:${s.peerPort}:${s.electionPort}:${s.role}${client}`;
}

function checkServers(st: ParseState): void {
  const servers: ServerSpec[] = [];
  for (const [id, { ctx }] of st.serverLines) servers.push(parseServer(id, ctx));
  servers.sort((a, b) => a.id - b.id);
  const endpoints = new Map<string, number>();
  for (const s of servers) {
    for (const p of [s.peerPort, s.electionPort]) {
      const ep = `${s.host.includes(':') ? `[${s.host}]` : s.host}:${p}`;
      const other = endpoints.get(ep);
      if (other !== undefined) {
        const { ctx } = st.serverLines.get(s.id)!;
        throw new ConfigError(`${loc(ctx)}: server.${other} and server.${s.id} both use ${ep}`, {
          key: ctx.key,
          file: ctx.file,
          line: ctx.line,
        });
      }
      endpoints.set(ep, s.id);
    }
    if (st.config.extendedTypesEnabled && s.id > MAX_EXTENDED_SERVER_ID) {
      const { ctx } = st.serverLines.get(s.id)!;
      throw new ConfigError(
        `${loc(ctx)}: server.${s.id}: with extendedTypesEnabled=true server ids must be at most ${MAX_EXTENDED_SERVER_ID}`,
        { key: ctx.key, file: ctx.file, line: ctx.line },
      );
    }
  }
  const participants = servers.filter((s) => s.role === 'participant').length;
  if (servers.length > 0 && participants === 0) {
    const ctx = firstServerCtx(st)!;
    throw new ConfigError(`${loc(ctx)}: the server.N lines list observers but no participant`, {
      key: ctx.key,
      file: ctx.file,
      line: ctx.line,
    });
  }
  if (participants === 2 || (participants > 2 && participants % 2 === 0)) {
    // Same advice as ZooKeeper's: an even member adds load but no fault tolerance.
    const tolerated = Math.floor((participants - 1) / 2);
    st.warnings.push(
      `${loc(firstServerCtx(st)!)}: ${participants} participants tolerate ${tolerated} failure${tolerated === 1 ? '' : 's'}, ` +
        `the same as ${participants - 1}; an odd number is better`,
    );
  }
  st.config.servers = servers;
}

function firstServerCtx(st: ParseState): Ctx | null {
  let best: Ctx | null = null;
  for (const { ctx } of st.serverLines.values()) if (best === null || ctx.line < best.line) best = ctx;
  return best;
}

// ---------------------------------------------------------------------------
// Entry points

/** Parses zoo.cfg text; file names the source in messages. Throws ConfigError. */
export function parseZooCfg(text: string, file = 'zoo.cfg'): ConfigResult {
  const { config, warnings } = parseWithState(text, file);
  return { config, warnings };
}

function parseWithState(text: string, file: string): ParseState {
  const st: ParseState = {
    config: defaultConfig(),
    warnings: [],
    explicit: new Set(),
    minSessionTimeout: -1,
    maxSessionTimeout: -1,
    serverLines: new Map(),
  };
  // Properties.load keeps the last value of a repeated key; so do we, but say so.
  const last = new Map<string, PropertyEntry>();
  for (const e of parseProperties(text, file)) {
    const prev = last.get(e.key);
    if (prev) {
      st.warnings.push(
        `${file}:${e.line}: ${e.key || "''"} is set again (first on line ${prev.line}); the last value wins, as in ZooKeeper`,
      );
      last.delete(e.key);
    }
    last.set(e.key, e);
  }
  for (const e of last.values()) {
    const ctx: Ctx = { file, line: e.line, key: e.key, value: e.value };
    st.explicit.add(e.key);
    const handler = Object.prototype.hasOwnProperty.call(HANDLERS, e.key) ? HANDLERS[e.key] : undefined;
    if (handler) {
      handler(ctx, st);
      continue;
    }
    if (e.key.startsWith('synod.dial.')) {
      // Where to reach a peer when it is not where its server line says
      // (a proxy, a NAT): a local routing detail, never part of the membership.
      const id = Number(e.key.slice('synod.dial.'.length));
      const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(e.value.trim());
      if (!Number.isInteger(id) || id < 1 || id > MAX_SERVER_ID || !m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
        throw new ConfigError(`${loc(ctx)}: ${e.key}=${e.value}: expected synod.dial.<server id>=host:port`, {
          key: e.key,
          file,
          line: e.line,
        });
      }
      st.config.dial.set(id, { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) });
      continue;
    }
    if (e.key.startsWith('server.')) {
      const idText = e.key.slice('server.'.length);
      if (!/^\d+$/.test(idText)) {
        throw new ConfigError(`${loc(ctx)}: ${e.key}: '${idText}' is not a server id (an integer from 1 to 255)`, {
          key: e.key,
          file,
          line: e.line,
        });
      }
      const id = Number(idText);
      if (id < 1 || id > MAX_SERVER_ID) {
        throw new ConfigError(`${loc(ctx)}: ${e.key}: server id ${idText} is outside 1..${MAX_SERVER_ID}`, {
          key: e.key,
          file,
          line: e.line,
        });
      }
      if (st.serverLines.has(id)) {
        // server.1 and server.01 are distinct Properties keys naming one server.
        throw new ConfigError(`${loc(ctx)}: ${e.key} names server ${id} again`, { key: e.key, file, line: e.line });
      }
      st.serverLines.set(id, { ctx });
      continue;
    }
    const reason = ignoredReason(e.key);
    if (reason !== null) {
      st.warnings.push(
        `${loc(ctx)}: ${e.key} is a ZooKeeper setting that Synod accepts but ignores${reason ? ` (${reason})` : ''}`,
      );
      continue;
    }
    const hint = suggestion(e.key);
    st.warnings.push(`${loc(ctx)}: unknown key '${e.key}' ignored${hint ? ` (did you mean '${hint}'?)` : ''}`);
  }

  const c = st.config;
  if (!st.explicit.has('dataLogDir')) c.dataLogDir = c.dataDir;
  const timeoutCtx = (key: string): { file: string; line: number; key: string } => ({
    file,
    line: last.get(key)?.line ?? last.get('tickTime')?.line ?? 0,
    key,
  });
  c.minSessionTimeout = st.minSessionTimeout === -1 ? 2 * c.tickTime : st.minSessionTimeout;
  c.maxSessionTimeout = st.maxSessionTimeout === -1 ? 20 * c.tickTime : st.maxSessionTimeout;
  for (const [key, factor] of [
    ['minSessionTimeout', 2],
    ['maxSessionTimeout', 20],
  ] as const) {
    if (c[key] > INT_MAX) {
      const w = timeoutCtx('tickTime');
      throw new ConfigError(
        `${loc(w)}: tickTime=${c.tickTime} is too large: the default ${key} (${factor}*tickTime) exceeds ${INT_MAX} ms`,
        { key: 'tickTime', file, line: w.line },
      );
    }
  }
  if (c.minSessionTimeout > c.maxSessionTimeout) {
    const key = st.explicit.has('minSessionTimeout') ? 'minSessionTimeout' : 'maxSessionTimeout';
    const w = timeoutCtx(key);
    const derived = st.maxSessionTimeout === -1 ? ' (20*tickTime)' : '';
    throw new ConfigError(
      `${loc(w)}: minSessionTimeout=${c.minSessionTimeout} is larger than maxSessionTimeout=${c.maxSessionTimeout}${derived}; the minimum must not exceed the maximum`,
      { key, file, line: w.line },
    );
  }
  checkServers(st);
  checkPorts(c, file);
  return st;
}

function isWildcard(addr: string): boolean {
  return addr === '0.0.0.0' || addr === '::' || addr === '0:0:0:0:0:0:0:0';
}

/** Conflicts that CLI overrides can also create, so checked again after them. */
function checkPorts(c: ServerConfig, source: string): void {
  const a = c.admin;
  if (
    a.enableServer &&
    c.clientPort !== 0 &&
    a.serverPort === c.clientPort &&
    (a.serverAddress === c.clientPortAddress || isWildcard(a.serverAddress) || isWildcard(c.clientPortAddress))
  ) {
    throw new ConfigError(
      `${source}: admin.serverPort=${a.serverPort} is also the client port; the AdminServer needs a port of its own`,
      { key: 'admin.serverPort' },
    );
  }
}

/**
 * Builds the configuration for `synod server`: defaults, then the zoo.cfg at
 * configPath (if any), then the command-line overrides, which win. Paths are
 * kept as written; relative ones are relative to the working directory, as in
 * ZooKeeper.
 */
export function loadConfig(opts: {
  configPath?: string;
  port?: number;
  dataDir?: string;
  id?: number;
  join?: boolean;
}): ConfigResult {
  let st: ParseState | null = null;
  if (opts.configPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.configPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw new ConfigError(`${opts.configPath}: cannot read the configuration file: ${why}`, {
        file: opts.configPath,
      });
    }
    st = parseWithState(text, opts.configPath);
  }
  const config = st ? st.config : defaultConfig();
  const warnings = st ? st.warnings : [];
  if (opts.port !== undefined) {
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
      throw new ConfigError(`--port=${opts.port} is not a port number (0..65535, 0 = any free port)`, {
        key: '--port',
      });
    }
    config.clientPort = opts.port;
  }
  if (opts.dataDir !== undefined) {
    if (opts.dataDir === '')
      throw new ConfigError('--data-dir is empty: expected a directory path', { key: '--data-dir' });
    config.dataDir = opts.dataDir;
    if (!st?.explicit.has('dataLogDir')) config.dataLogDir = opts.dataDir;
  }
  if (opts.join) config.joinExisting = true;
  if (config.servers.length > 0) settleEnsemble(config, opts, st);
  checkPorts(config, opts.port !== undefined ? '--port' : (opts.configPath ?? 'defaults'));
  return { config, warnings };
}

/** An ensemble member needs to know which server.N line is its own. */
function settleEnsemble(config: ServerConfig, opts: { port?: number; id?: number }, st: ParseState | null): void {
  const id = opts.id ?? readMyId(config.dataDir);
  if (id === null) {
    throw new ConfigError(
      `${config.dataDir}/myid is missing: a server of an ensemble (server.N lines) needs its id there or in --id`,
      { key: 'myid' },
    );
  }
  const me = config.servers.find((s) => s.id === id);
  if (!me) {
    throw new ConfigError(
      `this server's id ${id} has no server.${id} line (the configuration lists ${config.servers.map((s) => s.id).join(', ')})`,
      { key: 'myid' },
    );
  }
  config.myId = id;
  // As in ZooKeeper, the client port may come from this server's own line.
  if (opts.port === undefined && !st?.explicit.has('clientPort') && me.clientPort !== undefined) {
    config.clientPort = me.clientPort;
    if (me.clientHost !== undefined && !st?.explicit.has('clientPortAddress')) config.clientPortAddress = me.clientHost;
  }
  if (config.heartbeatMs * 2 > config.electionTimeoutMs) {
    throw new ConfigError(
      `synod.heartbeatMs=${config.heartbeatMs} must be at most half of synod.electionTimeoutMs=${config.electionTimeoutMs}`,
      { key: 'synod.heartbeatMs' },
    );
  }
}

/**
 * The server id in `<dataDir>/myid`, or null when there is no such file
 * (a standalone server needs none). Throws ConfigError if it is not an id.
 */
export function readMyId(dataDir: string): number | null {
  const path = join(dataDir, 'myid');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null;
    throw new ConfigError(`${path}: cannot read: ${(err as Error).message}`, { file: path, key: 'myid' });
  }
  // ZooKeeper reads the first line only.
  const first = javaTrim(text.split(/\r\n|\r|\n/, 1)[0] ?? '');
  if (!/^\d+$/.test(first) || Number(first) < 1 || Number(first) > MAX_SERVER_ID) {
    throw new ConfigError(`${path}: ${shown(first)} is not a server id (an integer from 1 to ${MAX_SERVER_ID})`, {
      file: path,
      key: 'myid',
    });
  }
  return Number(first);
}
