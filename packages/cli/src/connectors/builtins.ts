/** The connectors shipped with the CLI (loaded on first use, so help and version stay fast). */
import type { ConnectorManifest } from '@kloset/connector-contract';
import { manifest as fsManifest } from '@kloset/connector-fs';

export const BUILTIN_MANIFESTS: readonly ConnectorManifest[] = [fsManifest];
