/**
 * `tiercel capture`: records the node's syscalls to a capture file with the
 * eBPF sensor, for `tiercel replay --source syscall`. Stops after
 * --duration seconds or on SIGINT/SIGTERM; prints a summary on stderr.
 */
import { type Command } from 'commander';
import { CaptureSession } from '../../agent/capture-session.js';
import { DEFAULT_RING_BYTES } from '../../config/agent.js';
import { setHostname } from '../../engine/generic-fields.js';
import { createLogger } from '../../server/logger.js';
import { StartupError } from '../../server/server.js';
import { rulesFiles } from '../rules-options.js';

interface CaptureCliOptions {
  write: string;
  duration?: string;
  filter?: string;
  rules?: string[];
  allSyscalls?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerCaptureCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('capture')
    .description('record the node\'s syscalls to a capture file (eBPF sensor; root or CAP_BPF+CAP_PERFMON); replay with tiercel replay --source syscall')
    .requiredOption('-w, --write <file>', 'capture file to write (gzip-compressed)')
    .option('--duration <seconds>', 'stop after this many seconds (default: until SIGINT/SIGTERM)')
    .option('--filter <condition>', 'keep only events matching this condition (rule language; macros of the rules files usable); state syscalls are always kept')
    .option('-r, --rules <file>', 'rules whose syscalls are captured (repeatable; default: Tiercel\'s syscall rules)', collect)
    .option('--all-syscalls', 'capture every syscall type, not only those the rules need')
    .action(async (opts: CaptureCliOptions) => {
      setExit(await capture(opts));
    });
}

async function capture(opts: CaptureCliOptions): Promise<number> {
  process.title = 'tiercel'; // proc.name of the capturing process, as for the agent
  let durationMs: number | undefined;
  if (opts.duration !== undefined) {
    const s = Number(opts.duration);
    if (!Number.isFinite(s) || s <= 0) {
      process.stderr.write(`tiercel: --duration: expected a positive number of seconds, got "${opts.duration}"\n`);
      return 2;
    }
    durationMs = s * 1000;
  }
  const host = process.env['TIERCEL_HOSTNAME'] ?? process.env['FALCO_HOSTNAME'];
  if (host) setHostname(host);
  const logger = createLogger({ level: 'info', format: 'auto' });
  let session: CaptureSession;
  try {
    session = await CaptureSession.start({
      path: opts.write,
      rulesFiles: rulesFiles(opts, ['syscall']),
      ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
      allSyscalls: opts.allSyscalls ?? false,
      ringBytes: DEFAULT_RING_BYTES,
      cpusPerRing: 1,
      hostRoot: process.env['HOST_ROOT'] || '/',
      logger,
    });
  } catch (e) {
    if (e instanceof StartupError) {
      for (const d of e.details) process.stderr.write(d + '\n');
      process.stderr.write(`tiercel: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  logger.info({ path: opts.write }, `capturing${durationMs !== undefined ? ` for ${durationMs / 1000} s` : ' until interrupted'}`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.removeListener('SIGINT', done);
      process.removeListener('SIGTERM', done);
      clearTimeout(timer);
      resolve();
    };
    const timer = durationMs !== undefined ? setTimeout(done, durationMs) : undefined;
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  const s = await session.stop();
  process.stderr.write(
    `captured ${s.kept} of ${s.records} records (${s.bytes} bytes) to ${opts.write}; ` +
    `${s.drops} dropped by the sensor${s.diskDropped ? `, ${s.diskDropped} bytes not written (disk too slow)` : ''}\n`,
  );
  return 0;
}
