/**
 * The connection pool of the data plane: an undici Pool for the bucket's endpoint (keep-alive,
 * at most `connections` sockets, connect, header and idle-body timeouts, TLS verification unless
 * `tls_insecure_no_verify`), or, when the environment names a proxy, undici's EnvHttpProxyAgent,
 * which sends through HTTPS_PROXY / HTTP_PROXY except for the hosts NO_PROXY lists, as the AWS CLI
 * does (lower-case names too).
 */
import type { Dispatcher } from 'undici';
import type { S3Timeouts } from './settings.ts';
import { EnvHttpProxyAgent, Pool } from './undici-dispatchers.ts';

/** How the pool connects. */
export interface PoolSettings {
  readonly origin: string;
  readonly connections: number;
  readonly timeouts: S3Timeouts;
  readonly tlsInsecureNoVerify: boolean;
  /** Where the proxy variables are read (S3ConnectionOptions.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** An idle kept-alive socket is closed after this long (servers close theirs after 5-60 s). */
const KEEP_ALIVE_MS = 4_000;

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

function variable(env: PoolSettings['env'], names: readonly string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** The dispatcher for `s`: a Pool, or a proxy agent when a proxy variable is set. */
export function createDispatcher(s: PoolSettings): Dispatcher {
  const { env } = s;
  const tls = { rejectUnauthorized: !s.tlsInsecureNoVerify };
  const common = {
    connections: s.connections,
    connect: { timeout: s.timeouts.connectMs, ...tls },
    headersTimeout: s.timeouts.requestMs,
    bodyTimeout: s.timeouts.idleMs,
    keepAliveTimeout: KEEP_ALIVE_MS,
    keepAliveMaxTimeout: KEEP_ALIVE_MS,
  };
  const httpsProxy = variable(env, ['HTTPS_PROXY', 'https_proxy']);
  const httpProxy = variable(env, ['HTTP_PROXY', 'http_proxy']);
  if (variable(env, PROXY_VARIABLES) === undefined) return new Pool(s.origin, common);
  const noProxy = variable(env, ['NO_PROXY', 'no_proxy']);
  return new EnvHttpProxyAgent({
    ...common,
    // Empty, not undefined: undici would read process.env again for an undefined one.
    httpProxy: httpProxy ?? '',
    httpsProxy: httpsProxy ?? '',
    noProxy: noProxy ?? '',
    requestTls: tls,
  });
}
