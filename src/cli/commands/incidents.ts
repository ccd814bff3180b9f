/**
 * `tiercel incidents list|show|ack|resolve|reopen`: incidents from a running
 * analyzer (`--url` and a token, over the query API) or straight from a
 * store (`--store SPEC`, or the default store under ./data).
 *
 * Both ways go through the same code as the API (parameters parsed by
 * src/api/query.ts, answers built by src/api/service.ts), so `-o json`
 * prints exactly what `GET /api/v1/incidents` answers, and a filter the API
 * refuses is refused here with the same message. Text output escapes every
 * value (see src/api/text-format.ts): it is attacker-controlled.
 *
 * Exit status: 0 done, 1 failed (not found, unreachable, refused, store
 * error), 2 bad usage (including a filter value the API refuses).
 */
import { readApiToken } from '../../server/api-token.js';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import type { IncidentStatus } from '../../incidents/model.js';
import type { Store } from '../../store/types.js';
import { ApiClient, ApiClientError } from '../../api/client.js';
import { ApiError } from '../../api/errors.js';
import { parseIncidentQuery } from '../../api/query.js';
import type { IncidentDetailJson, IncidentJson, PageJson } from '../../api/serialize.js';
import { StoreUnavailableError, createQueryService, parseStatusBody } from '../../api/service.js';
import { incidentDetailText, incidentListText, safeJson, statusChangeText, escapeTerminal } from '../../api/text-format.js';
import { UsageError } from '../rules-options.js';

/** The default store `openStore(undefined)` opens. */
const DEFAULT_STORE_FILE = 'data/tiercel.db';
const TOKEN_ENV = 'TIERCEL_API_TOKEN';

interface ConnectionOptions {
  url?: string;
  token?: string;
  store?: string;
}

interface OutputOptions {
  output: 'text' | 'json';
}

interface ListOptions extends ConnectionOptions, OutputOptions {
  since?: string;
  from?: string;
  to?: string;
  namespace?: string;
  pod?: string;
  user?: string;
  severity?: string;
  rule?: string;
  status?: string;
  q?: string;
  limit?: string;
  cursor?: string;
}

interface StatusOptions extends ConnectionOptions, OutputOptions {
  note?: string;
}

/** Where incidents come from: the API over HTTP, or a store opened here. */
interface Backend {
  listIncidents(search: URLSearchParams): Promise<PageJson<IncidentJson>>;
  incident(id: string): Promise<IncidentDetailJson>;
  setStatus(id: string, status: IncidentStatus, note?: string): Promise<IncidentJson>;
  close(): Promise<void>;
}

/** An expected failure: its message is printed as is and the command exits with `code`. */
class CommandFailed extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'a running analyzer (http(s)://host:port); needs a token with the read (list, show) or write scope')
    .option('--token <token>', `API bearer token for --url (default: $${TOKEN_ENV}, else the token an analyzer generated in ./data/api-token)`)
    .option('--store <spec>', `a store to open directly: a SQLite file, sqlite:PATH or postgres://... (default: ./${DEFAULT_STORE_FILE})`)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'));
}

async function openBackend(opts: ConnectionOptions): Promise<Backend> {
  if (opts.url !== undefined && opts.store !== undefined) throw new UsageError('give either --url or --store, not both');
  if (opts.url !== undefined) {
    // An analyzer started here without configured tokens generated one in ./data (mode 0600).
    const token = opts.token ?? process.env[TOKEN_ENV] ?? readApiToken('./data');
    const client = new ApiClient({ url: opts.url, ...(token ? { token } : {}) });
    return {
      listIncidents: (s) => client.listIncidents(s),
      incident: (id) => client.incident(id),
      setStatus: (id, status, note) => client.setStatus(id, status, note),
      close: async () => {},
    };
  }
  if (opts.token !== undefined) throw new UsageError('--token goes with --url');
  const spec = opts.store;
  const { openStore, parseStoreSpec } = await import('../../store/index.js');
  let parsed;
  try {
    parsed = parseStoreSpec(spec);
  } catch (e) {
    throw new UsageError(`--store: ${(e as Error).message}`);
  }
  // A read must not leave an empty database behind where the operator expected one.
  if (parsed.engine === 'sqlite' && parsed.path !== ':memory:' && !existsSync(parsed.path)) {
    throw new CommandFailed(spec === undefined
      ? `no store at ./${DEFAULT_STORE_FILE}; give --store SPEC, or --url URL for a running analyzer`
      : `no store at ${parsed.path}`, 1);
  }
  let store: Store;
  try {
    store = await openStore(spec);
  } catch (e) {
    throw new CommandFailed(`cannot open the store: ${(e as Error).message}`, 1);
  }
  const service = createQueryService(store);
  const by = `cli:${safeUserName()}`;
  return {
    listIncidents: (s) => service.listIncidents(s),
    incident: (id) => service.incident(id),
    // The same checks as a status-change body posted to the API (the note's length).
    setStatus: (id, status, note) => service.setStatus(id, { ...parseStatusBody({ status, note }), by }),
    close: () => store.close(),
  };
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The API's query string from the list options (validated here too, so errors name the option). */
function listSearch(opts: ListOptions): URLSearchParams {
  const search = new URLSearchParams();
  for (const key of ['since', 'from', 'to', 'namespace', 'pod', 'user', 'severity', 'rule', 'status', 'q', 'limit', 'cursor'] as const) {
    const v = opts[key];
    if (v !== undefined) search.set(key, v);
  }
  parseIncidentQuery(search);
  return search;
}

/** The option a query parameter comes from, for messages. */
function optionName(parameter: string): string {
  return parameter === 'q' ? '-q' : `--${parameter}`;
}

/** Prints a failure and returns the exit status. */
function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`tiercel: ${e.message}\n`);
    return 2;
  }
  if (e instanceof CommandFailed) {
    process.stderr.write(`tiercel: ${escapeTerminal(e.message)}\n`);
    return e.code;
  }
  if (e instanceof StoreUnavailableError) {
    // Opened here, the store is the operator's own: the cause is theirs to see (the API keeps it in its log).
    process.stderr.write(`tiercel: the store failed: ${escapeTerminal(String((e.storeCause as Error)?.message ?? e.storeCause))}\n`);
    return 1;
  }
  if (e instanceof ApiError || e instanceof ApiClientError) {
    const status = e.status;
    const parameter = e instanceof ApiError ? e.extra['parameter'] : e.parameter;
    let message = e.message;
    // A filter's error names the CLI option rather than the query parameter.
    if (status === 400 && parameter !== undefined && message.startsWith(`${parameter}:`)) {
      message = `${optionName(parameter)}${message.slice(parameter.length)}`;
    }
    if (status === 401) message += ` (give --token or set ${TOKEN_ENV})`;
    process.stderr.write(`tiercel: ${escapeTerminal(message)}\n`);
    return status === 400 ? 2 : 1;
  }
  throw e;
}

function print(opts: OutputOptions, value: unknown, text: () => string): void {
  process.stdout.write(opts.output === 'json' ? `${safeJson(value)}\n` : text());
}

async function withBackend(opts: ConnectionOptions, run: (b: Backend) => Promise<void>): Promise<number> {
  let backend: Backend | undefined;
  try {
    backend = await openBackend(opts);
    await run(backend);
    return 0;
  } catch (e) {
    return report(e);
  } finally {
    await backend?.close().catch(() => {});
  }
}

export function registerIncidentsCommand(program: Command, setExit: (code: number) => void): void {
  const incidents = program
    .command('incidents')
    .description('list, show, acknowledge and resolve incidents (from a running analyzer or a store)');

  addConnectionOptions(incidents.command('list').description('incidents, newest first'))
    .option('--since <duration>', 'incidents seen in the last 30s, 15m, 24h, 7d, ...')
    .option('--from <time>', 'seen at or after (RFC 3339, e.g. 2026-11-28T12:00:00Z)')
    .option('--to <time>', 'seen at or before (RFC 3339)')
    .option('--namespace <ns>', 'target namespace')
    .option('--pod <name>', 'target pod')
    .option('--user <name>', 'actor (user or service account)')
    .option('--severity <priority>', 'at least this severe (emergency ... debug; info = informational)')
    .option('--rule <name>', 'holding an alert of this rule')
    .option('--status <status>', 'open, acknowledged or resolved')
    .option('-q, --q <text>', 'text search in title, actor and target')
    .option('--limit <n>', 'at most this many (1-1000, default 100)')
    .option('--cursor <cursor>', 'continue a previous listing (printed after a full page)')
    .action(async (opts: ListOptions) => {
      setExit(await withBackend(opts, async (backend) => {
        const page = await backend.listIncidents(listSearch(opts));
        print(opts, page, () => incidentListText(page));
        if (opts.output === 'text' && page.next !== null) {
          process.stderr.write(`more incidents: add --cursor ${escapeTerminal(page.next)}\n`);
        }
      }));
    });

  addConnectionOptions(incidents.command('show').description('one incident: its timeline (storms counted) and links'))
    .argument('<id>', 'incident id')
    .action(async (id: string, opts: ConnectionOptions & OutputOptions) => {
      setExit(await withBackend(opts, async (backend) => {
        const detail = await backend.incident(id);
        print(opts, detail, () => incidentDetailText(detail));
      }));
    });

  const statusCommand = (name: string, status: IncidentStatus, description: string): void => {
    addConnectionOptions(incidents.command(name).description(description))
      .argument('<id>', 'incident id')
      .option('--note <text>', 'why (stored with who made the change)')
      .action(async (id: string, opts: StatusOptions) => {
        setExit(await withBackend(opts, async (backend) => {
          const incident = await backend.setStatus(id, status, opts.note);
          print(opts, incident, () => statusChangeText(incident));
        }));
      });
  };
  statusCommand('ack', 'acknowledged', 'acknowledge an incident (needs the write scope over --url)');
  statusCommand('resolve', 'resolved', 'resolve an incident');
  statusCommand('reopen', 'open', 'set an incident back to open');
}
