// `synod shell` interactive: a real terminal through tmux (skipped without it, unless peers are required),
// and the same shell fed from a pipe.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSynod, SYNOD_BIN, type ServerHandle } from '../helpers/servers.js';
import { peersRequired, REPO_ROOT } from '../helpers/peers.js';
import { runProcess } from '../helpers/processes.js';

const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;

describe('synod shell interactive', { timeout: 180_000 }, () => {
  let server: ServerHandle;
  before(async () => {
    server = await startSynod();
  });
  after(async () => {
    await server?.destroy();
  });

  it('reads commands from a pipe', async () => {
    const r = await runProcess(process.execPath, [SYNOD_BIN, 'shell', '-server', server.connectString], {
      cwd: REPO_ROOT,
      timeoutMs: 30_000,
      input: 'create /piped "two words"\nget /piped\nhistory\nredo 1\nquit\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Connecting to 127\.0\.0\.1:\d+\n/);
    assert.match(r.stdout, /\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 0\] /);
    assert.equal(r.stdout.split('two words\n').length, 3, r.stdout);
    assert.match(r.stdout, /0 - create \/piped "two words"\n1 - get \/piped\n2 - history\n/);
    assert.match(r.stderr, /Created \/piped/);
  });

  it(
    'prompts, completes paths and prints watch events in a terminal',
    // CI installs tmux and requires its peers: there a missing tmux fails instead of skipping.
    { skip: hasTmux || peersRequired() ? false : 'tmux is not installed' },
    async () => {
      // A private tmux server so nothing of the user's tmux is touched; it dies with kill-server.
      const sock = `synod-shell-test-${process.pid}`;
      const tmux = (...args: string[]): string =>
        execFileSync('tmux', ['-L', sock, ...args], { encoding: 'utf8', timeout: 10_000 });
      const pane = (): string => tmux('capture-pane', '-p', '-J', '-S', '-200');
      const waitFor = async (re: RegExp, what: string): Promise<void> => {
        const deadline = Date.now() + 20_000;
        for (let i = 0; i < 400 && Date.now() < deadline; i++) {
          if (re.test(pane())) return;
          await sleep(50);
        }
        assert.fail(`timed out waiting for ${what}; pane:\n${pane()}`);
      };
      const cmd = `${process.execPath} ${SYNOD_BIN} shell -server ${server.connectString}; sleep 30`;
      tmux('new-session', '-d', '-x', '160', '-y', '50', '-c', REPO_ROOT, cmd);
      try {
        await waitFor(/\[zk: 127\.0\.0\.1:\d+\(CONNECTED\) 0\] $/m, 'the first prompt');
        tmux('send-keys', 'create /completeme payload', 'Enter');
        await waitFor(/Created \/completeme/, 'create');
        await waitFor(/\(CONNECTED\) 1\] $/m, 'the second prompt');
        tmux('send-keys', 'get -w /compl', 'Tab');
        await waitFor(/get -w \/completeme$/m, 'path completion');
        tmux('send-keys', 'Enter');
        await waitFor(/^payload$/m, 'get output');
        const set = await runProcess(
          process.execPath,
          [SYNOD_BIN, 'shell', '-server', server.connectString, 'set', '/completeme', 'new'],
          {
            cwd: REPO_ROOT,
            timeoutMs: 30_000,
          },
        );
        assert.equal(set.code, 0, set.stderr);
        await waitFor(
          /WATCHER::\s+WatchedEvent state:SyncConnected type:NodeDataChanged path:\/completeme/,
          'the watch event',
        );
        tmux('send-keys', 'getAl', 'Tab');
        await waitFor(/getAllChildrenNumber $/m, 'command completion');
        tmux('send-keys', 'C-u', 'quit', 'Enter');
        await waitFor(/quit\n/, 'quit');
      } finally {
        try {
          tmux('kill-server');
        } catch {
          // already gone
        }
      }
    },
  );
});
