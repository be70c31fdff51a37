/**
 * A connection to one bucket: the AWS SDK's S3Client for the control plane (bucket calls,
 * multipart create/complete/abort, tagging, HEAD, DELETE, and the credential chain) over
 * @smithy/node-http-handler, and the data-plane transport (transport.ts, on undici) for GetObject,
 * PutObject, UploadPart and ListObjectsV2. Both keep-alive, with bounded sockets, the settings'
 * connect, header and idle timeouts, and the proxy of the environment (HTTPS_PROXY, HTTP_PROXY,
 * NO_PROXY). Nothing else is read from the machine's AWS_* settings except through the credential
 * chain, which applies only when no keys are given.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type GetObjectRequest, type GetObjectResult, getObject } from './get-object.ts';
import { type ListObjectsRequest, type ListPage, listObjects } from './list-objects.ts';
import { type PutObjectRequest, putObject } from './put-object.ts';
import { isAws, type S3Settings } from './settings.ts';
import { S3Transport } from './transport.ts';
import { type UploadPartRequest, uploadPart } from './upload-part.ts';

/** An S3 client, the data-plane transport, and the sockets they own. */
export interface S3Connection {
  /** The SDK client, for control-plane calls. */
  readonly client: S3Client;
  readonly settings: S3Settings;
  /** A GetObject (get-object.ts); the body streams. */
  getObject(request: GetObjectRequest): Promise<GetObjectResult>;
  /** A PutObject of a body in memory (put-object.ts). */
  putObject(request: PutObjectRequest): Promise<void>;
  /** An UploadPart (upload-part.ts); resolves with the part's ETag. */
  uploadPart(request: UploadPartRequest): Promise<string | undefined>;
  /** One ListObjectsV2 page, keys URL-encoded (list-objects.ts). */
  listObjects(request: ListObjectsRequest): Promise<ListPage>;
  /** Closes every socket. The connection must not be used afterwards. */
  destroy(): void;
}

/** Extra knobs, mostly for tests. */
export interface S3ConnectionOptions {
  /**
   * Attempts made by the SDK itself for control-plane calls. Default 1: the connectors retry with
   * their own policy (source, destination) or leave it to the contract's RetryStorage (storage).
   */
  readonly maxAttempts?: number;
  /** Sockets per pool; default: settings.concurrency + 4 (room for listings and control calls). */
  readonly maxSockets?: number;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or lower case) are read; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Without keys: those of `profile=` (fromIni, which follows roles, SSO, processes), else the chain. */
function credentialsOf(settings: S3Settings): NonNullable<S3ClientConfig['credentials']> {
  if (settings.profile === undefined) return fromNodeProviderChain();
  const files = settings.sharedFiles;
  return fromIni({
    profile: settings.profile,
    ...(files ? { filepath: files.credentials, configFilepath: files.config } : {}),
  });
}

/** Builds the connection for `settings`. */
export function createS3Connection(settings: S3Settings, options: S3ConnectionOptions = {}): S3Connection {
  const maxSockets = options.maxSockets ?? settings.concurrency + 4;
  const env = options.env ?? process.env;
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets,
    maxFreeSockets: maxSockets,
    // Node's own proxy support: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as the transport's.
    proxyEnv: env,
  };
  const httpAgent = new HttpAgent(agentOptions);
  const httpsAgent = new HttpsAgent({ ...agentOptions, rejectUnauthorized: !settings.tlsInsecureNoVerify });
  const { timeouts } = settings;
  const requestHandler = new NodeHttpHandler({
    httpAgent,
    httpsAgent,
    connectionTimeout: timeouts.connectMs,
    requestTimeout: timeouts.requestMs,
    throwOnRequestTimeout: true,
    socketTimeout: timeouts.idleMs,
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
  const aws = isAws(settings);
  const config: S3ClientConfig = {
    endpoint: settings.location.endpoint,
    region: settings.region,
    forcePathStyle: !settings.location.virtualHost,
    credentials: settings.credentials ?? credentialsOf(settings),
    requestHandler,
    maxAttempts: options.maxAttempts ?? 1,
    followRegionRedirects: aws,
    // No `logger`: the SDK's default NoOpLogger is silent too, and only with it does the SDK skip
    // building a redacted copy of every request and answer for the log.
    // Other servers (Ceph RGW, MinIO...) refuse the SDK's default aws-chunked bodies with trailing
    // checksums (HTTP 411): compute checksums only where an operation requires them. Set in both
    // cases so that AWS_REQUEST_CHECKSUM_CALCULATION & co. of the machine decide nothing.
    requestChecksumCalculation: aws ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: aws ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
  };
  const client = new S3Client(config);
  const transport = new S3Transport(client, settings, maxSockets, env);
  return {
    client,
    settings,
    getObject: (request) => getObject(transport, request),
    putObject: (request) => putObject(transport, request),
    uploadPart: (request) => uploadPart(transport, request),
    listObjects: (request) => listObjects(transport, request),
    destroy() {
      void transport.close();
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
