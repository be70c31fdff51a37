/** Runs the CLI in-process with captured output and a chosen environment. */
import { PassThrough } from 'node:stream';
import type { ConnectorManifest } from '@kloset/connector-contract';
import { runCli } from '../../src/cli.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { Io } from '../../src/io/io.ts';

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunInProcessOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  readonly engine?: Engine;
  readonly builtins?: readonly ConnectorManifest[];
  readonly stdinIsTTY?: boolean;
  readonly stdin?: PassThrough;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

export async function run(argv: readonly string[], opts: RunInProcessOptions = {}): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const io: Io = {
    stdout,
    stderr,
    stdin: opts.stdin ?? new PassThrough(),
    stdinIsTTY: opts.stdinIsTTY ?? false,
    stderrIsTTY: false,
    env: { HOME: '/nonexistent-home', ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    signal: new AbortController().signal,
  };
  const engine = opts.engine;
  const code = await runCli(argv, io, {
    ...(engine ? { engine: async () => engine } : {}),
    ...(opts.builtins ? { builtins: opts.builtins } : {}),
  });
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out(), stderr: err() };
}

/** The JSON Lines of stdout, parsed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
