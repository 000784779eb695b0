// The `synod` command.
import { ConfigError, loadConfig } from '../server/config.js';
import { CorruptLogError } from '../storage/index.js';
import { SynodServer } from '../server/server.js';

const USAGE = `usage: synod <command> [options]

commands:
  server [--config zoo.cfg] [--port N] [--data-dir DIR] [--id N] [--join]
      start a server: standalone (defaults: 127.0.0.1:2181, data in ./data), or a
      member of an ensemble when zoo.cfg has server.N lines (id from DATA/myid or --id;
      --join: wait to be added to a running ensemble by reconfig)
  shell [-server host:port] [cmd args...]    zkCli-compatible shell (one-shot with a command)
  bench [options] | bench compare|ensemble|failover|timeline [options]
      load generator; Synod against Apache ZooKeeper, standalone and as ensembles
  help
      this text
`;

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'server':
      return serverCommand(rest);
    case 'bench':
      return (await import('./bench.js')).benchCommand(rest);
    case 'shell':
      return (await import('./shell.js')).shellCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`synod: unknown command '${cmd}'\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

function parseFlags(args: string[]): {
  configPath?: string;
  port?: number;
  dataDir?: string;
  id?: number;
  join?: boolean;
} {
  const out: { configPath?: string; port?: number; dataDir?: string; id?: number; join?: boolean } = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.substring(0, eq) : a;
    const value = (): string => {
      if (eq > 0) return a.substring(eq + 1);
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`${name} needs a value`, { key: name });
      return v;
    };
    switch (name) {
      case '--config':
        out.configPath = value();
        break;
      case '--port': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 65535)
          throw new ConfigError(`--port ${v} is not a port number (0..65535)`, { key: '--port' });
        out.port = Number(v);
        break;
      }
      case '--data-dir':
        out.dataDir = value();
        break;
      case '--join':
        out.join = true;
        break;
      case '--id': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 255)
          throw new ConfigError(`--id ${v} is not a server id (1..255)`, { key: '--id' });
        out.id = Number(v);
        break;
      }
      default:
        throw new ConfigError(`unknown option ${a}`, { key: a });
    }
  }
  return out;
}

async function serverCommand(args: string[]): Promise<void> {
  let server: SynodServer;
  try {
    const { config, warnings } = loadConfig(parseFlags(args));
    for (const w of warnings) process.stderr.write(`synod: warning: ${w}\n`);
    if (!config.forceSync)
      process.stderr.write('synod: WARNING: forceSync=no: acknowledged writes can be lost on power failure\n');
    server = new SynodServer(config);
    await server.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`synod: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof CorruptLogError) {
      process.stderr.write(`synod: refusing to start: ${err.message}\n`);
      process.exit(3);
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`synod: cannot listen: ${e.message}\n`);
      process.exit(4);
    }
    throw err;
  }
  const shutdown = (signal: string) => {
    process.stderr.write(`synod: ${signal}, shutting down\n`);
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
