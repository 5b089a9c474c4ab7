// Which queue a call is about: its name from a queue URL or ARN, the server attributes (low-cardinality,
// built once per endpoint and reused, as core's metric cache wants) and the region the URL names.
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

/**
 * The region an AWS queue URL names: `sqs.{region}.amazonaws.com` (also `.cn`, FIPS `sqs-fips.{region}…`, VPC
 * endpoints `….sqs.{region}.vpce.amazonaws.com`), dual-stack `sqs.{region}.api.aws`, or the legacy
 * `{region}.queue.amazonaws.com` and `queue.amazonaws.com` (us-east-1). None for other hosts (LocalStack,
 * ElasticMQ, moto on localhost).
 */
const REGION_PATTERNS: readonly RegExp[] = [
  /(?:^|\.)sqs(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/,
  /(?:^|\.)sqs(?:-fips)?\.([a-z0-9-]+)\.api\.aws$/,
  /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/,
];
const LEGACY_GLOBAL_HOST = 'queue.amazonaws.com';

function regionOfHost(host: string): string | undefined {
  if (host === LEGACY_GLOBAL_HOST) return 'us-east-1';
  for (const pattern of REGION_PATTERNS) {
    const match = pattern.exec(host);
    if (match !== null) return match[1];
  }
  return undefined;
}

interface Endpoint {
  /** `server.address` / `server.port`, frozen (metric attributes). */
  readonly attributes: Attributes;
  readonly region: string | undefined;
}

/** What a queue URL's endpoint says: server attributes (one object per endpoint) and region. */
export class Endpoints {
  private readonly byOrigin = new Map<string, Endpoint>();

  attributesOf(queueUrl: string | undefined): Attributes | undefined {
    return this.endpointOf(queueUrl)?.attributes;
  }

  regionOf(queueUrl: string | undefined): string | undefined {
    return this.endpointOf(queueUrl)?.region;
  }

  private endpointOf(queueUrl: string | undefined): Endpoint | undefined {
    if (typeof queueUrl !== 'string' || !queueUrl.includes('://')) return undefined;
    const schemeEnd = queueUrl.indexOf('://') + 3;
    const pathStart = queueUrl.indexOf('/', schemeEnd);
    const origin = pathStart < 0 ? queueUrl : queueUrl.slice(0, pathStart);
    const known = this.byOrigin.get(origin);
    if (known !== undefined) return known;
    let endpoint: Endpoint;
    try {
      const url = new URL(origin);
      const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      endpoint = {
        attributes: Object.freeze({ [ATTR_SERVER_ADDRESS]: host, [ATTR_SERVER_PORT]: port }),
        region: regionOfHost(host.toLowerCase()),
      };
    } catch {
      return undefined;
    }
    if (this.byOrigin.size < MAX_ENDPOINTS) this.byOrigin.set(origin, endpoint);
    return endpoint;
  }
}
