// The client plugin: one initialize-step middleware (high priority: before the SDK's own middlewares and the
// serializer, after nothing that reads our additions) that routes each SQS command to its tracer. It works on
// every SQSClient, the aggregated SQS class and every command style, before and after client 3.1046 (the
// middleware stack's move into @smithy/core): it only uses `stack.add`.
import { log, warnOnce } from './diag.js';
import type { HandlerContext, InitializeArgs, InitializeHandler, InitializeMiddleware, MiddlewareStackLike } from './internal-types.js';
import { receiveMessage } from './receive.js';
import { sendMessage, sendMessageBatch } from './send.js';
import { SETTLE_OPERATIONS, settle } from './settle.js';
import type { SettleCommand } from './settle.js';
import type { SqsTracing } from './tracing.js';

/** The middleware's name: a second plugin on the same stack replaces the first (`override`), never doubles spans. */
export const MIDDLEWARE_NAME = 'brokertraceSqsMiddleware';

/** A client plugin, as `client.middlewareStack.use()` takes it. */
export interface SqsTracingPlugin {
  /** Adds the middleware to a client's middleware stack (typed loosely: any SDK version's stack is accepted). */
  applyToStack(stack: object): void;
}

/** The middleware, asking `source` at each call which tracing is in force (undefined: pass through). */
export function tracingMiddleware(source: () => SqsTracing | undefined): InitializeMiddleware {
  return (next: InitializeHandler, handlerContext: HandlerContext): InitializeHandler => {
    const command = handlerContext?.commandName;
    // Other services' clients (a plugin put on the wrong stack) and commands we do not trace: untouched.
    if (handlerContext?.clientName !== undefined && handlerContext.clientName !== 'SQSClient') return next;
    // A client whose handler context does not name the command (not a client-sqs v3 we know): said, not guessed.
    if (typeof command !== 'string') {
      warnOnce('no-command-name', 'the SQS client gives its middleware no commandName (an untested @aws-sdk/client-sqs version?); its calls are left untraced');
      return next;
    }
    return (args: InitializeArgs) => {
      const tracing = source();
      if (tracing === undefined || !tracing.isActive()) return next(args);
      // Each tracer catches its own failures before the call and then sends untraced; the call itself is made once.
      switch (command) {
        case 'SendMessageCommand':
          return sendMessage(tracing, args, next);
        case 'SendMessageBatchCommand':
          return sendMessageBatch(tracing, args, next);
        case 'ReceiveMessageCommand':
          return receiveMessage(tracing, args, next);
        default:
          if (command !== undefined && Object.hasOwn(SETTLE_OPERATIONS, command)) return settle(tracing, command as SettleCommand, args, next);
          return next(args);
      }
    };
  };
}

/** The plugin for one tracing source. */
export function pluginFor(source: () => SqsTracing | undefined): SqsTracingPlugin {
  const middleware = tracingMiddleware(source);
  return {
    // Never throws: a stack it does not recognise is said once and left as it is (the client works untraced).
    applyToStack(stack: object): void {
      const add = (stack as Partial<MiddlewareStackLike> | null | undefined)?.add;
      if (typeof add !== 'function') {
        warnOnce('not-a-stack', 'sqsTracing() was applied to something that is not a middleware stack with add() (an untested @aws-sdk/client-sqs version?); left untraced');
        return;
      }
      try {
        add.call(stack, middleware, { step: 'initialize', priority: 'high', name: MIDDLEWARE_NAME, override: true, tags: ['BROKERTRACE', 'TRACE_CONTEXT_PROPAGATION'] });
      } catch (err) {
        if (warnOnce('stack-add-failed', 'the middleware stack refused the tracing middleware (an untested @aws-sdk/client-sqs version?); left untraced')) log.debug('stack.add failed', err);
      }
    },
  };
}
