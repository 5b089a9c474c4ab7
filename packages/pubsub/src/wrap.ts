// Tracing one client object in place (shared by the explicit wrappers and the instrumentation): a Topic (its
// Publisher's publishMessage and its request), a Subscription (its listener methods), a PubSub client (every
// topic and subscription it hands out).
import { isPatched, onUnpatch, patchMethods, unpatchMethods } from '@brokertrace/core';
import { log, warnOnce } from './diag.js';
import type { PubSubLike, SubscriptionInternal, SubscriptionLike, TopicInternal, TopicLike } from './internal-types.js';
import { tracePublishMessage, traceRequest } from './publish.js';
import { createSubscriptionState, handBackListeners, traceAddListener, traceRemoveAllListeners, traceRemoveListener } from './subscribe.js';
import type { PubSubTracing } from './tracing.js';

function alreadyTraced(target: object): boolean {
  if (!isPatched(target)) return false;
  log.debug('object already traced, left as it is');
  return true;
}

/** Says once per kind that an object was not recognised; false (left untraced). */
function notRecognised(kind: string, message: string): false {
  warnOnce(`not-recognised:${kind}`, message);
  return false;
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}

/** Traces `topic` in place; false when it was already traced or cannot be changed. */
export function wrapTopic(given: TopicLike, tracing: PubSubTracing): boolean {
  if (!isObject(given)) return notRecognised('topic', 'traceTopic() was handed something that is not a Topic; returned untraced');
  if (alreadyTraced(given)) return false;
  const topic = given as TopicInternal;
  const publisher = topic.publisher;
  if (!isObject(publisher) || typeof publisher.publishMessage !== 'function' || typeof topic.request !== 'function') {
    return notRecognised('topic', 'this Topic has no publisher.publishMessage() and request() (an untested @google-cloud/pubsub version?); left untraced');
  }
  if (!patchMethods(topic, { request: (original) => traceRequest(tracing, topic, original) })) return false;
  if (isPatched(publisher) || !patchMethods(publisher, { publishMessage: (original) => tracePublishMessage(tracing, topic, original) })) {
    unpatchMethods(topic);
    return false;
  }
  onUnpatch(topic, () => unpatchMethods(publisher));
  return true;
}

/** Traces `subscription` in place; false when it was already traced or cannot be changed. */
export function wrapSubscription(given: SubscriptionLike, tracing: PubSubTracing): boolean {
  if (!isObject(given)) return notRecognised('subscription', 'traceSubscription() was handed something that is not a Subscription; returned untraced');
  if (alreadyTraced(given)) return false;
  const subscription = given as SubscriptionInternal;
  if (typeof subscription.on !== 'function' || typeof subscription.removeListener !== 'function') {
    return notRecognised('subscription', 'this Subscription is not an EventEmitter (an untested @google-cloud/pubsub version?); left untraced');
  }
  const state = createSubscriptionState(tracing, subscription);
  // Listeners added before tracing stay untraced; removing them works as before.
  const patched = patchMethods(subscription, {
    on: (original) => traceAddListener(state, original, false, 'on'),
    addListener: (original) => traceAddListener(state, original, false, 'addListener'),
    prependListener: (original) => traceAddListener(state, original, false, 'prependListener'),
    once: (original) => traceAddListener(state, original, true, 'once'),
    prependOnceListener: (original) => traceAddListener(state, original, true, 'prependOnceListener'),
    removeListener: (original) => traceRemoveListener(state, original),
    off: (original) => traceRemoveListener(state, original),
    removeAllListeners: (original) => traceRemoveAllListeners(state, original),
  });
  if (patched) onUnpatch(subscription, () => handBackListeners(state));
  return patched;
}

/** Traces every topic and subscription `pubsub.topic()` / `pubsub.subscription()` hand out (and so createTopic, getTopics, topic.subscription()...). */
export function wrapPubSub(pubsub: PubSubLike, tracing: PubSubTracing): boolean {
  if (!isObject(pubsub) || typeof (pubsub as { topic?: unknown }).topic !== 'function' || typeof (pubsub as { subscription?: unknown }).subscription !== 'function') {
    return notRecognised('pubsub', 'tracePubSub() was handed something that is not a PubSub client with topic() and subscription() (an untested @google-cloud/pubsub version?); returned untraced');
  }
  if (alreadyTraced(pubsub)) return false;
  return patchMethods(pubsub, {
    topic: (original) =>
      function topic(this: unknown, ...args: unknown[]): unknown {
        const made = original.apply(this, args);
        traceMade(made, 'topic', tracing);
        return made;
      },
    subscription: (original) =>
      function subscription(this: unknown, ...args: unknown[]): unknown {
        const made = original.apply(this, args);
        traceMade(made, 'subscription', tracing);
        return made;
      },
  });
}

/** Traces an object the client handed out; never throws into the caller. */
export function traceMade(made: unknown, kind: 'topic' | 'subscription', tracing: PubSubTracing): void {
  if (!tracing.isActive() || !isObject(made)) return;
  try {
    if (kind === 'topic') wrapTopic(made as TopicLike, tracing);
    else wrapSubscription(made as SubscriptionLike, tracing);
  } catch (err) {
    log.error(`${kind} left untraced`, err);
  }
}
