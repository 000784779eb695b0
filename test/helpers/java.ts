// Compiling and running the Java check programs under test/compat/java.
import { join } from 'node:path';
import { REPO_ROOT, classpath, slf4jBinding } from './peers.js';
import { runProcess, type RunResult } from './processes.js';

export const JAVA_SOURCES = join(REPO_ROOT, 'test', 'compat', 'java');

/** Client classpath: the given jars plus slf4j-simple, so client warnings reach stderr. */
export function javaClasspath(jars: string[], extra: string[] = []): string {
  const logger = slf4jBinding('simple');
  return classpath([...extra, ...jars, ...(logger ? [logger] : [])]);
}

/** Compile sources into outDir; throws with javac's output on failure. */
export async function compileJava(sources: string[], cp: string, outDir: string): Promise<void> {
  const r = await runProcess('javac', ['-nowarn', '-encoding', 'UTF-8', '-cp', cp, '-d', outDir, ...sources], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) {
    throw new Error(`javac failed (code ${r.code}${r.timedOut ? ', timed out' : ''}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Run a main class with a small heap and warnings-only logging. */
export function runJavaMain(cp: string, mainClass: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return runProcess(
    'java',
    ['-Xmx192m', '-XX:+UseSerialGC', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', cp, mainClass, ...args],
    { timeoutMs },
  );
}
