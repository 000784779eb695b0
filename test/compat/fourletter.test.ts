// Four-letter words over raw TCP, checked against the formats monitoring tools
// parse. zktop is not packaged for Debian, so its `stat` parser is reproduced
// here rule for rule (phunt/zktop, ZKServer.__init__ and Session.__init__).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fourLetterWord } from '../helpers/fourletter.js';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';
import { ZkClient, long, zookeeper } from '../helpers/zkclient.js';

interface ZktopSession {
  host: string;
  port: string;
  interestOps: string;
  fields: Record<string, string>;
}

interface ZktopServer {
  version: string;
  sessions: ZktopSession[];
  attrs: Record<string, string>;
  minLatency: string;
  avgLatency: string;
  maxLatency: string;
}

const SESSION_RE = /\/([\da-fA-F:.]+):(\d+)\[(\d+)\]\((.*)\)/;

// zktop's Session(): the regex above, then `k,v = d.split("=")` over the comma list,
// which raises unless every item has exactly one '='.
function zktopSession(line: string): ZktopSession {
  const m = SESSION_RE.exec(line);
  assert.ok(m, `zktop cannot parse session line ${JSON.stringify(line)}`);
  const fields: Record<string, string> = {};
  for (const d of m[4]!.split(',')) {
    const kv = d.split('=');
    assert.equal(kv.length, 2, `zktop cannot split ${JSON.stringify(d)} in ${JSON.stringify(line)}`);
    fields[kv[0]!] = kv[1]!;
  }
  return { host: m[1]!, port: m[2]!, interestOps: m[3]!, fields };
}

// zktop's ZKServer(): any exception there marks the server "Unavailable", so each
// step that would raise in Python is an assertion here.
function zktopParseStat(stat: string): ZktopServer {
  // Python's readline keeps the newline; iteration yields lines the same way.
  const lines = stat.split(/(?<=\n)/);
  let i = 0;
  const first = lines[i++] ?? '';
  const vm = /.*: (\d+\.\d+\.\d+)-.*/.exec(first);
  assert.ok(vm, `zktop cannot find a version in ${JSON.stringify(first)}`);
  i++; // "Clients:"
  const sessions: ZktopSession[] = [];
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      break;
    }
    sessions.push(zktopSession(line.trim()));
  }
  const attrs: Record<string, string> = {};
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const parts = line.split(':');
    assert.equal(parts.length, 2, `zktop unpacks "attr, value = line.split(':')" and fails on ${JSON.stringify(line)}`);
    const attr = parts[0]!.trim().replace(/ /g, '_').replace(/\//g, '_').toLowerCase();
    attrs[attr] = parts[1]!.trim();
  }
  const lat = attrs['latency_min_avg_max'];
  assert.ok(lat !== undefined, 'zktop needs "Latency min/avg/max:"');
  const l = lat.split('/');
  assert.equal(l.length, 3, `latency ${lat} must have three parts`);
  return { version: vm[1]!, sessions, attrs, minLatency: l[0]!, avgLatency: l[1]!, maxLatency: l[2]! };
}

function parseKeyColonValue(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const idx = line.indexOf(':');
    assert.ok(idx > 0, `no "key: value" in ${JSON.stringify(line)}`);
    out.set(line.slice(0, idx), line.slice(idx + 1).trim());
  }
  return out;
}

function parseMntr(text: string): Map<string, string> {
  assert.ok(text.endsWith('\n'), 'mntr output ends with a newline');
  const out = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    const parts = line.split('\t');
    assert.equal(parts.length, 2, `mntr line is not key<TAB>value: ${JSON.stringify(line)}`);
    // ZooKeeper's own keys all start with zk_; tools split on the tab and take any key.
    assert.match(parts[0]!, /^[a-z][a-z0-9_]*$/, `mntr key ${parts[0]}`);
    out.set(parts[0]!, parts[1]!);
  }
  return out;
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const MODES = ['standalone', 'leader', 'follower', 'observer', 'read-only'];

describe(`four-letter words against ${target()}`, { skip: suiteSkip() }, () => {
  let server: ServerHandle;
  let zk: ZkClient;
  let sid: string; // as ZooKeeper prints it: 0x, lower-case hex, no padding
  let lastZxid: bigint;
  const word = (w: string): Promise<string> => fourLetterWord(server.port, w);

  before(async () => {
    server = await startTarget();
    zk = await ZkClient.connect(server.connectString);
    sid = `0x${BigInt(`0x${zk.sessionId}`).toString(16)}`;
    await zk.create('/fl', 'data');
    await zk.create('/fl/eph', 'e', zookeeper.CreateMode.EPHEMERAL);
    const st = await zk.setData('/fl', 'more');
    lastZxid = long(st.mzxid);
    await zk.getData('/fl', () => undefined);
    await zk.getChildren('/fl', () => undefined);
    await zk.exists('/fl/absent', () => undefined);
  });

  after(async () => {
    await zk?.close();
    await server?.destroy();
  });

  test('ruok', async () => {
    assert.equal(await word('ruok'), 'imok');
  });

  for (const variant of ['stat', 'stat\n']) {
    test(`stat parses the way zktop parses it (sent as ${JSON.stringify(variant)})`, async () => {
      const s = zktopParseStat(await fourLetterWord(server.port, variant));
      assert.match(s.version, /^\d+\.\d+\.\d+$/);
      assert.ok(s.sessions.length >= 1, 'our client is listed under Clients:');
      for (const sess of s.sessions) {
        assert.equal(sess.host, '127.0.0.1');
        assert.match(sess.port, /^\d+$/);
        assert.match(sess.interestOps, /^\d+$/);
        for (const k of ['queued', 'recved', 'sent']) assert.match(sess.fields[k] ?? '', /^\d+$/, `session ${k}`);
      }
      for (const v of [s.minLatency, s.avgLatency, s.maxLatency]) assert.match(v, NUMBER);
      for (const k of ['received', 'sent', 'outstanding', 'node_count', 'connections']) {
        assert.match(s.attrs[k] ?? '', /^\d+$/, `stat ${k}`);
      }
      assert.ok(MODES.includes(s.attrs['mode'] ?? ''), `mode ${s.attrs['mode']}`);
      const zxid = s.attrs['zxid'] ?? '';
      assert.match(zxid, /^0x[0-9a-f]+$/);
      assert.ok(BigInt(zxid) >= lastZxid, `Zxid ${zxid} is at least our last write 0x${lastZxid.toString(16)}`);
      assert.ok(Number(s.attrs['node_count']) >= 4, 'root, /zookeeper, /fl and /fl/eph at least');
    });
  }

  test('srvr', async () => {
    const text = await word('srvr');
    assert.ok(!text.includes('Clients:'), 'srvr has no client list');
    const kv = parseKeyColonValue(text);
    for (const k of [
      'Zookeeper version',
      'Latency min/avg/max',
      'Received',
      'Sent',
      'Connections',
      'Outstanding',
      'Zxid',
      'Mode',
      'Node count',
    ]) {
      assert.ok(kv.has(k), `srvr has "${k}:"`);
    }
    assert.match(kv.get('Zookeeper version')!, /^\d+\.\d+\.\d+-/);
    assert.match(kv.get('Latency min/avg/max')!, /^-?\d+\/[\d.]+\/\d+$/);
    assert.match(kv.get('Zxid')!, /^0x[0-9a-f]+$/);
    assert.ok(MODES.includes(kv.get('Mode')!));
  });

  test('mntr', async () => {
    const m = parseMntr(await word('mntr'));
    const numeric = [
      'zk_avg_latency',
      'zk_max_latency',
      'zk_min_latency',
      'zk_packets_received',
      'zk_packets_sent',
      'zk_num_alive_connections',
      'zk_outstanding_requests',
      'zk_znode_count',
      'zk_watch_count',
      'zk_ephemerals_count',
      'zk_approximate_data_size',
      'zk_open_file_descriptor_count',
      'zk_max_file_descriptor_count',
    ];
    for (const k of numeric) assert.match(m.get(k) ?? '', NUMBER, `mntr ${k}`);
    assert.match(m.get('zk_version') ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(MODES.includes(m.get('zk_server_state') ?? ''), `zk_server_state ${m.get('zk_server_state')}`);
    assert.ok(Number(m.get('zk_ephemerals_count')) >= 1);
    assert.ok(Number(m.get('zk_watch_count')) >= 3, 'data, child and exists watches');
    assert.ok(Number(m.get('zk_num_alive_connections')) >= 1);
    // No writes happen between the two reads, so the node counts agree.
    const srvr = parseKeyColonValue(await word('srvr'));
    assert.equal(m.get('zk_znode_count'), srvr.get('Node count'));
  });

  test('conf', async () => {
    const text = await word('conf');
    const kv = new Map<string, string>();
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const idx = line.indexOf('=');
      assert.ok(idx > 0, `conf line is not key=value: ${JSON.stringify(line)}`);
      kv.set(line.slice(0, idx), line.slice(idx + 1));
    }
    assert.equal(kv.get('clientPort'), String(server.port));
    for (const k of ['dataDir', 'tickTime', 'maxClientCnxns', 'minSessionTimeout', 'maxSessionTimeout']) {
      assert.ok(kv.has(k), `conf has ${k}`);
    }
    assert.equal(kv.get('tickTime'), '2000');
  });

  test('cons', async () => {
    const lines = (await word('cons')).split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length >= 1);
    const sessions = lines.map((l) => zktopSession(l.trim()));
    const ours = sessions.find((s) => s.fields['sid'] === sid);
    assert.ok(ours, `cons lists our session ${sid}: ${lines.join(' | ')}`);
    for (const k of ['queued', 'recved', 'sent', 'lcxid', 'lzxid', 'to', 'lop'])
      assert.ok(k in ours.fields, `cons has ${k}`);
    assert.equal(ours.fields['to'], '30000');
  });

  test('envi', async () => {
    const lines = (await word('envi')).split('\n').filter((l) => l !== '');
    assert.equal(lines[0], 'Environment:');
    const kv = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const idx = line.indexOf('=');
      assert.ok(idx > 0, `envi line is not key=value: ${JSON.stringify(line)}`);
      kv.set(line.slice(0, idx), line.slice(idx + 1));
    }
    for (const k of ['zookeeper.version', 'host.name', 'os.name']) assert.ok(kv.has(k), `envi has ${k}`);
  });

  test('wchs', async () => {
    const m = /^(\d+) connections watching (\d+) paths\nTotal watches:(\d+)\n$/.exec(await word('wchs'));
    assert.ok(m, 'wchs format');
    assert.ok(Number(m[1]) >= 1);
    assert.ok(Number(m[2]) >= 2, '/fl and /fl/absent are watched');
    assert.ok(Number(m[3]) >= 2);
  });

  test('wchc', async () => {
    const text = await word('wchc');
    const bySession = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('\t')) {
        assert.ok(current, `path before any session in wchc: ${JSON.stringify(text)}`);
        current.push(line.slice(1));
      } else {
        assert.match(line, /^0x[0-9a-f]+$/);
        current = [];
        bySession.set(line, current);
      }
    }
    const paths = bySession.get(sid);
    assert.ok(paths, `wchc lists ${sid}: ${JSON.stringify(text)}`);
    assert.ok(paths.includes('/fl'));
    assert.ok(paths.includes('/fl/absent'));
  });

  test('wchp', async () => {
    const text = await word('wchp');
    const byPath = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('\t')) {
        assert.ok(current, `session before any path in wchp: ${JSON.stringify(text)}`);
        current.push(line.slice(1));
      } else {
        assert.match(line, /^\//);
        current = [];
        byPath.set(line, current);
      }
    }
    assert.deepEqual(byPath.get('/fl'), [sid]);
    assert.deepEqual(byPath.get('/fl/absent'), [sid]);
  });

  test('dump', async () => {
    const text = await word('dump');
    assert.match(text, /^SessionTracker dump:\n/);
    const eph = /ephemeral nodes dump:\nSessions with Ephemerals \((\d+)\):\n([\s\S]*?)(?:\nConnections dump:|$)/.exec(
      text,
    );
    assert.ok(eph, `dump has an ephemerals section: ${JSON.stringify(text)}`);
    assert.ok(Number(eph[1]) >= 1);
    assert.ok(eph[2]!.includes(`${sid}:\n\t/fl/eph`), `dump lists /fl/eph under ${sid}`);
  });

  test('isro', async () => {
    assert.equal(await word('isro'), 'rw');
  });

  test('crst', async () => {
    assert.equal(await word('crst'), 'Connection stats reset.\n');
  });

  test('srst resets the server counters', async () => {
    for (let i = 0; i < 20; i++) await zk.exists('/fl');
    const before = Number(parseKeyColonValue(await word('srvr')).get('Received'));
    assert.ok(before >= 20);
    assert.equal(await word('srst'), 'Server stats reset.\n');
    const afterReset = Number(parseKeyColonValue(await word('srvr')).get('Received'));
    assert.ok(afterReset < before, `Received went from ${before} to ${afterReset}`);
  });
});
