/**
 * The `tiercel` command line.
 */
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './commands/agent.js';
import { registerCaptureCommand } from './commands/capture.js';
import { registerFieldsCommand } from './commands/fields.js';
import { registerIncidentsCommand } from './commands/incidents.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerRulesCommands } from './commands/rules.js';
import { registerServeCommand } from './commands/serve.js';
import { UsageError } from './rules-options.js';
import { ENGINE_VERSION } from '../engine/version.js';

const VERSION = '0.1.0';

/** Runs the CLI with the given arguments; resolves to the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number): void => {
    exitCode = code;
  };
  const program = new Command()
    .name('tiercel')
    .description('Kubernetes runtime security: Falco-compatible rules over audit events and syscalls')
    .version(`tiercel ${VERSION} (Falco rules engine ${ENGINE_VERSION})`, '--version')
    .exitOverride()
    .showHelpAfterError('(run tiercel --help for usage)');
  registerRulesCommands(program, setExit);
  registerFieldsCommand(program, setExit);
  registerReplayCommand(program, setExit);
  registerServeCommand(program, setExit);
  registerAgentCommand(program, setExit);
  registerCaptureCommand(program, setExit);
  registerIncidentsCommand(program, setExit);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors are already printed by commander.
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help'
        ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`tiercel: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return exitCode;
}
