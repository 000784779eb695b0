// kazoo (Debian's python3-kazoo) and its recipes against a real server process,
// driven by test/compat/kazoo_suite.py.
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { checkTests } from '../helpers/checks.js';
import { REPO_ROOT, SYSTEM_PYTHON } from '../helpers/peers.js';
import { runProcess } from '../helpers/processes.js';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';

const KAZOO_CHECKS = [
  'connect',
  'crud',
  'async_api',
  'transaction',
  'data_watch',
  'children_watch',
  'lock',
  'read_write_lock',
  'semaphore',
  'election',
  'barrier',
  'double_barrier',
  'queue',
  'locking_queue',
  'counter',
  'party',
  'tree_cache',
  'session_close_removes_ephemerals',
] as const;

describe(`kazoo against ${target()}`, { skip: suiteSkip('kazoo') }, () => {
  let server: ServerHandle;

  before(async () => {
    server = await startTarget();
  });

  after(async () => {
    await server?.destroy();
  });

  checkTests(KAZOO_CHECKS, () =>
    runProcess(SYSTEM_PYTHON, [join(REPO_ROOT, 'test', 'compat', 'kazoo_suite.py'), server.connectString], {
      // Python must not write __pycache__ into the work tree.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
      timeoutMs: 110_000,
    }),
  );
});
