import { Command } from 'commander';
import { describeProblem, readConfigFile } from './config-file.js';
import { EXIT } from './exit.js';
import { serveCommand } from './serve-flags.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('the YAML file of `gavel serve --config`');
  config
    .command('check')
    .argument('<file>', 'the config file')
    .description('check a config file as `gavel serve --config` reads it: "ok" and exit 0, or every problem (one per line, naming its key) and exit 2')
    .option('--json', 'one JSON object: {"ok", "problems": [{"key", "line", "message"}]}')
    .addHelpText('after', '\nExample:\n  gavel config check gavel.yaml')
    .action((file: string, o: { json?: boolean }) => {
      // The flags of `gavel serve`, parsers included, on a command of its own (nothing is served).
      const { problems } = readConfigFile(file, serveCommand(new Command('gavel')));
      if (o.json) process.stdout.write(`${JSON.stringify({ ok: problems.length === 0, problems })}\n`);
      else process.stdout.write(problems.length === 0 ? 'ok\n' : problems.map((p) => `${describeProblem(file, p)}\n`).join(''));
      if (problems.length > 0) process.exitCode = EXIT.usage;
    });
}
