/**
 * The filter flags of `backup`: `-exclude`, `-include` and their `-...-file` forms, read into the
 * patterns the engine compiles (engine.ts `filterSource`). A pattern file holds one pattern a
 * line; blank lines and lines starting with `#` are left out, and each line is trimmed.
 */
import { readFile } from 'node:fs/promises';
import type { FlagSpec, ParsedFlags } from '../args/flags.ts';
import { absolutePath, type Env } from '../config/paths.ts';
import type { BackupFilters, FilterPattern } from '../engine/engine.ts';
import { UsageError } from '../errors.ts';

/** How include and exclude combine, for the flags' and the command's help. */
export const FILTER_RULES =
  'Filters (-exclude, -include and their -file forms, each repeatable) are globs over the\n' +
  'snapshot paths: * and ? within a path component, ** across components, [abc] a set. A pattern\n' +
  'without / matches an entry name at any depth; one starting with / is anchored at the source\n' +
  'root (for a bucket, at its prefix); one ending with / matches directories only. An entry is\n' +
  'left out when it or a directory above it matches an -exclude pattern (excludes always win;\n' +
  'the order of the flags does not matter). With -include, a file or symlink is kept only when\n' +
  'it or a directory above it matches an -include pattern; directories are kept (possibly empty)\n' +
  'unless excluded. Left-out entries are not read and not in the snapshot. A local walk does not\n' +
  "descend into an excluded directory; a bucket's listing still lists the keys under an excluded\n" +
  'prefix, and drops them. The versions of a bucket backed up with versions=all are judged as\n' +
  "their key's path (-exclude /logs leaves out /%%versions/logs/... too). A pattern file holds\n" +
  "one pattern a line ('#' comments and blank lines ignored, lines trimmed).";

export const FILTER_FLAGS: readonly FlagSpec[] = [
  {
    name: 'exclude',
    kind: 'repeated',
    value: 'PATTERN',
    description: 'leave out the entries PATTERN matches, and all under a matching directory (repeatable)',
  },
  {
    name: 'include',
    kind: 'repeated',
    value: 'PATTERN',
    description:
      'keep only the files PATTERN matches or that are under a matching directory (repeatable; excludes win)',
  },
  {
    name: 'exclude-file',
    kind: 'repeated',
    value: 'FILE',
    description: '-exclude each pattern of FILE (one a line, # comments)',
  },
  {
    name: 'include-file',
    kind: 'repeated',
    value: 'FILE',
    description: '-include each pattern of FILE (one a line, # comments)',
  },
];

/** The patterns of the command line and of its pattern files; an unreadable file is a UsageError. */
export async function backupFilters(flags: ParsedFlags, cwd: string, env: Env): Promise<BackupFilters> {
  const read = async (kind: 'exclude' | 'include'): Promise<FilterPattern[]> => {
    const patterns = flags.list(kind).map((pattern) => ({ pattern, from: `-${kind}` }));
    for (const file of flags.list(`${kind}-file`))
      patterns.push(...(await patternFile(kind, file, cwd, env)));
    return patterns;
  };
  return { exclude: await read('exclude'), include: await read('include') };
}

async function patternFile(kind: string, file: string, cwd: string, env: Env): Promise<FilterPattern[]> {
  let text: string;
  try {
    text = await readFile(absolutePath(file, cwd, env), 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`-${kind}-file ${file}: cannot read the pattern file (${reason})`, 'backup');
  }
  const patterns: FilterPattern[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    patterns.push({ pattern: line, from: `-${kind}-file ${file} line ${i + 1}` });
  }
  return patterns;
}
