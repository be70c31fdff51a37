/** The Engine over @kloset/core. */
import { CliError } from '../errors.ts';
import type { Engine } from './engine.ts';

export async function createCoreEngine(): Promise<Engine> {
  throw new CliError('kloset-core is not wired in yet');
}
