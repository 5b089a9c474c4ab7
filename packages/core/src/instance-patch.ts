// Replacing methods on one client object (explicit wrapping: traceProducer, traceChannel...) and putting the
// originals back. State lives in a WeakMap, never on the client, so an untraced client carries no trace of us.
import { coreLog as log } from './diagnostics.js';

interface Patch {
  /** Own property descriptors as they were before we replaced them (undefined: the property was inherited). */
  readonly saved: Map<PropertyKey, PropertyDescriptor | undefined>;
  /** Undo steps beyond the properties: event listeners to remove. */
  readonly cleanups: Array<() => void>;
}

const patches = new WeakMap<object, Patch>();

/** True when {@link patchMethods} patched this object and it was not unpatched since. */
export function isPatched(target: object): boolean {
  return patches.has(target);
}

/**
 * Replaces each method named in `replacements` (only those the object has as functions). Returns false, and
 * leaves the object as it was, when it cannot be changed (frozen, sealed, a proxy that refuses).
 */
export function patchMethods(
  target: object,
  replacements: Readonly<Record<string, (original: (...args: unknown[]) => unknown) => unknown>>,
): boolean {
  const patch: Patch = { saved: new Map(), cleanups: [] };
  const record = target as Record<string, unknown>;
  try {
    for (const name of Object.keys(replacements)) {
      const original = record[name];
      const make = replacements[name];
      if (typeof original !== 'function' || !make) continue;
      const own = Object.getOwnPropertyDescriptor(target, name);
      patch.saved.set(name, own);
      Object.defineProperty(target, name, {
        value: make(original as (...args: unknown[]) => unknown),
        writable: true,
        // An own method keeps its enumerability; one from the prototype stays out of Object.keys.
        enumerable: own?.enumerable ?? false,
        configurable: true,
      });
    }
  } catch (err) {
    restore(target, patch);
    log.warn('this client cannot be traced (its methods cannot be replaced)', err);
    return false;
  }
  patches.set(target, patch);
  return true;
}

/** Registers an undo step that runs when the object is unpatched. */
export function onUnpatch(target: object, cleanup: () => void): void {
  const patch = patches.get(target);
  if (patch) patch.cleanups.push(cleanup);
  else cleanup();
}

/** Puts the original methods back. Returns false when the object was not patched by us. */
export function unpatchMethods(target: object): boolean {
  const patch = patches.get(target);
  if (!patch) return false;
  patches.delete(target);
  restore(target, patch);
  return true;
}

function restore(target: object, patch: Patch): void {
  for (const cleanup of patch.cleanups) {
    try {
      cleanup();
    } catch (err) {
      log.debug('cleanup after untracing failed', err);
    }
  }
  for (const [name, descriptor] of patch.saved) {
    try {
      if (descriptor) Object.defineProperty(target, name, descriptor);
      else delete (target as Record<PropertyKey, unknown>)[name];
    } catch (err) {
      log.warn(`could not restore ${String(name)}`, err);
    }
  }
}
