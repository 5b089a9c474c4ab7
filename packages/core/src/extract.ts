// Reading a creation context out of a message: through the global propagator, over any broker's header
// shapes (Buffers, typed AMQP values, SQS attributes, case variants), then the other ecosystems' keys.
import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import type { Context, SpanContext, TextMapGetter } from '@opentelemetry/api';
import {
  AWS_TRACE_HEADER,
  DIAGNOSTIC_ID,
  GOOGCLIENT_TRACEPARENT,
  GOOGCLIENT_TRACESTATE,
  looksLikeTraceparent,
  parseTraceparent,
  parseXRayHeader,
} from './interop.js';
import { headerValueToString } from './values.js';
import { coreLog as log } from './diagnostics.js';

/** The caller's carrier and getter, handed to the propagator as one carrier (no closure per message). */
interface CarrierView {
  carrier: unknown;
  getter: TextMapGetter<unknown> | undefined;
  /**
   * Lowercased key -> the first two keys of that spelling; built once, on the first lookup that needs it. `null`:
   * no key has an upper-case letter (the usual case), so a lower-case name is the only other spelling to try.
   */
  lowerKeys?: Map<string, string[]> | null;
  /**
   * `traceparent` was found under its exact name: the producer wrote canonical keys, so the keys it did not
   * write (often `tracestate`, `baggage`) are absent, not spelled otherwise: no case-insensitive scan for them.
   */
  canonical?: boolean;
}

function rawKeys(view: CarrierView): string[] {
  const { carrier, getter } = view;
  if (getter !== undefined) return getter.keys(carrier);
  if (carrier instanceof Map) {
    const keys: string[] = [];
    for (const k of (carrier as Map<unknown, unknown>).keys()) if (typeof k === 'string') keys.push(k);
    return keys;
  }
  return typeof carrier === 'object' && carrier !== null ? Object.keys(carrier) : [];
}

function exactGet(view: CarrierView, key: string): unknown {
  const { carrier, getter } = view;
  if (getter !== undefined) return getter.get(carrier, key);
  if (carrier instanceof Map) return (carrier as Map<unknown, unknown>).get(key);
  if (typeof carrier === 'object' && carrier !== null && Object.hasOwn(carrier, key)) {
    return (carrier as Record<string, unknown>)[key];
  }
  return undefined;
}

/**
 * Lowercased key -> its first two spellings, in key order; `null` (and no Map built) when no key has an
 * upper-case letter, as in the headers most clients write.
 */
function caseIndex(keys: readonly unknown[]): Map<string, string[]> | null {
  let i = 0;
  for (; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k === 'string' && k.toLowerCase() !== k) break;
  }
  if (i === keys.length) return null;
  const index = new Map<string, string[]>();
  for (let j = 0; j < keys.length; j++) {
    const k = keys[j];
    if (typeof k !== 'string') continue;
    const lower = k.toLowerCase();
    const spellings = index.get(lower);
    if (spellings === undefined) index.set(lower, [k]);
    else if (spellings.length < 2) spellings.push(k);
  }
  return index;
}

/** Exact key first; header names are case-insensitive in most brokers' clients, so fall back to a scan. */
function rawGet(view: CarrierView, key: string): unknown {
  const exact = exactGet(view, key);
  if (exact !== undefined) {
    if (key === 'traceparent') view.canonical = true;
    return exact;
  }
  if (view.canonical === true) return undefined;
  // One read of the keys per message, however many keys the propagators ask for (a hostile message may
  // carry 100,000 headers).
  let index = view.lowerKeys;
  if (index === undefined) index = view.lowerKeys = caseIndex(rawKeys(view));
  const lowerKey = key.toLowerCase();
  // Every key is lower-case: the lower-case name is the only spelling left (the exact one was absent or undefined).
  if (index === null) return lowerKey === key ? undefined : exactGet(view, lowerKey);
  // The first spelling other than the exact key (which, if present, holds undefined).
  const spellings = index.get(lowerKey);
  if (spellings === undefined) return undefined;
  const k = spellings[0] !== key ? spellings[0] : spellings[1];
  return k === undefined ? undefined : exactGet(view, k);
}

/** For traceparent-like keys, the first element of a repeated value that parses wins; never joined. */
function pickValue(raw: unknown, traceparentLike: boolean): string | undefined {
  if (Array.isArray(raw) && traceparentLike) {
    for (let i = 0; i < raw.length; i++) {
      const s = headerValueToString(raw[i]);
      if (s !== undefined && looksLikeTraceparent(s)) return s;
    }
  }
  return headerValueToString(raw);
}

function getString(view: CarrierView, key: string): string | undefined {
  return pickValue(rawGet(view, key), key === 'traceparent' || key === GOOGCLIENT_TRACEPARENT || key === DIAGNOSTIC_ID);
}

const viewGetter: TextMapGetter<CarrierView> = {
  keys: rawKeys,
  get: getString,
};

/** The span context other ecosystems' clients left in the message, when the W3C keys gave none. */
function interopSpanContext(view: CarrierView): SpanContext | undefined {
  const goog = getString(view, GOOGCLIENT_TRACEPARENT);
  if (goog !== undefined) {
    const sc = parseTraceparent(goog, getString(view, GOOGCLIENT_TRACESTATE));
    if (sc !== undefined) return sc;
  }
  const diagnosticId = getString(view, DIAGNOSTIC_ID);
  if (diagnosticId !== undefined) {
    const sc = parseTraceparent(diagnosticId);
    if (sc !== undefined) return sc;
  }
  const xray = getString(view, AWS_TRACE_HEADER);
  if (xray !== undefined) return parseXRayHeader(xray);
  return undefined;
}

/**
 * Reads the creation context out of a message's headers/attributes/properties through the GLOBAL propagator.
 * Values may be strings, Buffers, Uint8Arrays, arrays (the first valid value wins, never joined), AMQP typed
 * `{'!': type, value}` or SQS `{ DataType, StringValue }`; keys are matched case-insensitively when the exact key
 * is absent. When the propagator finds no span context, the interop keys are read: `googclient_traceparent`
 * (+ `googclient_tracestate`), `Diagnostic-Id`, `AWSTraceHeader` (X-Ray). Malformed input gives `base`
 * unchanged, never a throw.
 *
 * @param carrier the headers object, Map, or anything `getter` understands
 * @param getter reads raw values from `carrier`; values it returns are normalised like the carrier's own.
 *   Default: own properties of an object, or entries of a Map.
 * @param base the context to extract into. Default `context.active()`; consumers deciding child-or-link pass
 *   `ROOT_CONTEXT` to see the message's own context.
 *
 * @example
 * const creation = trace.getSpanContext(extractContext(message.headers, undefined, ROOT_CONTEXT));
 */
export function extractContext(carrier: unknown, getter?: TextMapGetter<unknown>, base?: Context): Context {
  const start = base ?? context.active();
  if (carrier === null || carrier === undefined) return start;
  const view: CarrierView = { carrier, getter };
  try {
    const extracted = propagation.extract(start, view, viewGetter);
    if (trace.getSpanContext(extracted) !== trace.getSpanContext(start)) return extracted;
    const sc = interopSpanContext(view);
    return sc === undefined ? extracted : trace.setSpanContext(extracted, sc);
  } catch (err) {
    log.debug('could not extract a context from a message', err);
    return start;
  }
}

/** The creation context a message carries (interop keys included), or undefined. Never throws. */
export function extractSpanContext(carrier: unknown, getter?: TextMapGetter<unknown>): SpanContext | undefined {
  const sc = trace.getSpanContext(extractContext(carrier, getter, ROOT_CONTEXT));
  return sc !== undefined && trace.isSpanContextValid(sc) ? sc : undefined;
}
