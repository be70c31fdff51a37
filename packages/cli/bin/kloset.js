#!/usr/bin/env node
// The kloset command. Runs the built CLI (dist/); in a workspace checkout that has not been built,
// runs the TypeScript sources instead (Node >= 23.6 strips types natively).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`kloset: Node.js >= 22.12 is required (this is ${process.version})\n`);
  process.exit(1);
}

const dist = new URL('../dist/main.js', import.meta.url);
if (existsSync(fileURLToPath(dist))) {
  await import(dist.href);
} else {
  const src = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  if (!existsSync(src) || major < 23 || (major === 23 && minor < 6)) {
    process.stderr.write('kloset: the CLI is not built: run "npm run build -w @kloset/cli"\n');
    process.exit(1);
  }
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--conditions=kloset-source', src, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? (r.signal === 'SIGINT' ? 130 : 1));
}
