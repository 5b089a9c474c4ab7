// The `<entity>/$management` request/response operations @azure/service-bus uses: peek, renew-lock,
// schedule / cancel-scheduled, receive-by-sequence-number (deferred messages) and update-disposition.
// Every other operation, named, answers 501 amqp:not-implemented: never a silent success.
import { parseMessage, T } from './amqp-message';
import { Entity } from './entity';
import { AmqpFailure, CONDITION } from './errors';
import type { Topic } from './namespace';
import { encodeHeld, uuidString } from './wire';

export interface ManagementAnswer {
  status: number;
  description: string;
  body?: unknown;
}

type Body = Record<string, unknown>;

function bodyOf(request: { body?: unknown }): Body {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    throw new AmqpFailure(CONDITION.argumentError, 'The request body must be an AMQP map.', 400);
  }
  return body as Body;
}

function longs(value: unknown, field: string): number[] {
  if (!Array.isArray(value)) throw new AmqpFailure(CONDITION.argumentError, `'${field}' must be an array of longs.`, 400);
  return value.map((v) => {
    if (typeof v === 'number') return v;
    if (Buffer.isBuffer(v)) return Number(v.readBigInt64BE());
    throw new AmqpFailure(CONDITION.argumentError, `'${field}' must be an array of longs.`, 400);
  });
}

function lockTokens(body: Body): string[] {
  const tokens = body['lock-tokens'];
  if (!Array.isArray(tokens) || tokens.some((t) => !Buffer.isBuffer(t) || t.length !== 16)) {
    throw new AmqpFailure(CONDITION.argumentError, "'lock-tokens' must be an array of uuids.", 400);
  }
  return (tokens as Buffer[]).map(uuidString);
}

function entityOnly(target: Entity | Topic, operation: string): Entity {
  if (target instanceof Entity) return target;
  throw new AmqpFailure(CONDITION.notImplemented, `The operation '${operation}' on a topic ('${target.path}') is not implemented by this emulator.`, 501);
}

function ok(body?: unknown): ManagementAnswer {
  return { status: 200, description: 'OK', body };
}

const NOT_IMPLEMENTED = new Set([
  'com.microsoft:renew-session-lock',
  'com.microsoft:set-session-state',
  'com.microsoft:get-session-state',
  'com.microsoft:get-message-sessions',
  'com.microsoft:add-rule',
  'com.microsoft:remove-rule',
  'com.microsoft:enumerate-rules',
  'com.microsoft:batch-delete-messages',
  'com.microsoft:peek-message-by-session',
]);

export function handleManagement(target: Entity | Topic, operation: unknown, request: { body?: unknown }): ManagementAnswer {
  const op = String(operation);
  switch (op) {
    case 'com.microsoft:peek-message': {
      const entity = entityOnly(target, op);
      const body = bodyOf(request);
      if (body['session-id'] !== undefined) {
        throw new AmqpFailure(CONDITION.notImplemented, `The operation '${op}' with a session-id is not implemented by this emulator (no sessions).`, 501);
      }
      const from = longs([body['from-sequence-number']], 'from-sequence-number')[0] as number;
      const count = Number(body['message-count'] ?? 1);
      const held = entity.peek(from, count);
      // the service answers 204 (no content) when nothing is there
      if (held.length === 0) return { status: 204, description: 'No messages' };
      return ok({ messages: held.map((h) => ({ message: encodeHeld(h) })) });
    }
    case 'com.microsoft:renew-lock': {
      const entity = entityOnly(target, op);
      const expirations = lockTokens(bodyOf(request)).map((token) => new Date(entity.renewLock(token)));
      return ok({ expirations });
    }
    case 'com.microsoft:schedule-message': {
      const entity = entityOnly(target, op);
      const messages = bodyOf(request).messages;
      if (!Array.isArray(messages)) throw new AmqpFailure(CONDITION.argumentError, "'messages' must be a list of maps.", 400);
      const seqs = messages.map((entry: { message?: unknown }) => {
        if (!Buffer.isBuffer(entry?.message)) throw new AmqpFailure(CONDITION.argumentError, "each scheduled entry needs 'message' (binary).", 400);
        const seq = entity.enqueue(parseMessage(entry.message));
        // a duplicate (duplicate detection) is dropped; the service still answers with a number
        return seq ?? 0;
      });
      return ok({ 'sequence-numbers': T.wrap_array(seqs, 0x81, undefined) });
    }
    case 'com.microsoft:cancel-scheduled-message': {
      entityOnly(target, op).cancelScheduled(longs(bodyOf(request)['sequence-numbers'], 'sequence-numbers'));
      return ok();
    }
    case 'com.microsoft:receive-by-sequence-number': {
      const entity = entityOnly(target, op);
      const body = bodyOf(request);
      if (body['session-id'] !== undefined && body['session-id'] !== null) {
        throw new AmqpFailure(CONDITION.notImplemented, `The operation '${op}' with a session-id is not implemented by this emulator (no sessions).`, 501);
      }
      const receiveAndDelete = Number(body['receiver-settle-mode'] ?? 1) === 0;
      const found = entity.receiveDeferred(longs(body['sequence-numbers'], 'sequence-numbers'), receiveAndDelete);
      return ok({
        messages: found.map(({ held, token }) => ({
          message: encodeHeld(held),
          ...(token ? { 'lock-token': T.wrap_uuid(Buffer.from(token.replace(/-/g, ''), 'hex')) } : {}),
        })),
      });
    }
    case 'com.microsoft:update-disposition': {
      const entity = entityOnly(target, op);
      const body = bodyOf(request);
      const props = body['properties-to-modify'] as Record<string, unknown> | undefined;
      const status = String(body['disposition-status']);
      for (const token of lockTokens(body)) {
        if (status === 'completed') entity.complete(token);
        else if (status === 'abandoned') entity.abandon(token, props);
        else if (status === 'defered') entity.defer(token, props);
        else if (status === 'suspended') {
          entity.deadLetterLocked(token, {
            reason: body['deadletter-reason'] as string | undefined,
            description: body['deadletter-description'] as string | undefined,
            properties: props,
          });
        } else {
          throw new AmqpFailure(CONDITION.argumentError, `Unknown disposition-status '${status}'.`, 400);
        }
      }
      return ok();
    }
    default:
      if (NOT_IMPLEMENTED.has(op)) {
        throw new AmqpFailure(CONDITION.notImplemented, `The $management operation '${op}' is not implemented by brokertrace's Service Bus emulator.`, 501);
      }
      throw new AmqpFailure(CONDITION.notImplemented, `The $management operation '${op}' is not known to brokertrace's Service Bus emulator.`, 501);
  }
}
