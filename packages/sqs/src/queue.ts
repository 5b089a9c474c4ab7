// Which queue a call is about: its name from a queue URL or ARN, and the server attributes (low-cardinality,
// built once per endpoint and reused, as core's metric cache wants).
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@brokertrace/core';
import type { Attributes } from '@opentelemetry/api';

/** Distinct endpoints remembered for their server attributes; beyond this each call builds its own. */
const MAX_ENDPOINTS = 64;

/**
 * The queue name from `https://sqs.{region}.amazonaws.com/{account}/{name}` (any host: LocalStack, ElasticMQ,
 * moto), from an ARN `arn:aws:sqs:{region}:{account}:{name}`, or the string itself when it is neither.
 */
export function queueNameOf(urlOrArn: string | undefined): string {
  if (typeof urlOrArn !== 'string' || urlOrArn === '') return '';
  if (urlOrArn.startsWith('arn:')) {
    const i = urlOrArn.lastIndexOf(':');
    return urlOrArn.slice(i + 1);
  }
  let end = urlOrArn.length;
  while (end > 0 && urlOrArn.charCodeAt(end - 1) === 47 /* / */) end--;
  const query = urlOrArn.indexOf('?');
  if (query >= 0 && query < end) end = query;
  const slash = urlOrArn.lastIndexOf('/', end - 1);
  return urlOrArn.slice(slash + 1, end);
}

/** `server.address` / `server.port` of a queue URL's endpoint, one object per endpoint. */
export class Endpoints {
  private readonly byOrigin = new Map<string, Attributes>();

  attributesOf(queueUrl: string | undefined): Attributes | undefined {
    if (typeof queueUrl !== 'string' || !queueUrl.includes('://')) return undefined;
    const schemeEnd = queueUrl.indexOf('://') + 3;
    const pathStart = queueUrl.indexOf('/', schemeEnd);
    const origin = pathStart < 0 ? queueUrl : queueUrl.slice(0, pathStart);
    const known = this.byOrigin.get(origin);
    if (known !== undefined) return known;
    let attributes: Attributes | undefined;
    try {
      const url = new URL(origin);
      const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      attributes = Object.freeze({ [ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[|\]$/g, ''), [ATTR_SERVER_PORT]: port });
    } catch {
      return undefined;
    }
    if (this.byOrigin.size < MAX_ENDPOINTS) this.byOrigin.set(origin, attributes);
    return attributes;
  }
}
