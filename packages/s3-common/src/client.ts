/**
 * The one HTTP layer of the S3 connectors: an S3Client over @smithy/node-http-handler with
 * keep-alive, a bounded socket pool, connect/request/idle timeouts and explicit configuration
 * (nothing is read from the machine's AWS_* settings except through the credential chain, which
 * applies only when no keys are given).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type GetObjectRequest, type GetObjectResult, GetObjectSender } from './get-object.ts';
import { type ListObjectsRequest, type ListPage, ObjectLister } from './list-objects.ts';
import { PlainS3Requests } from './plain-request.ts';
import { ObjectPutter, type PutObjectRequest, type UploadPartRequest } from './put-object.ts';
import { isAws, type S3Settings } from './settings.ts';
import { signMd5CheckedBodiesUnhashed } from './unsigned-payload.ts';

/** An S3 client and the pool it owns. */
export interface S3Connection {
  readonly client: S3Client;
  readonly settings: S3Settings;
  /**
   * A GetObject over plain node:http(s) on the same sockets, signed with the client's credentials
   * (get-object.ts): for streaming object bodies, where the SDK's per-request work was most of the CPU.
   */
  getObject(request: GetObjectRequest): Promise<GetObjectResult>;
  /** A PutObject of a body in memory, over plain node:http(s) likewise (put-object.ts). */
  putObject(request: PutObjectRequest): Promise<void>;
  /** An UploadPart likewise; resolves with the part's ETag. */
  uploadPart(request: UploadPartRequest): Promise<string | undefined>;
  /** One ListObjectsV2 page (keys URL-encoded), parsed without the SDK (list-objects.ts). */
  listObjects(request: ListObjectsRequest): Promise<ListPage>;
  /** Closes every socket. The client must not be used afterwards. */
  destroy(): void;
}

/** Extra knobs, mostly for tests. */
export interface S3ConnectionOptions {
  /**
   * Attempts made by the SDK itself. Default 1: the connectors retry with their own policy (source,
   * destination) or leave it to the contract's RetryStorage wrapper (storage).
   */
  readonly maxAttempts?: number;
  /** Sockets in the pool; default: settings.concurrency + 4 (room for listings and control calls). */
  readonly maxSockets?: number;
}

const SILENT_LOGGER = {
  debug: (): void => {},
  info: (): void => {},
  warn: (): void => {},
  error: (): void => {},
};

/** Builds the S3 client for `settings`. */
export function createS3Connection(settings: S3Settings, options: S3ConnectionOptions = {}): S3Connection {
  const maxSockets = options.maxSockets ?? settings.concurrency + 4;
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets, maxFreeSockets: maxSockets };
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
    logger: SILENT_LOGGER,
  });
  const aws = isAws(settings);
  const config: S3ClientConfig = {
    endpoint: settings.location.endpoint,
    region: settings.region,
    forcePathStyle: !settings.location.virtualHost,
    credentials: settings.credentials ?? fromNodeProviderChain(),
    requestHandler,
    maxAttempts: options.maxAttempts ?? 1,
    followRegionRedirects: aws,
    // No `logger`: the SDK's default NoOpLogger is silent too, and only with it does the SDK skip
    // building a redacted copy of every request and answer for the log (a few % of a backup's CPU).
    // Other servers (Ceph RGW, MinIO...) refuse the SDK's default aws-chunked bodies with trailing
    // checksums (HTTP 411): compute checksums only where an operation requires them. Set in both
    // cases so that AWS_REQUEST_CHECKSUM_CALCULATION & co. of the machine decide nothing.
    requestChecksumCalculation: aws ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: aws ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    useFipsEndpoint: false,
    useDualstackEndpoint: false,
  };
  const client = new S3Client(config);
  signMd5CheckedBodiesUnhashed(client);
  const plain = new PlainS3Requests(client, settings, { http: httpAgent, https: httpsAgent });
  const getter = new GetObjectSender(client, settings, plain);
  const putter = new ObjectPutter(client, settings, plain);
  const lister = new ObjectLister(client, settings, plain);
  return {
    client,
    settings,
    getObject: (request) => getter.send(request),
    putObject: (request) => putter.putObject(request),
    uploadPart: (request) => putter.uploadPart(request),
    listObjects: (request) => lister.page(request),
    destroy() {
      plain.close();
      client.destroy();
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
