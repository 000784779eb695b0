// The zkCli output formats and parsers of `synod shell`, without a server.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NoNodeError, BadVersionError, NoWatcherError, Perms } from '../../src/client/index.js';
import { errorMessage, formatAcl, formatEvent, parseAcl, permString } from '../../src/shell/format.js';
import { tokenize } from '../../src/shell/commands.js';

describe('shell formats', () => {
  it('tokenizes with quotes as zkCli does', () => {
    assert.deepEqual(tokenize(`create /a "two words" 'x y'  z`), ['create', '/a', 'two words', 'x y', 'z']);
    assert.deepEqual(tokenize('   '), []);
  });

  it('parses and prints ACLs', () => {
    const acl = parseAcl('digest:u:abc=:cdrwa,ip:10.0.0.1:r,world:anyone:rw');
    assert.deepEqual(acl, [
      { perms: Perms.ALL, id: { scheme: 'digest', id: 'u:abc=' } },
      { perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.1' } },
      { perms: Perms.READ | Perms.WRITE, id: { scheme: 'world', id: 'anyone' } },
    ]);
    assert.equal(permString(Perms.ALL), 'cdrwa');
    assert.equal(formatAcl(acl.slice(1)), "'ip,'10.0.0.1\n: r\n'world,'anyone\n: rw\n");
    assert.throws(() => parseAcl('bad'), /bad does not have the form scheme:id:perm/);
  });

  it('prints errors and events like zkCli', () => {
    assert.equal(errorMessage(new NoNodeError(undefined, '/x')), 'Node does not exist: /x');
    assert.equal(errorMessage(new BadVersionError(undefined, '/x')), 'version No is not valid : /x');
    assert.equal(errorMessage(new NoWatcherError(undefined, '/x')), 'KeeperErrorCode = No such watcher for /x');
    assert.equal(
      formatEvent({ type: 3, state: 3, path: '/x' }),
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/x',
    );
    assert.equal(formatEvent({ type: -1, state: 3, path: '' }), 'WatchedEvent state:SyncConnected type:None path:null');
  });
});
