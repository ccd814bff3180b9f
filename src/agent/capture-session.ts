/**
 * `tiercel capture`: records the live syscall stream to a capture file that
 * `tiercel replay --source syscall` evaluates later, here or on another
 * machine. The header holds the /proc snapshot the live state was seeded
 * with, users and groups, and container metadata, so the replay starts from
 * the same state.
 *
 * With a filter (a rule condition, macros and lists of the loaded rules
 * usable), only matching events are kept, plus every record of the state
 * syscalls (process lifecycle, fds) so the replay can rebuild the context
 * the kept events are evaluated in.
 */
import type { Logger } from 'pino';
import { type LoadedRules, loadRules } from '../engine/loader.js';
import { type Finding, formatFinding } from '../engine/rules/load-result.js';
import { Ruleset } from '../engine/ruleset.js';
import { StartupError } from '../server/server.js';
import { createRegistry } from '../sources.js';
import { CAPTURE_VERSION, CaptureWriter } from '../syscall/capture.js';
import { EVENT_TYPE_NAMES, PSEUDO_EVENTS, eventTypeCode } from '../syscall/event-types.js';
import { STATE_SYSCALLS, captureSet } from '../syscall/capture-set.js';
import { RecordError, WIRE_VERSION, splitRecords } from '../syscall/record.js';
import { encodeAccounts } from '../syscall/capture-meta.js';
import { openLiveStream } from './live.js';

/** Name of the rule the filter becomes (disabled rules files' rules are not evaluated). */
const FILTER_RULE = 'tiercel capture filter';

export interface CaptureOptions {
  readonly path: string;
  /** Rules files whose syscalls are captured (and whose macros the filter may use). */
  readonly rulesFiles: readonly string[];
  /** A condition in the rule language; undefined keeps every record. */
  readonly filter?: string;
  /** Capture every syscall type, not only what the rules need. */
  readonly allSyscalls?: boolean;
  readonly ringBytes: number;
  readonly cpusPerRing: number;
  readonly hostRoot: string;
  readonly logger: Logger;
}

export interface CaptureSummary {
  records: number;
  kept: number;
  bytes: number;
  drops: number;
  /** Record bytes not written because the disk fell behind. */
  diskDropped: number;
}

/** Lines of the generated rules text before the filter's first line. */
const FILTER_FIRST_LINE = 8;
/** Indentation of the filter's lines in the block scalar. */
const FILTER_INDENT = 4;

/**
 * The filter as a rule. The condition is a literal block scalar, last, so a
 * position in it maps back to the filter's own line and column.
 */
function filterRulesText(filter: string): string {
  const lines = filter.split(/\r?\n/).map((l) => ' '.repeat(FILTER_INDENT) + l);
  return [
    `- rule: ${FILTER_RULE}`,
    '  desc: records kept by tiercel capture',
    '  output: kept',
    '  priority: DEBUG',
    '  source: syscall',
    '  warn_evttypes: false',
    '  condition: |-',
    ...lines,
  ].join('\n') + '\n';
}

/** A finding about the generated filter rule, positioned in the filter text. */
function inFilterCoordinates(f: Finding): Finding {
  if (f.file !== '--filter' || f.line < FILTER_FIRST_LINE) return f.file === '--filter' ? { ...f, line: 0, col: 0 } : f;
  return { ...f, line: f.line - FILTER_FIRST_LINE + 1, col: Math.max(1, f.col - FILTER_INDENT) };
}

function loadFilter(options: CaptureOptions): { ruleset: Ruleset; filtered: boolean } {
  const registry = createRegistry();
  const files: { name: string; text?: string }[] = options.rulesFiles.map((name) => ({ name }));
  if (options.filter !== undefined) {
    files.push({
      name: '--filter',
      text: filterRulesText(options.filter),
    });
  }
  const loaded: LoadedRules = loadRules(files, registry);
  const errors = loaded.findings.filter((f) => f.severity === 'error').map((f) => formatFinding(inFilterCoordinates(f)));
  if (!loaded.ok) throw new StartupError(`the rules or the filter could not be loaded (${errors.length} errors)`, errors);
  const ruleset = new Ruleset(loaded.rules, registry, {
    ruleMatching: 'first',
    selections: options.filter !== undefined
      ? [{ action: 'disable', rule: '*' }, { action: 'enable', rule: FILTER_RULE }]
      : [],
  });
  return { ruleset, filtered: options.filter !== undefined };
}

/** A running capture; `stop()` detaches the sensor and finishes the file. */
export class CaptureSession {
  readonly summary: CaptureSummary = { records: 0, kept: 0, bytes: 0, drops: 0, diskDropped: 0 };
  private stopped: Promise<CaptureSummary> | undefined;

  private constructor(
    private readonly writer: CaptureWriter,
    private readonly stopSensor: () => { drops: number },
  ) {}

  static async start(options: CaptureOptions): Promise<CaptureSession> {
    const { ruleset, filtered } = loadFilter(options);
    const set = options.allSyscalls ? EVENT_TYPE_NAMES : captureSet(ruleset).names;
    const interesting = [...new Set(set.map((n) => eventTypeCode(n)).filter((c): c is number => c !== undefined))];
    if (!interesting.includes(PSEUDO_EVENTS.procexit)) interesting.push(PSEUDO_EVENTS.procexit);
    const accountsLearned = new Set<string | undefined>();
    const live = await openLiveStream({
      interesting, ringBytes: options.ringBytes, cpusPerRing: options.cpusPerRing, hostRoot: options.hostRoot,
      maxProcesses: 131_072, logger: options.logger, onAccountsChanged: (id) => accountsLearned.add(id),
    });
    const writer = CaptureWriter.toFile(options.path, {
      format: 'tiercel-capture', version: CAPTURE_VERSION, wireVersion: WIRE_VERSION, arch: 'x86_64',
      writer: 'tiercel capture', host: live.snapshot,
      ...(options.filter !== undefined ? { filter: options.filter } : {}),
    });
    const alwaysKept = new Uint8Array(2048);
    for (const n of STATE_SYSCALLS) {
      const c = eventTypeCode(n);
      if (c !== undefined) alwaysKept[c] = 1;
    }
    const EXECVE = eventTypeCode('execve')!;
    const EXECVEAT = eventTypeCode('execveat')!;
    const session = new CaptureSession(writer, () => {
      live.sensor.stop();
      live.state.flush();
      const stats = live.sensor.stats();
      let drops = Number(stats.userspaceDrops);
      for (const c of stats.perCpu) for (const v of Object.values(c.drops)) drops += Number(v);
      return { drops };
    });
    const summary = session.summary;
    const { state } = live;
    const write = (bytes: Buffer): void => {
      if (writer.append(bytes)) summary.bytes += bytes.length;
      else summary.diskDropped += bytes.length;
    };
    live.sensor.start((batch) => {
      const bytes = Buffer.from(batch);
      let records;
      try {
        records = splitRecords(bytes).records;
      } catch (e) {
        if (e instanceof RecordError) {
          options.logger.warn({ err: e.message }, 'malformed record from the sensor; batch skipped');
          return;
        }
        throw e;
      }
      summary.records += records.length;
      // Kept records as [start, end) runs of the batch.
      const runs: number[] = [];
      for (const rec of records) {
        const evt = state.apply(rec);
        const proc = evt.proc;
        // A program started in a container: read its users and groups now, while it
        // runs, so the capture can carry them (a replay has no /proc to read them from).
        if ((rec.type === EXECVE || rec.type === EXECVEAT) && proc.container.id !== 'host') {
          state.users.user(proc.euid, { id: proc.container.id, rootPid: proc.pid });
        }
        const keep = !filtered || alwaysKept[rec.type] === 1 || ruleset.process(evt).length > 0;
        if (!keep) continue;
        summary.kept++;
        if (runs.length && runs[runs.length - 1] === rec.off) runs[runs.length - 1] = rec.off + rec.len;
        else runs.push(rec.off, rec.off + rec.len);
      }
      if (accountsLearned.size) {
        const ts = bytes.readBigUInt64LE(0);
        for (const id of accountsLearned) {
          const a = id === undefined ? state.users.snapshotHost() : state.users.snapshotContainer(id);
          if (a) for (const r of encodeAccounts(ts, id, a.users, a.groups)) write(r);
        }
        accountsLearned.clear();
      }
      for (let i = 0; i < runs.length; i += 2) write(bytes.subarray(runs[i]!, runs[i + 1]!));
    });
    return session;
  }

  stop(): Promise<CaptureSummary> {
    this.stopped ??= (async () => {
      this.summary.drops = this.stopSensor().drops;
      await this.writer.close();
      return this.summary;
    })();
    return this.stopped;
  }
}
