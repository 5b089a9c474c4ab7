// Baggage filtering by `baggageAllowList`, on inject (what leaves the process) and on extract (what a handler sees).
import { propagation } from '@opentelemetry/api';
import type { BaggageEntry, Context } from '@opentelemetry/api';

function allowed(allow: readonly (string | RegExp)[], key: string): boolean {
  for (let i = 0; i < allow.length; i++) {
    const rule = allow[i]!;
    if (typeof rule === 'string' ? rule === key : rule.test(key)) return true;
  }
  return false;
}

/** `ctx` with only the allowed baggage entries (the same context when all are allowed or `allow` is undefined). */
export function filterBaggage(ctx: Context, allow: readonly (string | RegExp)[] | undefined): Context {
  if (allow === undefined) return ctx;
  const bag = propagation.getBaggage(ctx);
  if (bag === undefined) return ctx;
  let kept: Record<string, BaggageEntry> | undefined;
  let removed = false;
  for (const [key, entry] of bag.getAllEntries()) {
    if (allowed(allow, key)) (kept ??= {})[key] = entry;
    else removed = true;
  }
  if (!removed) return ctx;
  if (kept === undefined) return propagation.deleteBaggage(ctx);
  return propagation.setBaggage(ctx, propagation.createBaggage(kept));
}
