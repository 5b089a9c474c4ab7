// A sampler for consumer traces that start new because of a link: follow the creation context's sampled flag.
import { SamplingDecision, TraceFlags, isSpanContextValid, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Sampler, SamplingResult, SpanKind } from '@opentelemetry/api';
import { ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING } from './semconv.js';

/**
 * A Sampler wrapper: a span with no parent (a new trace) whose FIRST link points to a sampled span context is
 * sampled, so a sampled producer trace is never linked from a consumer trace that was dropped. Every other span
 * is left to `delegate`. brokertrace puts a message's creation context first among a consumer span's links; a
 * link carrying `brokertrace.link.follow_sampling: false` (config `followCreationSampling: false`) is not
 * followed.
 *
 * @example
 * new TracerProvider({ sampler: new LinkSamplingSampler(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) })) });
 */
export class LinkSamplingSampler implements Sampler {
  constructor(private readonly delegate: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if ((parent === undefined || !isSpanContextValid(parent)) && links !== undefined && links.length > 0) {
      const first = links[0]!;
      if (
        isSpanContextValid(first.context) &&
        (first.context.traceFlags & TraceFlags.SAMPLED) !== 0 &&
        first.attributes?.[ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING] !== false
      ) {
        return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      }
    }
    return this.delegate.shouldSample(ctx, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `LinkSamplingSampler{${this.delegate.toString()}}`;
  }
}
