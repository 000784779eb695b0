// Suites written in another language (Java, Python) print one `OK name` or
// `FAIL name: why` line per check and a final `DONE n`. This turns each expected
// check into its own node:test case, so a report names exactly what broke.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parseCheckLines, type RunResult } from './processes.js';

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Register one test per expected check name, all fed by a single run of the
 * external program. Call inside a describe().
 */
export function checkTests(expected: readonly string[], run: () => Promise<RunResult>): void {
  let result: RunResult | undefined;
  let checks = new Map<string, { ok: boolean; detail: string }>();
  let runError: unknown;

  before(async () => {
    try {
      result = await run();
      checks = parseCheckLines(result.stdout);
    } catch (e) {
      runError = e;
    }
  });

  const context = (): string => {
    if (runError) return `the program did not run: ${String(runError)}`;
    if (!result) return 'the program did not run';
    return (
      `exit code ${result.code}, signal ${result.signal}${result.timedOut ? ' (timed out)' : ''}\n` +
      `--- stdout (tail) ---\n${tail(result.stdout)}\n--- stderr (tail) ---\n${tail(result.stderr)}`
    );
  };

  for (const name of expected) {
    test(name, () => {
      const c = checks.get(name);
      assert.ok(c, `no line for check "${name}"\n${context()}`);
      assert.ok(c.ok, `${name}: ${c.detail}`);
    });
  }

  test('the program finished and reported nothing unexpected', () => {
    assert.ok(result, context());
    const unknown = [...checks.keys()].filter((k) => !expected.includes(k));
    assert.deepEqual(unknown, [], `checks the test does not know about: ${unknown.join(', ')}`);
    assert.match(result.stdout, /^DONE \d+$/m, `no DONE line\n${context()}`);
    assert.ok(!result.timedOut, `timed out\n${context()}`);
  });
}
