#!/usr/bin/env node
// `npx postern …` (package.json "bin"): Node 24 runs this TypeScript directly (type
// stripping); npx puts node_modules/.bin, with the `node` devDependency, first on PATH.
// The CLI itself is src/cli/ (docs/cli.md).
import { run } from '../src/cli/run.ts';

// A reader that stopped early (`postern apps list | head -1`) closed the pipe: it has what
// it wanted, so the command ends quietly, as done, instead of with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}

process.exitCode = await run(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
});
