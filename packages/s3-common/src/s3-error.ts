/**
 * S3 error answers (`<Error><Code>...</Code><Message>...</Message></Error>`) of the data-plane
 * transport, as errors that carry the S3 code and the HTTP status the way the SDK's errors do, so
 * that toConnectorError maps both alike.
 */
import type { Answer } from './answer-body.ts';
import { readText } from './answer-text.ts';
import { parseXml, xmlChild } from './xml.ts';

/** An S3 error answer: `Code` and `$metadata.httpStatusCode` as the SDK's errors carry them. */
export class S3ResponseError extends Error {
  readonly Code?: string;
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    if (code !== undefined) {
      this.name = code;
      this.Code = code;
    }
    this.$metadata = { httpStatusCode: status };
  }
}

/** Error bodies are read up to this many characters. */
const ERROR_BODY_MAX = 64 * 1024;

/** The code and message of an error document; none when the body is not one (a HEAD, a proxy's page). */
export function parseErrorBody(xml: string): { code?: string; message?: string } {
  try {
    const error = parseXml(xml).Error;
    const code = xmlChild(error, 'Code');
    const message = xmlChild(error, 'Message');
    return { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}) };
  } catch {
    return {};
  }
}

/** The error of a non-2xx answer, from its body. */
export async function responseError(res: Answer): Promise<S3ResponseError> {
  const status = res.statusCode;
  const { code, message } = parseErrorBody(await readText(res.body, ERROR_BODY_MAX));
  return new S3ResponseError(status, code, message ?? code ?? `HTTP ${status}`);
}
