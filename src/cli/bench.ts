// `synod bench` and `synod bench compare`.
import { runBench, formatResult } from '../bench/bench.js';
import { compareCommand } from '../bench/compare.js';
import { ensembleCommand } from '../bench/ensemble.js';
import { timelineCommand } from '../bench/timeline.js';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs } from '../bench/options.js';

export async function benchCommand(args: string[]): Promise<void> {
  if (args[0] === 'compare') return compareCommand(args.slice(1));
  if (args[0] === 'ensemble') return ensembleCommand(args.slice(1));
  if (args[0] === 'failover') return ensembleCommand(['--part', 'failover', ...args.slice(1)]);
  if (args[0] === 'timeline') return timelineCommand(args.slice(1));
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  let opts;
  try {
    opts = parseBenchArgs(args);
  } catch (e) {
    if (e instanceof BenchUsageError) {
      process.stderr.write(`synod bench: ${e.message}\n(synod bench --help lists the options)\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  let result;
  try {
    result = await runBench(opts, log);
  } catch (e) {
    process.stderr.write(`synod bench: ${(e as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const report = formatResult(result);
  if (opts.json) {
    process.stderr.write(report);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(report);
  }
  if (result.incomplete) process.exitCode = 1;
}
