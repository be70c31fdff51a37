/**
 * undici's Pool and EnvHttpProxyAgent, loaded from their own modules rather than from undici's
 * index, which also loads fetch, WebSocket, EventSource, the caches and the mocks: 13 MB more in
 * every kloset process that touches S3 (`node -e "require('undici')"`: 71 MB peak RSS, the two
 * dispatchers alone 58 MB, node itself 43 MB). Static imports, so that the package bundle
 * (`kloset pkg`, rolldown) takes these modules only. Their types are undici's public ones
 * (undici-modules.d.ts).
 */
import EnvHttpProxyAgentModule from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import PoolModule from 'undici/lib/dispatcher/pool.js';

export const Pool = PoolModule;
export const EnvHttpProxyAgent = EnvHttpProxyAgentModule;
