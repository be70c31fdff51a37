/** `latest` among snapshots of several sources, as an engine reports it to the commands. */
import { CliError } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import type { SnapshotView } from './engine.ts';

/** One source among the snapshots `latest` was chosen from: its newest snapshot, and how many. */
export interface SourceGroupView {
  readonly newest: SnapshotView;
  readonly count: number;
}

/**
 * The snapshots `latest` was to be chosen from come from several sources (newest first in
 * `sources`): the commands list them and say how to choose (commands/selection.ts). Exit 2.
 */
export class AmbiguousLatestError extends CliError {
  override readonly name = 'AmbiguousLatestError';
  readonly sources: readonly SourceGroupView[];
  constructor(message: string, sources: readonly SourceGroupView[]) {
    super(message, ExitCode.Usage);
    this.sources = sources;
  }
}
