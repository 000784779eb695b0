import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConfigError,
  FOUR_LETTER_WORDS,
  defaultConfig,
  loadConfig,
  parseProperties,
  parseZooCfg,
  readMyId,
} from '../../src/server/config.js';

function throwsConfig(fn: () => unknown, key: string | undefined, ...patterns: RegExp[]): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  if (key !== undefined) assert.equal(caught.key, key, caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

describe('defaults', () => {
  it('an empty file gives the documented defaults and no warnings', () => {
    const { config, warnings } = parseZooCfg('');
    assert.deepEqual(warnings, []);
    assert.deepEqual(config, defaultConfig());
    assert.equal(config.tickTime, 2000);
    assert.equal(config.dataDir, './data');
    assert.equal(config.dataLogDir, './data');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.clientPortAddress, '127.0.0.1');
    assert.equal(config.maxClientCnxns, 60);
    assert.equal(config.minSessionTimeout, 4000);
    assert.equal(config.maxSessionTimeout, 40000);
    assert.equal(config.snapCount, 100000);
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.equal(config.autopurgePurgeInterval, 0);
    assert.deepEqual(config.fourLetterWhitelist, new Set(['srvr']));
    assert.equal(config.juteMaxBuffer, 1048575);
    assert.equal(config.extendedTypesEnabled, false);
    assert.equal(config.forceSync, true);
    assert.equal(config.superDigest, null);
    assert.equal(config.globalOutstandingLimit, 1000);
    assert.equal(config.initLimit, 10);
    assert.equal(config.syncLimit, 5);
    assert.deepEqual(config.servers, []);
    assert.deepEqual(config.admin, { enableServer: false, serverAddress: '127.0.0.1', serverPort: 8080 });
    assert.equal(config.containerCheckIntervalMs, 60000);
  });

  it('session timeouts follow tickTime unless set', () => {
    assert.equal(parseZooCfg('tickTime=500').config.minSessionTimeout, 1000);
    assert.equal(parseZooCfg('tickTime=500').config.maxSessionTimeout, 10000);
    const { config } = parseZooCfg('maxSessionTimeout=9000\ntickTime=100\nminSessionTimeout=-1');
    assert.equal(config.minSessionTimeout, 200);
    assert.equal(config.maxSessionTimeout, 9000);
  });

  it('loadConfig without a file gives the defaults', () => {
    assert.deepEqual(loadConfig({}), { config: defaultConfig(), warnings: [] });
  });
});

describe('every key', () => {
  const digest = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
  const text = [
    'tickTime=1000',
    'dataDir=/var/lib/synod',
    'dataLogDir=/var/log/synod',
    'clientPort=2281',
    'clientPortAddress=0.0.0.0',
    'maxClientCnxns=0',
    'minSessionTimeout=3000',
    'maxSessionTimeout=60000',
    'snapCount=5000',
    'autopurge.snapRetainCount=5',
    'autopurge.purgeInterval=24',
    '4lw.commands.whitelist=ruok, stat ,mntr',
    'jute.maxbuffer=4194304',
    'extendedTypesEnabled=true',
    'forceSync=no',
    `DigestAuthenticationProvider.superDigest=${digest}`,
    'globalOutstandingLimit=2000',
    'initLimit=20',
    'syncLimit=4',
    'admin.enableServer=true',
    'admin.serverAddress=127.0.0.2',
    'admin.serverPort=9090',
    'znode.container.checkIntervalMs=1000',
    'znode.container.maxPerMinute=500',
    'znode.container.maxNeverUsedIntervalMs=30000',
    'server.1=10.0.0.1:2888:3888',
    'server.2=10.0.0.2:2888:3888:participant;2181',
    'server.3=10.0.0.3:2888:3888;10.0.1.3:2181',
    'server.4=10.0.0.4:2888:3888:observer',
  ].join('\n');

  it('parses each into its field', () => {
    const { config, warnings } = parseZooCfg(text);
    assert.deepEqual(warnings, []);
    assert.equal(config.tickTime, 1000);
    assert.equal(config.dataDir, '/var/lib/synod');
    assert.equal(config.dataLogDir, '/var/log/synod');
    assert.equal(config.clientPort, 2281);
    assert.equal(config.clientPortAddress, '0.0.0.0');
    assert.equal(config.maxClientCnxns, 0);
    assert.equal(config.minSessionTimeout, 3000);
    assert.equal(config.maxSessionTimeout, 60000);
    assert.equal(config.snapCount, 5000);
    assert.equal(config.autopurgeSnapRetainCount, 5);
    assert.equal(config.autopurgePurgeInterval, 24);
    assert.deepEqual(config.fourLetterWhitelist, new Set(['srvr', 'ruok', 'stat', 'mntr']));
    assert.equal(config.juteMaxBuffer, 4194304);
    assert.equal(config.extendedTypesEnabled, true);
    assert.equal(config.forceSync, false);
    assert.equal(config.superDigest, digest);
    assert.equal(config.globalOutstandingLimit, 2000);
    assert.equal(config.initLimit, 20);
    assert.equal(config.syncLimit, 4);
    assert.deepEqual(config.admin, { enableServer: true, serverAddress: '127.0.0.2', serverPort: 9090 });
    assert.equal(config.containerCheckIntervalMs, 1000);
    assert.equal(config.containerMaxPerMinute, 500);
    assert.equal(config.containerMaxNeverUsedIntervalMs, 30000);
    assert.deepEqual(config.servers, [
      { id: 1, host: '10.0.0.1', peerPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: '10.0.0.2', peerPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 },
      {
        id: 3,
        host: '10.0.0.3',
        peerPort: 2888,
        electionPort: 3888,
        role: 'participant',
        clientPort: 2181,
        clientHost: '10.0.1.3',
      },
      { id: 4, host: '10.0.0.4', peerPort: 2888, electionPort: 3888, role: 'observer' },
    ]);
  });

  it('accepts the spellings ZooKeeper accepts', () => {
    for (const [v, want] of [
      ['yes', true],
      ['no', false],
      ['true', true],
      ['FALSE', false],
      ['No', false],
    ] as const) {
      assert.equal(parseZooCfg(`forceSync=${v}`).config.forceSync, want, v);
    }
    assert.equal(parseZooCfg('extendedTypesEnabled=TRUE').config.extendedTypesEnabled, true);
    assert.equal(parseZooCfg('jute.maxbuffer=0xfffff').config.juteMaxBuffer, 0xfffff);
    assert.equal(parseZooCfg('snapCount=0x10').config.snapCount, 16);
    assert.equal(parseZooCfg('tickTime=+300').config.tickTime, 300);
    assert.equal(parseZooCfg('clientPortAddress=[::1]').config.clientPortAddress, '::1');
    assert.equal(parseZooCfg('clientPortAddress=zk-1.example.com').config.clientPortAddress, 'zk-1.example.com');
    assert.equal(parseZooCfg('clientPort=0').config.clientPort, 0);
  });

  it('4lw.commands.whitelist: *, always srvr, empty', () => {
    assert.equal(parseZooCfg('4lw.commands.whitelist=*').config.fourLetterWhitelist, '*');
    assert.equal(parseZooCfg('4lw.commands.whitelist=ruok, *').config.fourLetterWhitelist, '*');
    assert.deepEqual(parseZooCfg('4lw.commands.whitelist=ruok').config.fourLetterWhitelist, new Set(['srvr', 'ruok']));
    assert.deepEqual(parseZooCfg('4lw.commands.whitelist=').config.fourLetterWhitelist, new Set(['srvr']));
    const all = parseZooCfg(`4lw.commands.whitelist=${FOUR_LETTER_WORDS.join(',')}`).config.fourLetterWhitelist;
    assert.ok(all !== '*' && all.size === 18);
  });

  it('treats a negative autopurge.purgeInterval as off, with a warning', () => {
    const { config, warnings } = parseZooCfg('autopurge.purgeInterval=-1');
    assert.equal(config.autopurgePurgeInterval, 0);
    assert.match(warnings[0]!, /purging is off/);
  });

  it('raises autopurge.snapRetainCount to 3 with a warning, as ZooKeeper does', () => {
    const { config, warnings } = parseZooCfg('autopurge.snapRetainCount=1');
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /autopurge\.snapRetainCount=1.*using 3/);
  });
});

describe('Properties syntax', () => {
  it('follows java.util.Properties', () => {
    const text = [
      '# a comment \\',
      '  ! another',
      'tickTime : 100',
      'initLimit   7',
      'syncLimit=\\',
      '    3',
      'dataDir = /data/with\\ space\\u00e9  ',
      'clientPortAddress:=ignored',
      '',
      '   ',
    ].join('\r\n');
    const entries = parseProperties(text);
    assert.deepEqual(
      entries.map((e) => [e.key, e.value, e.line]),
      [
        ['tickTime', '100', 3],
        ['initLimit', '7', 4],
        ['syncLimit', '3', 5],
        ['dataDir', '/data/with spaceé', 7],
        ['clientPortAddress', '=ignored', 8],
      ],
    );
    const { config } = parseZooCfg(text.replace(/clientPortAddress.*\r\n/, ''));
    assert.equal(config.tickTime, 100);
    assert.equal(config.initLimit, 7);
    assert.equal(config.syncLimit, 3);
    assert.equal(config.dataDir, '/data/with spaceé');
  });

  it('handles escapes, bare CR line ends, a BOM and a trailing backslash at EOF', () => {
    const entries = parseProperties('\ufeffa\\=b=c\\:d\rx=1\\\n\ty\nz=end\\');
    assert.deepEqual(
      entries.map((e) => [e.key, e.value, e.line]),
      [
        ['a=b', 'c:d', 1],
        ['x', '1y', 2],
        ['z', 'end', 4],
      ],
    );
  });

  it('rejects a malformed \\u escape', () => {
    throwsConfig(() => parseZooCfg('tickTime=\\u12'), undefined, /zoo\.cfg:1: malformed \\uxxxx/);
  });

  it('keeps the last of repeated keys and warns', () => {
    const { config, warnings } = parseZooCfg('tickTime=100\ninitLimit=3\ntickTime=300');
    assert.equal(config.tickTime, 300);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /zoo\.cfg:3: tickTime is set again \(first on line 1\)/);
  });

  it('validates only the value that wins', () => {
    assert.equal(parseZooCfg('tickTime=abc\ntickTime=100').config.tickTime, 100);
  });
});

describe('invalid values', () => {
  const cases: Array<[string, string, RegExp?]> = [
    ['tickTime=abc', 'tickTime', /tickTime=abc is not a positive integer/],
    ['tickTime=0', 'tickTime', /out of range/],
    ['tickTime=-5', 'tickTime'],
    ['tickTime=1.5', 'tickTime'],
    ['tickTime=200000000', 'tickTime', /maxSessionTimeout/],
    ['tickTime=', 'tickTime', /tickTime="" is not/],
    ['dataDir=', 'dataDir', /empty/],
    ['dataLogDir=', 'dataLogDir'],
    ['clientPort=70000', 'clientPort', /0 to 65535/],
    ['clientPort=x', 'clientPort'],
    ['clientPortAddress=not a host', 'clientPortAddress'],
    ['clientPortAddress=[1.2.3.4]', 'clientPortAddress'],
    ['maxClientCnxns=-1', 'maxClientCnxns', /0 = unlimited/],
    ['minSessionTimeout=0', 'minSessionTimeout'],
    ['maxSessionTimeout=abc', 'maxSessionTimeout'],
    ['minSessionTimeout=50000\nmaxSessionTimeout=40000', 'minSessionTimeout', /larger than maxSessionTimeout/],
    ['minSessionTimeout=50000', 'minSessionTimeout', /minSessionTimeout=50000 is larger than maxSessionTimeout=40000/],
    ['tickTime=100\nmaxSessionTimeout=100', 'maxSessionTimeout', /larger than maxSessionTimeout/],
    ['snapCount=1', 'snapCount', /2 to|>= 2/],
    ['snapCount=many', 'snapCount'],
    ['autopurge.snapRetainCount=x', 'autopurge.snapRetainCount', /snapRetainCount=x is not an integer$/],
    ['autopurge.purgeInterval=1h', 'autopurge.purgeInterval', /purgeInterval=1h is not an integer \(hours, 0 = off\)/],
    ['4lw.commands.whitelist=ruok,bogus', '4lw.commands.whitelist', /'bogus'.*ruok, srvr/],
    ['4lw.commands.whitelist=SRVR', '4lw.commands.whitelist'],
    ['jute.maxbuffer=0', 'jute.maxbuffer'],
    ['jute.maxbuffer=1M', 'jute.maxbuffer', /bytes/],
    ['extendedTypesEnabled=yes', 'extendedTypesEnabled', /'true' or 'false'/],
    ['forceSync=maybe', 'forceSync', /'yes', 'no'/],
    ['DigestAuthenticationProvider.superDigest=super', 'DigestAuthenticationProvider.superDigest', /user:base64/],
    ['DigestAuthenticationProvider.superDigest=super:not*base64', 'DigestAuthenticationProvider.superDigest'],
    ['DigestAuthenticationProvider.superDigest=:abcd', 'DigestAuthenticationProvider.superDigest'],
    ['globalOutstandingLimit=0', 'globalOutstandingLimit'],
    ['initLimit=0', 'initLimit', /ticks/],
    ['syncLimit=x', 'syncLimit'],
    ['admin.enableServer=on', 'admin.enableServer'],
    ['admin.serverAddress=a b', 'admin.serverAddress'],
    ['admin.serverPort=0', 'admin.serverPort', /1 to 65535/],
    ['admin.enableServer=true\nadmin.serverPort=2181', 'admin.serverPort', /client port/],
    ['znode.container.checkIntervalMs=0', 'znode.container.checkIntervalMs'],
  ];
  for (const [text, key, pattern] of cases) {
    it(`${text.replace(/\n/g, ' | ')} is rejected, naming ${key}`, () => {
      const err = throwsConfig(() => parseZooCfg(text, 'conf/zoo.cfg'), key, /^conf\/zoo\.cfg/);
      assert.ok(err.message.includes(key), err.message);
      if (pattern) assert.match(err.message, pattern);
    });
  }

  it('says where the bad line is', () => {
    const err = throwsConfig(() => parseZooCfg('# x\n\ntickTime=abc'), 'tickTime');
    assert.equal(err.message, 'zoo.cfg:3: tickTime=abc is not a positive integer (milliseconds)');
    assert.equal(err.line, 3);
    assert.equal(err.file, 'zoo.cfg');
  });

  it('does not echo a super digest', () => {
    const err = throwsConfig(
      () => parseZooCfg('DigestAuthenticationProvider.superDigest=admin:secret!hash'),
      'DigestAuthenticationProvider.superDigest',
    );
    assert.ok(!err.message.includes('secret'), err.message);
    assert.match(err.message, /admin:\.\.\./);
  });
});

describe('unknown and ignored keys', () => {
  it('warns about an unknown key by name', () => {
    const { config, warnings } = parseZooCfg('tickTime=100\nfrobnicate=1');
    assert.equal(config.tickTime, 100);
    assert.deepEqual(warnings, ["zoo.cfg:2: unknown key 'frobnicate' ignored"]);
  });

  it('suggests the key that was probably meant', () => {
    assert.match(parseZooCfg('ticktime=100').warnings[0]!, /did you mean 'tickTime'/);
    assert.match(parseZooCfg('zookeeper.snapCount=100').warnings[0]!, /did you mean 'snapCount'/);
    assert.match(
      parseZooCfg('superDigest=a:b').warnings[0]!,
      /did you mean 'DigestAuthenticationProvider\.superDigest'/,
    );
  });

  it('accepts ZooKeeper settings it does not use, with a gentler warning', () => {
    for (const key of [
      'standaloneEnabled',
      'syncEnabled',
      'quorumListenOnAllIPs',
      'electionAlg',
      'secureClientPort',
      'admin.commandURL',
      'metricsProvider.className',
      'ssl.keyStore.location',
      'group.1',
      'skipACL',
    ]) {
      const { warnings } = parseZooCfg(`${key}=x`);
      assert.equal(warnings.length, 1, key);
      assert.match(
        warnings[0]!,
        new RegExp(`zoo\\.cfg:1: ${key.replace(/\./g, '\\.')} is a ZooKeeper setting that Synod accepts but ignores`),
      );
      assert.doesNotMatch(warnings[0]!, /unknown/);
    }
  });
});

describe('server.N', () => {
  it('parses roles, client addresses and IPv6', () => {
    const { config } = parseZooCfg(
      [
        'server.3=[fe80::1]:2888:3888:OBSERVER;[::1]:2181',
        'server.1=zk1:2888:3888;',
        'server.2=zk2 : 2889 : 3889 : Participant ; 0.0.0.0 : 2182',
        'server.10=localhost:2890:3890',
      ].join('\n'),
    );
    assert.deepEqual(config.servers, [
      { id: 1, host: 'zk1', peerPort: 2888, electionPort: 3888, role: 'participant' },
      {
        id: 2,
        host: 'zk2',
        peerPort: 2889,
        electionPort: 3889,
        role: 'participant',
        clientPort: 2182,
        clientHost: '0.0.0.0',
      },
      {
        id: 3,
        host: 'fe80::1',
        peerPort: 2888,
        electionPort: 3888,
        role: 'observer',
        clientPort: 2181,
        clientHost: '::1',
      },
      { id: 10, host: 'localhost', peerPort: 2890, electionPort: 3890, role: 'participant' },
    ]);
  });

  const bad: Array<[string, RegExp]> = [
    ['server.1=zk1:2888', /malformed/],
    ['server.1=zk1', /malformed/],
    ['server.1=zk1:2888:3888:participant:extra', /malformed/],
    ['server.1=zk1:28x8:3888', /peer port '28x8'/],
    ['server.1=zk1:2888:99999', /election port 99999 outside 1\.\.65535/],
    ['server.1=zk1:2888:2888', /both peer and election/],
    ['server.1=zk1:2888:3888:leader', /role 'leader'/],
    ['server.1=zk1:2888:3888|zk1b:2888:3888', /multiAddress/],
    ['server.1=zk1:2888:3888;2181;2182', /more than one ';'/],
    ['server.1=zk1:2888:3888;a:b:2181', /client address/],
    ['server.1=zk1:2888:3888;port', /client port 'port'/],
    ['server.1=[fe80::1:2888:3888', /malformed/],
    ['server.1=[zk1]:2888:3888', /invalid host/],
    ['server.1=bad host:2888:3888', /invalid host/],
    ['server.1=:2888:3888', /invalid host/],
  ];
  for (const [text, pattern] of bad) {
    it(`rejects ${text}`, () => {
      throwsConfig(() => parseZooCfg(text), 'server.1', /^zoo\.cfg:1: server\.1=/, pattern);
    });
  }

  it('rejects bad ids', () => {
    throwsConfig(() => parseZooCfg('server.abc=zk:1:2'), 'server.abc', /'abc' is not a server id/);
    throwsConfig(() => parseZooCfg('server.=zk:1:2'), 'server.');
    throwsConfig(() => parseZooCfg('server.0=zk:1:2'), 'server.0', /outside 1\.\.255/);
    throwsConfig(() => parseZooCfg('server.256=zk:1:2'), 'server.256', /outside 1\.\.255/);
    throwsConfig(() => parseZooCfg('server.1=a:1:2\nserver.01=b:1:2'), 'server.01', /names server 1 again/);
    throwsConfig(
      () => parseZooCfg('extendedTypesEnabled=true\nserver.255=zk:1:2'),
      'server.255',
      /extendedTypesEnabled=true server ids must be at most 254/,
    );
    assert.equal(parseZooCfg('server.255=zk:1:2').config.servers[0]!.id, 255);
  });

  it('rejects two servers on one endpoint, and observers without participants', () => {
    throwsConfig(
      () => parseZooCfg('server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:3888:4888'),
      'server.2',
      /server\.1 and server\.2 both use 127\.0\.0\.1:3888/,
    );
    throwsConfig(() => parseZooCfg('server.1=zk1:2888:3888:observer'), 'server.1', /observers but no participant/);
  });

  it('warns about an even number of participants', () => {
    const line = (i: number): string => `server.${i}=zk${i}:2888:3888`;
    assert.match(parseZooCfg([1, 2].map(line).join('\n')).warnings[0]!, /2 participants tolerate 0 failures/);
    assert.deepEqual(parseZooCfg([1, 2, 3].map(line).join('\n')).warnings, []);
    assert.match(parseZooCfg([1, 2, 3, 4].map(line).join('\n')).warnings[0]!, /4 participants tolerate 1 failure,/);
    assert.deepEqual(parseZooCfg(line(1)).warnings, []);
  });
});

describe('loadConfig and readMyId', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'synod-config-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the file and lets the command line win', () => {
    const path = join(dir, 'zoo.cfg');
    writeFileSync(path, 'tickTime=100\nclientPort=3000\ndataDir=/srv/zk\n');
    const plain = loadConfig({ configPath: path });
    assert.equal(plain.config.clientPort, 3000);
    assert.equal(plain.config.dataDir, '/srv/zk');
    assert.equal(plain.config.dataLogDir, '/srv/zk');
    const { config, warnings } = loadConfig({ configPath: path, port: 4000, dataDir: join(dir, 'd') });
    assert.deepEqual(warnings, []);
    assert.equal(config.tickTime, 100);
    assert.equal(config.clientPort, 4000);
    assert.equal(config.dataDir, join(dir, 'd'));
    assert.equal(config.dataLogDir, join(dir, 'd'), 'dataLogDir follows an overridden dataDir');
  });

  it('takes the zoo.cfg the test harness writes without a warning', () => {
    const path = join(dir, 'harness.cfg');
    const data = join(dir, 'data');
    writeFileSync(
      path,
      [
        'tickTime=2000',
        'initLimit=10',
        'syncLimit=5',
        `dataDir=${data}`,
        'clientPort=21810',
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        '4lw.commands.whitelist=*',
        'extendedTypesEnabled=true',
        'admin.enableServer=false',
        'znode.container.checkIntervalMs=1000',
        '',
      ].join('\n'),
    );
    const { config, warnings } = loadConfig({ configPath: path, port: 21810, dataDir: data });
    assert.deepEqual(warnings, []);
    assert.equal(config.fourLetterWhitelist, '*');
    assert.equal(config.containerCheckIntervalMs, 1000);
    assert.equal(config.maxClientCnxns, 0);
  });

  it('keeps an explicit dataLogDir when --data-dir is given', () => {
    const path = join(dir, 'logdir.cfg');
    writeFileSync(path, 'dataDir=/a\ndataLogDir=/b\n');
    const { config } = loadConfig({ configPath: path, dataDir: '/c' });
    assert.equal(config.dataDir, '/c');
    assert.equal(config.dataLogDir, '/b');
  });

  it('uses relative paths as written, relative to the working directory', () => {
    const path = join(dir, 'rel.cfg');
    writeFileSync(path, 'dataDir=zkdata\ndataLogDir=./zklog\n');
    const { config, warnings } = loadConfig({ configPath: path });
    assert.equal(config.dataDir, 'zkdata');
    assert.equal(config.dataLogDir, './zklog');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /rel\.cfg:1: dataDir=zkdata is relative to the working directory/);
    assert.deepEqual(loadConfig({ dataDir: 'data2' }).config.dataDir, 'data2');
  });

  it('overrides without a file', () => {
    const { config } = loadConfig({ port: 0, dataDir: '/x' });
    assert.equal(config.clientPort, 0);
    assert.equal(config.dataDir, '/x');
    assert.equal(config.dataLogDir, '/x');
  });

  it('reports a missing file and bad overrides', () => {
    throwsConfig(
      () => loadConfig({ configPath: join(dir, 'nope.cfg') }),
      undefined,
      /nope\.cfg: cannot read.*no such file/,
    );
    throwsConfig(() => loadConfig({ configPath: dir }), undefined, /is a directory/);
    throwsConfig(() => loadConfig({ port: 65536 }), '--port', /--port=65536/);
    throwsConfig(() => loadConfig({ port: 1.5 }), '--port');
    throwsConfig(() => loadConfig({ dataDir: '' }), '--data-dir');
  });

  it('catches a --port that collides with the AdminServer', () => {
    const path = join(dir, 'admin.cfg');
    writeFileSync(path, 'admin.enableServer=true\nadmin.serverPort=9999\n');
    throwsConfig(() => loadConfig({ configPath: path, port: 9999 }), 'admin.serverPort', /client port/);
    assert.equal(loadConfig({ configPath: path, port: 9998 }).config.admin.serverPort, 9999);
  });

  it('reads myid', () => {
    const d = join(dir, 'myid-dir');
    mkdirSync(d);
    assert.equal(readMyId(d), null);
    assert.equal(readMyId(join(dir, 'absent')), null);
    writeFileSync(join(d, 'myid'), '3\n');
    assert.equal(readMyId(d), 3);
    writeFileSync(join(d, 'myid'), ' 7 \r\nignored\n');
    assert.equal(readMyId(d), 7);
    writeFileSync(join(d, 'myid'), 'abc\n');
    throwsConfig(() => readMyId(d), 'myid', /"?abc"? is not a server id/);
    writeFileSync(join(d, 'myid'), '0');
    throwsConfig(() => readMyId(d), 'myid');
    writeFileSync(join(d, 'myid'), '');
    throwsConfig(() => readMyId(d), 'myid', /"" is not a server id/);
    const asDir = join(dir, 'myid-is-dir');
    mkdirSync(join(asDir, 'myid'), { recursive: true });
    assert.equal(readMyId(asDir), null);
  });
});
