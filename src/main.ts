#!/usr/bin/env node
// herald's single binary: wiring only; each command lives in src/cli/.
import { UsageError } from './flags.js';
import { errorMessage } from './errors.js';
import { commands, mainHelp } from './cli/commands.js';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`herald ${process.env.npm_package_version ?? '0.1.0'}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`herald: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`herald: ${error.message}\nRun "herald ${process.argv[2] ?? ''} --help" for usage.\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`herald: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  },
);
