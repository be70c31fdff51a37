/**
 * @kloset/s3-common: what the S3 source, storage and destination share: locations, options,
 * the S3 client, error mapping, retries, uploads, and the key <-> name scheme.
 */
export * from './answer-body.ts';
export * from './answer-text.ts';
export * from './body.ts';
export * from './bucket.ts';
export * from './client.ts';
export * from './errors.ts';
export * from './exact-reader.ts';
export * from './get-object.ts';
export * from './head-object.ts';
export * from './list-objects.ts';
export * from './listing-keys.ts';
export * from './location.ts';
export * from './md5.ts';
export * from './metadata-keys.ts';
export * from './names.ts';
export * from './object-answer.ts';
export * from './object-headers.ts';
export * from './object-metadata.ts';
export * from './options.ts';
export * from './profile.ts';
export * from './put-object.ts';
export * from './response-checksum.ts';
export * from './retry.ts';
export * from './s3-error.ts';
export * from './settings.ts';
export * from './sigv4.ts';
export * from './stale-uploads.ts';
export * from './target.ts';
export * from './transport.ts';
export * from './upload.ts';
export * from './upload-part.ts';
export * from './version-names.ts';
export * from './version-page.ts';
export * from './xml.ts';
