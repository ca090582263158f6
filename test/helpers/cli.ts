// The `postern` CLI as a real child process (bin/postern.ts on this Node), pointed at a
// server by its environment. Only PATH is inherited, so a developer's own POSTERN_* never
// reaches a test. Asynchronous on purpose: the server under test usually runs in this
// process and must keep answering while the CLI waits.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string; command?: readonly string[] } = {},
): Promise<CliResult> {
  const [file, ...prefix] = opts.command ?? [process.execPath, 'bin/postern.ts'];
  const env = Object.fromEntries(Object.entries({ PATH: process.env.PATH, ...opts.env }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const child = spawn(file!, [...prefix, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(opts.stdin ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
