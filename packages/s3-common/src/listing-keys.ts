/** Keys in listing answers requested with `EncodingType=url`. */

/**
 * The function that turns the keys of one listing page back into exact keys: URL-decoding when the
 * server says it applied `EncodingType=url` (AWS, Ceph RGW, MinIO do), the identity when it
 * ignored the request and sent raw keys (decoding those would corrupt keys containing `%`).
 */
export function listingKeyDecoder(encodingType: string | undefined): (key: string) => string {
  return encodingType === 'url' ? decodeURIComponent : (key) => key;
}
