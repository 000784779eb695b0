// The zkCli command set on top of synod/client: parsing, execution and zkCli's output.
import { readFileSync } from 'node:fs';
import {
  AddWatchMode,
  CreateMode,
  Ids,
  WatcherType,
  ZooKeeper,
  type ACL,
  type AddWatchModeValue,
  type CreateModeValue,
  type Watcher,
  type WatcherTypeValue,
} from '../client/index.js';
import { AclFormatError, errorMessage, formatAcl, formatEvent, formatStat, javaList, parseAcl } from './format.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Thrown for a command line zkCli would reject before talking to the server. */
export class UsageError extends Error {}

/** A command needing a session when there is none; zkCli says so on stdout. */
class NotConnectedError extends Error {}

/** Exit statuses as zkCli uses them: 0 ok, 1 failed, 127 unknown command. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNKNOWN = 127;

interface Spec {
  usage: string;
  /** Option letters, with ':' after those taking a value. */
  options: string;
  min: number;
}

export const COMMANDS: Record<string, Spec> = {
  addWatch: {
    usage:
      'addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
    options: 'm:',
    min: 1,
  },
  addauth: { usage: 'addauth scheme auth', options: '', min: 1 },
  close: { usage: 'close ', options: '', min: 0 },
  config: { usage: 'config [-c] [-w] [-s]', options: 'cws', min: 0 },
  connect: { usage: 'connect host:port', options: '', min: 0 },
  create: { usage: 'create [-s] [-e] [-c] [-t ttl] path [data] [acl]', options: 'sect:', min: 1 },
  delete: { usage: 'delete [-v version] path', options: 'v:', min: 1 },
  deleteall: { usage: 'deleteall path [-b batch size]', options: 'b:', min: 1 },
  get: { usage: 'get [-s] [-w] path', options: 'sw', min: 1 },
  getAcl: { usage: 'getAcl [-s] path', options: 's', min: 1 },
  getAllChildrenNumber: { usage: 'getAllChildrenNumber path', options: '', min: 1 },
  getEphemerals: { usage: 'getEphemerals path', options: '', min: 0 },
  history: { usage: 'history ', options: '', min: 0 },
  ls: { usage: 'ls [-s] [-w] [-R] path', options: 'swR', min: 1 },
  printwatches: { usage: 'printwatches on|off', options: '', min: 0 },
  quit: { usage: 'quit ', options: '', min: 0 },
  reconfig: {
    usage:
      'reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]',
    // Its options are words (-add, -members), parsed by the command itself.
    options: '',
    min: 0,
  },
  redo: { usage: 'redo cmdno', options: '', min: 1 },
  removewatches: { usage: 'removewatches path [-c|-d|-a] [-l]', options: 'cdal', min: 1 },
  set: { usage: 'set [-s] [-v version] path data', options: 'sv:', min: 2 },
  setAcl: { usage: 'setAcl [-s] [-v version] [-R] path acl', options: 'sv:R', min: 2 },
  stat: { usage: 'stat [-w] path', options: 'w', min: 1 },
  sync: { usage: 'sync path', options: '', min: 1 },
  version: { usage: 'version ', options: '', min: 0 },
  whoami: { usage: 'whoami ', options: '', min: 0 },
};

export function usageText(): string {
  const lines = Object.keys(COMMANDS)
    .sort()
    .map((c) => `\t${COMMANDS[c]!.usage}\n`);
  return `ZooKeeper -server host:port -client-configuration properties-file cmd args\n${lines.join('')}`;
}

/**
 * zkCli's tokenizer: whitespace separates words and double or single quotes
 * group them (the quotes are dropped).
 */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** POSIX-style option parsing as commons-cli does it for zkCli: options may come anywhere. */
function parseOptions(spec: Spec, args: string[]): { opts: Map<string, string>; rest: string[] } {
  const opts = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.length >= 2 && a.startsWith('-') && !/^-\d/.test(a)) {
      const letter = a.substring(1);
      const at = spec.options.indexOf(letter);
      if (letter.length !== 1 || at < 0)
        throw new UsageError(`org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: ${a}`);
      if (spec.options[at + 1] === ':') {
        const v = args[++i];
        if (v === undefined) throw new UsageError(`Missing argument for option: ${letter}`);
        opts.set(letter, v);
      } else opts.set(letter, '');
    } else rest.push(a);
  }
  return { opts, rest };
}

function intArg(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${text} is not a valid number`);
  return Number(text);
}

export type ShellState = 'CONNECTING' | 'CONNECTED' | 'CONNECTEDREADONLY' | 'NOT_CONNECTED' | 'CLOSED' | 'AUTH_FAILED';

export interface ShellOptions {
  server: string;
  timeout: number;
  io: Output;
  /** Called for `quit`; the interactive shell closes readline, one-shot mode exits. */
  onQuit?: () => void;
  /** Called after a watch event was printed, so an interactive shell can redraw its prompt. */
  onEvent?: () => void;
}

export class Shell {
  zk: ZooKeeper | null = null;
  host: string;
  printWatches = true;
  readonly history: string[] = [];
  private readonly io: Output;
  private readonly timeout: number;
  private readonly onQuit: (() => void) | undefined;
  private readonly onEvent: (() => void) | undefined;
  /** One watcher for the whole shell, as zkCli's MyWatcher, so events print once. */
  readonly watcher: Watcher = (ev) => {
    if (this.printWatches) this.io.out(`\nWATCHER::\n\n${formatEvent(ev)}\n`);
    this.onEvent?.();
  };

  constructor(opts: ShellOptions) {
    this.host = opts.server;
    this.io = opts.io;
    this.timeout = opts.timeout;
    this.onQuit = opts.onQuit;
    this.onEvent = opts.onEvent;
  }

  get state(): ShellState {
    if (!this.zk) return 'CLOSED';
    switch (this.zk.state) {
      case 'connected':
        return 'CONNECTED';
      case 'readOnly':
        return 'CONNECTEDREADONLY';
      case 'connecting':
      case 'disconnected':
        return 'CONNECTING';
      case 'authFailed':
        return 'AUTH_FAILED';
      default:
        return 'CLOSED';
    }
  }

  prompt(): string {
    return `[zk: ${this.host}(${this.state}) ${this.history.length}] `;
  }

  /** Connects, waiting for the session; returns false (after printing why) when it cannot. */
  async connect(server: string = this.host, wait = true): Promise<boolean> {
    await this.close();
    this.host = server;
    const zk = new ZooKeeper(server, { sessionTimeout: this.timeout });
    this.zk = zk;
    zk.on('state', (state) => {
      // zkCli prints session state changes as None-type events.
      const ks = {
        connected: 3,
        readOnly: 5,
        disconnected: 0,
        expired: -112,
        authFailed: 4,
        closed: 7,
        connecting: -1,
      }[state];
      if (ks !== undefined && ks !== -1 && state !== 'closed')
        this.watcher({ type: -1, state: ks, path: '', zxid: -1 });
    });
    zk.on('error', (e) => this.io.err(`${e instanceof Error ? e.message : String(e)}\n`));
    if (!wait) return true;
    try {
      await zk.waitForConnected({ timeout: this.timeout });
      return true;
    } catch (e) {
      this.io.err(`${errorMessage(e)}\n`);
      return false;
    }
  }

  async close(): Promise<void> {
    const zk = this.zk;
    this.zk = null;
    if (zk) await zk.close().catch(() => undefined);
  }

  private client(): ZooKeeper {
    const zk = this.zk;
    if (!zk || zk.state === 'closed' || zk.state === 'expired' || zk.state === 'authFailed')
      throw new NotConnectedError('Not connected');
    return zk;
  }

  /** Runs one command line; returns the exit status zkCli would give it. */
  async run(line: string, record = true): Promise<number> {
    const args = tokenize(line);
    if (args.length === 0) return EXIT_OK;
    if (record && args[0] !== 'redo') this.history.push(line.trim());
    const [name, ...rest] = args as [string, ...string[]];
    const spec = COMMANDS[name];
    if (!spec) {
      if (name !== 'help') this.io.err(usageText() + `Command not found: Command not found ${name}\n`);
      else this.io.err(usageText());
      return name === 'help' ? EXIT_OK : EXIT_UNKNOWN;
    }
    let path: string | undefined;
    try {
      const { opts, rest: pos } =
        name === 'reconfig' ? { opts: new Map<string, string>(), rest } : parseOptions(spec, rest);
      if (pos.length < spec.min) throw new UsageError(spec.usage);
      path = name === 'reconfig' ? undefined : pos[0];
      await this.exec(name, opts, pos);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof NotConnectedError) this.io.out(`${e.message}\n`);
      else if (e instanceof UsageError) this.io.err(`${e.message}\n`);
      else if (e instanceof AclFormatError)
        this.io.err(`${e.message}\nKeeperErrorCode = InvalidACL\nAcl is not valid : null\n`);
      else this.io.err(`${errorMessage(e, path)}\n`);
      return EXIT_FAILED;
    }
  }

  private watchOpt(opts: Map<string, string>): Watcher | undefined {
    return opts.has('w') ? this.watcher : undefined;
  }

  private async exec(name: string, opts: Map<string, string>, pos: string[]): Promise<void> {
    const out = (s: string): void => this.io.out(s);
    const path = pos[0]!;
    switch (name) {
      case 'ls': {
        const zk = this.client();
        if (opts.has('R')) {
          // Breadth-first, printing each node before listing it, so a failure
          // part-way leaves the same partial listing zkCli prints.
          const queue = [path];
          for (let i = 0; i < queue.length && i < 10_000_000; i++) {
            const p = queue[i]!;
            out(`${p}\n`);
            const kids = (await zk.getChildren(p)).sort();
            for (const k of kids) queue.push(p === '/' ? `/${k}` : `${p}/${k}`);
          }
          return;
        }
        const { children, stat } = await zk.getChildrenWithStat(path, this.watchOpt(opts));
        out(`${javaList(children.sort())}\n`);
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'get': {
        const { data, stat } = await this.client().getData(path, this.watchOpt(opts));
        out(`${data === null ? 'null' : data.toString('utf8')}\n`);
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'stat': {
        const stat = await this.client().exists(path, this.watchOpt(opts));
        if (!stat) throw new UsageError(`Node does not exist: ${path}`);
        out(formatStat(stat));
        return;
      }
      case 'create': {
        const seq = opts.has('s');
        let mode: CreateModeValue = opts.has('e')
          ? seq
            ? CreateMode.EPHEMERAL_SEQUENTIAL
            : CreateMode.EPHEMERAL
          : seq
            ? CreateMode.PERSISTENT_SEQUENTIAL
            : CreateMode.PERSISTENT;
        let ttl: number | undefined;
        if (opts.has('c')) {
          if (opts.has('e') || seq)
            throw new UsageError('-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.');
          mode = CreateMode.CONTAINER;
        }
        if (opts.has('t')) {
          if (opts.has('e') || opts.has('c'))
            throw new UsageError('TTLs cannot be used with Ephemeral or Container nodes');
          ttl = intArg(opts.get('t')!);
          mode = seq ? CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL : CreateMode.PERSISTENT_WITH_TTL;
        }
        const data = pos.length > 1 ? pos[1]! : null;
        const acl: readonly ACL[] = pos.length > 2 ? parseAcl(pos[2]!) : Ids.OPEN_ACL_UNSAFE;
        const r = await this.client().create(path, data, { mode, acl, ...(ttl !== undefined ? { ttl } : {}) });
        this.io.err(`Created ${r.path}\n`);
        return;
      }
      case 'set': {
        const version = opts.has('v') ? intArg(opts.get('v')!) : -1;
        const stat = await this.client().setData(path, pos[1]!, version);
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'delete':
        await this.client().delete(path, opts.has('v') ? intArg(opts.get('v')!) : -1);
        return;
      case 'deleteall':
        await this.deleteAll(path);
        return;
      case 'getAcl': {
        const { acl, stat } = await this.client().getACL(path);
        out(formatAcl(acl));
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'setAcl': {
        const acl = parseAcl(pos[1]!);
        const version = opts.has('v') ? intArg(opts.get('v')!) : -1;
        const zk = this.client();
        if (opts.has('R')) {
          const queue = [path];
          for (let i = 0; i < queue.length && i < 10_000_000; i++) {
            const p = queue[i]!;
            await zk.setACL(p, acl, version);
            for (const k of await zk.getChildren(p)) queue.push(p === '/' ? `/${k}` : `${p}/${k}`);
          }
          return;
        }
        const stat = await zk.setACL(path, acl, version);
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'addauth':
        await this.client().addAuth(pos[0]!, pos[1] ?? '');
        return;
      case 'sync':
        await this.client().sync(path);
        out('Sync is OK\n');
        return;
      case 'whoami': {
        const infos = await this.client().whoAmI();
        out('Auth scheme: User\n');
        out(infos.map((i) => `${i.authScheme}: ${i.user}\n`).join(''));
        return;
      }
      case 'getEphemerals':
        out(`${javaList(await this.client().getEphemerals(pos[0] ?? '/'))}\n`);
        return;
      case 'getAllChildrenNumber':
        out(`${await this.client().getAllChildrenNumber(path)}\n`);
        return;
      case 'addWatch': {
        let mode: AddWatchModeValue = AddWatchMode.PERSISTENT_RECURSIVE;
        if (opts.has('m')) {
          const m = opts.get('m')!.toUpperCase();
          if (m === 'PERSISTENT') mode = AddWatchMode.PERSISTENT;
          else if (m !== 'PERSISTENT_RECURSIVE') throw new UsageError(`Unsupported mode: ${opts.get('m')}`);
        }
        await this.client().addWatch(path, this.watcher, mode);
        return;
      }
      case 'removewatches': {
        let type: WatcherTypeValue = WatcherType.Any;
        if (opts.has('c')) type = WatcherType.Children;
        else if (opts.has('d')) type = WatcherType.Data;
        await this.client().removeWatches(path, null, type, { local: opts.has('l') });
        return;
      }
      case 'printwatches':
        if (pos[0] === undefined) out(`printwatches is ${this.printWatches ? 'on' : 'off'}\n`);
        else this.printWatches = pos[0] === 'on';
        return;
      case 'config': {
        const { config, stat } = await this.client().getConfig(this.watchOpt(opts));
        out(`${config}\n`);
        if (opts.has('s')) out(formatStat(stat));
        return;
      }
      case 'reconfig': {
        const joining: string[] = [];
        const leaving: string[] = [];
        let members: string | undefined;
        let fromConfig = -1;
        let withStat = false;
        for (let i = 0; i < pos.length; i++) {
          const flag = pos[i]!;
          const value = (): string => {
            const v = pos[++i];
            if (v === undefined) throw new UsageError(COMMANDS.reconfig!.usage);
            return v;
          };
          if (flag === '-s') withStat = true;
          else if (flag === '-v') fromConfig = intArg(value());
          else if (flag === '-add') joining.push(value());
          else if (flag === '-remove') leaving.push(value());
          else if (flag === '-members') members = value();
          else if (flag === '-file') {
            members = readFileSync(value(), 'utf8')
              .split('\n')
              .map((l) => l.trim())
              .filter((l) => l.startsWith('server.') || l.startsWith('version='))
              .filter((l) => !l.startsWith('version='))
              .join(',');
          } else throw new UsageError(COMMANDS.reconfig!.usage);
        }
        if (joining.length === 0 && leaving.length === 0 && members === undefined) {
          throw new UsageError(COMMANDS.reconfig!.usage);
        }
        const { config, stat } = await this.client().reconfig({
          ...(joining.length > 0 ? { joining: joining.join(',') } : {}),
          ...(leaving.length > 0 ? { leaving: leaving.join(',') } : {}),
          ...(members !== undefined ? { members } : {}),
          fromConfig,
        });
        out(`Committed new configuration:\n${config}\n`);
        if (withStat) out(formatStat(stat));
        return;
      }
      case 'history': {
        const from = Math.max(0, this.history.length - 11);
        for (let i = from; i < this.history.length; i++) out(`${i} - ${this.history[i]}\n`);
        return;
      }
      case 'redo': {
        const n = intArg(pos[0]!);
        const line = this.history[n];
        if (n < 0 || line === undefined) throw new UsageError('Command index out of range');
        this.history.push(line);
        await this.run(line, false);
        return;
      }
      case 'connect':
        await this.connect(pos[0] ?? this.host);
        return;
      case 'close':
        await this.close();
        return;
      case 'quit':
        await this.close();
        this.onQuit?.();
        return;
      case 'version':
        out('ZooKeeper CLI version: synod shell\n');
        return;
    }
  }

  /** ZKUtil.deleteRecursive: children first, deepest level first. */
  private async deleteAll(path: string): Promise<void> {
    const zk = this.client();
    const order = [path];
    for (let i = 0; i < order.length && i < 10_000_000; i++) {
      const p = order[i]!;
      for (const k of await zk.getChildren(p)) order.push(p === '/' ? `/${k}` : `${p}/${k}`);
    }
    for (let i = order.length - 1; i >= 0; i--) {
      if (order[i] === '/' || order[i] === '/zookeeper' || order[i]!.startsWith('/zookeeper/')) continue;
      await zk.delete(order[i]!, -1);
    }
  }

  /** readline completer: command names first, then znode paths under the typed parent. */
  async complete(line: string): Promise<[string[], string]> {
    const words = line.split(/\s+/);
    const last = words[words.length - 1] ?? '';
    if (words.length <= 1) {
      const names = [...Object.keys(COMMANDS), 'help'].filter((c) => c.startsWith(last)).sort();
      return [names.map((n) => `${n} `), last];
    }
    if (!last.startsWith('/') || !this.zk || this.zk.state !== 'connected') return [[], last];
    const slash = last.lastIndexOf('/');
    const parent = slash === 0 ? '/' : last.substring(0, slash);
    const prefix = last.substring(slash + 1);
    try {
      const kids = await this.zk.getChildren(parent, { timeout: 2_000 });
      const base = parent === '/' ? '/' : `${parent}/`;
      return [
        kids
          .filter((k) => k.startsWith(prefix))
          .sort()
          .map((k) => base + k),
        last,
      ];
    } catch {
      return [[], last];
    }
  }
}
