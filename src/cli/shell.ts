// `synod shell`: a zkCli-compatible shell, one-shot (`synod shell -server h:p ls /`) or interactive.
import { createInterface } from 'node:readline';
import { Shell } from '../shell/commands.js';

interface ShellArgs {
  server: string;
  timeout: number;
  command: string[];
}

function parseArgs(args: string[]): ShellArgs {
  const out: ShellArgs = { server: 'localhost:2181', timeout: 30_000, command: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-server' || a === '--server') out.server = need(args, ++i, a);
    else if (a.startsWith('--server=')) out.server = a.substring('--server='.length);
    else if (a === '-timeout' || a === '--timeout') {
      const v = need(args, ++i, a);
      if (!/^\d+$/.test(v)) throw new Error(`${a} ${v} is not a number of milliseconds`);
      out.timeout = Number(v);
    } else if (a === '-r' || a === '-waitforconnection') continue;
    else if (a === '-client-configuration') need(args, ++i, a);
    else break;
  }
  out.command = args.slice(i);
  return out;
}

function need(args: string[], i: number, name: string): string {
  const v = args[i];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}

// Keep quoted words quoted so the shell's tokenizer sees what the user typed.
function joinCommand(words: string[]): string {
  return words.map((w) => (w === '' || /\s/.test(w) ? (w.includes('"') ? `'${w}'` : `"${w}"`) : w)).join(' ');
}

export async function shellCommand(args: string[]): Promise<void> {
  let parsed: ShellArgs;
  try {
    parsed = parseArgs(args);
  } catch (e) {
    process.stderr.write(`synod shell: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
  if (parsed.command.length > 0) return oneShot(parsed, io);
  return interactive(parsed, io);
}

async function oneShot(parsed: ShellArgs, io: { out(s: string): void; err(s: string): void }): Promise<void> {
  // One-shot output is what scripts parse: connection events would only get in the way.
  const shell = new Shell({ server: parsed.server, timeout: parsed.timeout, io });
  shell.printWatches = false;
  const name = parsed.command[0]!;
  const local =
    name === 'help' || name === 'history' || name === 'printwatches' || name === 'quit' || name === 'version';
  let code = 1;
  try {
    if (local || (await shell.connect(parsed.server))) code = await shell.run(joinCommand(parsed.command));
  } finally {
    await shell.close();
  }
  process.exitCode = code;
}

async function interactive(parsed: ShellArgs, io: { out(s: string): void; err(s: string): void }): Promise<void> {
  const tty = process.stdin.isTTY === true;
  let quitting = false;
  let idle = false;
  const shell = new Shell({
    server: parsed.server,
    timeout: parsed.timeout,
    io,
    onQuit: () => {
      quitting = true;
      rl.close();
    },
    // Between commands, redraw the prompt (with the state it now has) and the typed text under an event.
    onEvent: () => {
      if (tty && idle) {
        rl.setPrompt(shell.prompt());
        rl.prompt(true);
      }
    },
  });
  io.out(`Connecting to ${parsed.server}\n`);
  await shell.connect(parsed.server, false);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: tty,
    historySize: 1000,
    completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => {
      shell.complete(line).then(
        (r) => cb(null, r),
        () => cb(null, [[], line]),
      );
    },
  });
  // Take the iterator now: lines a pipe delivers while we wait to connect would otherwise be lost.
  const lines = rl[Symbol.asyncIterator]();
  // Wait (bounded) for the first connection so the first prompt says CONNECTED, as zkCli's does.
  await shell.zk?.waitForConnected({ timeout: parsed.timeout }).catch(() => undefined);
  const showPrompt = (): void => {
    rl.setPrompt(shell.prompt());
    rl.prompt();
  };
  // Ctrl-C leaves the shell, as in zkCli.
  rl.on('SIGINT', () => {
    quitting = true;
    rl.close();
  });
  showPrompt();
  idle = true;
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    idle = false;
    await shell.run(next.value as string);
    if (quitting) break;
    showPrompt();
    idle = true;
  }
  await shell.close();
  if (!tty) io.out('\n');
}
