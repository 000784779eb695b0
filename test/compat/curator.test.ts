// Apache Curator (framework and recipes, from Debian's libcurator-*-java) against
// a real server process, driven by test/compat/java/CuratorSuite.java.
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { checkTests } from '../helpers/checks.js';
import { JAVA_SOURCES, compileJava, javaClasspath, runJavaMain } from '../helpers/java.js';
import { curatorJars } from '../helpers/peers.js';
import { makeTempDir, removeDir } from '../helpers/processes.js';
import { startTarget, suiteSkip, target, type ServerHandle } from '../helpers/servers.js';

const CURATOR_CHECKS = [
  'connect',
  'framework_crud',
  'framework_transaction',
  'inter_process_mutex',
  'leader_latch',
  'shared_count',
  'curator_cache',
  'semaphore',
] as const;

describe(`Curator against ${target()}`, { skip: suiteSkip('curator', 'javac') }, () => {
  let server: ServerHandle;
  let classes: string;

  before(async () => {
    classes = makeTempDir('javac');
    await compileJava([join(JAVA_SOURCES, 'CuratorSuite.java')], javaClasspath(curatorJars() ?? []), classes);
    server = await startTarget();
  });

  after(async () => {
    await server?.destroy();
    if (classes) removeDir(classes);
  });

  checkTests(CURATOR_CHECKS, () =>
    runJavaMain(javaClasspath(curatorJars() ?? [], [classes]), 'CuratorSuite', [server.connectString], 110_000),
  );
});
