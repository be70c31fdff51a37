/** Runs the CLI as a child process, with a timeout: a hang fails the test instead of blocking it. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_SOURCE = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
export const CLI_BIN = fileURLToPath(new URL('../../bin/kloset.js', import.meta.url));

export interface SpawnResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface SpawnOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** `ignore`: stdin is /dev/null; `closed`: a pipe closed at once; a string: written then closed. */
  readonly stdin?: 'ignore' | 'closed' | string;
  readonly timeoutMs?: number;
  /** Run bin/kloset.js (the built dist) instead of the sources. */
  readonly bin?: boolean;
  readonly onSpawn?: (pid: number) => void;
}

export function spawnCli(argv: readonly string[], opts: SpawnOptions = {}): Promise<SpawnResult> {
  const args = opts.bin ? [CLI_BIN, ...argv] : ['--conditions=kloset-source', CLI_SOURCE, ...argv];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  delete env.KLOSET_PASSPHRASE;
  if (opts.env?.KLOSET_PASSPHRASE) env.KLOSET_PASSPHRASE = opts.env.KLOSET_PASSPHRASE;
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env,
    stdio: [opts.stdin === 'ignore' || opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) opts.onSpawn?.(child.pid);
  if (child.stdin) {
    if (typeof opts.stdin === 'string' && opts.stdin !== 'closed') child.stdin.end(opts.stdin);
    else child.stdin.end();
  }
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
