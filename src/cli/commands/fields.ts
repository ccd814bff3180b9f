/**
 * `tiercel fields [--source NAME]`: every field of every source, with type
 * and description (as `falco --list`).
 */
import type { Command } from 'commander';
import { createRegistry } from '../../sources.js';

const ARG_HINT: Record<string, string> = {
  none: '',
  index: '[N]',
  'index-required': '[N]',
  key: '[KEY]',
  'key-optional': '[KEY]',
};

export function registerFieldsCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('fields')
    .description('list the fields rules can use, by source')
    .option('--source <name>', 'only this source')
    .option('--json', 'print as JSON')
    .option('--all', 'include deprecated fields')
    .action((opts: { source?: string; json?: boolean; all?: boolean }) => {
      const registry = createRegistry();
      const sources = opts.source ? [opts.source] : registry.sourceNames();
      for (const s of sources) {
        if (!registry.hasSource(s)) {
          process.stderr.write(`tiercel: unknown source '${s}' (available: ${registry.sourceNames().join(', ')})\n`);
          setExit(1);
          return;
        }
      }
      if (opts.json) {
        const out = sources.map((s) => ({
          source: s,
          fields: registry.fields(s).filter((f) => opts.all || !f.deprecated).map((f) => ({
            name: f.name, type: f.type, isList: f.isList, arg: f.arg, desc: f.desc, deprecated: f.deprecated ?? false,
          })),
        }));
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        setExit(0);
        return;
      }
      for (const s of sources) {
        const src = registry.source(s)!;
        const title = `Event source: ${s} — ${src.desc}`;
        process.stdout.write(`${title}\n${'-'.repeat(Math.min(title.length, 100))}\n`);
        const fields = registry.fields(s).filter((f) => opts.all || !f.deprecated);
        const width = Math.max(...fields.map((f) => f.name.length + ARG_HINT[f.arg]!.length));
        for (const f of fields) {
          const name = f.name + ARG_HINT[f.arg]!;
          const type = f.isList ? `${f.type} list` : f.type;
          process.stdout.write(`${name.padEnd(width)}  ${type.padEnd(12)}  ${f.desc}\n`);
        }
        process.stdout.write('\n');
      }
      setExit(0);
    });
}
