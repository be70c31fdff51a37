/** Every command, in the order help lists them. */
import { backupCommand } from './backup.ts';
import { catCommand } from './cat.ts';
import { checkCommand } from './check.ts';
import type { Command } from './command.ts';
import { createCommand } from './create.ts';
import { diffCommand } from './diff.ts';
import { findCommand } from './find.ts';
import { infoCommand } from './info.ts';
import { lsCommand } from './ls.ts';
import { maintenanceCommand } from './maintenance.ts';
import { NAMED_CONFIG_COMMANDS } from './named-configs.ts';
import { passphraseChangeCommand } from './passphrase-change.ts';
import { PING_COMMANDS } from './ping.ts';
import { PKG_COMMANDS } from './pkg.ts';
import { pruneCommand } from './prune.ts';
import { repairCommand } from './repair.ts';
import { restoreCommand } from './restore.ts';
import { rmCommand } from './rm.ts';
import { statsCommand } from './stats.ts';
import { syncCommand } from './sync.ts';
import { unlockCommand } from './unlock.ts';
import { versionCommand } from './version.ts';

export const COMMANDS: readonly Command[] = [
  createCommand,
  backupCommand,
  lsCommand,
  catCommand,
  diffCommand,
  findCommand,
  restoreCommand,
  checkCommand,
  infoCommand,
  statsCommand,
  rmCommand,
  pruneCommand,
  maintenanceCommand,
  repairCommand,
  unlockCommand,
  passphraseChangeCommand,
  syncCommand,
  versionCommand,
  ...NAMED_CONFIG_COMMANDS,
  ...PING_COMMANDS,
  ...PKG_COMMANDS,
];
