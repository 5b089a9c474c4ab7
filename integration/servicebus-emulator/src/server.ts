// The AMQP 1.0 server on rhea: SASL (ANONYMOUS, or PLAIN with the namespace's key), connections,
// and links routed by address to $cbs, <entity>/$management, or an entity (links.ts). Request/response
// endpoints answer on the client's reply link, correlated by message-id. Session receivers (acceptSession / acceptNextSession)
// get a link holding one session, its lock in the attach answer. Anything we do not implement
// is refused with an AMQP error that names it.
import type { AddressInfo } from 'node:net';
import { create_container, message as rheaMessage, type Connection, type Delivery, type EventContext, type Message, type Receiver, type Sender, types } from 'rhea';
import { checkSasToken, Claims } from './cbs';
import type { NamespaceConfig } from './config';
import { asFailure, AmqpFailure, CONDITION } from './errors';
import { IncomingLink, OutgoingLink, RAW } from './links';
import { handleManagement } from './management';
import { Namespace, type Topic } from './namespace';
import { Entity } from './entity';

// rhea decodes format-0 transfers and drops the bytes; the broker must keep them byte for byte.
const decode = rheaMessage.decode.bind(rheaMessage);
(rheaMessage as unknown as { decode: (b: Buffer) => Message }).decode = (buffer: Buffer): Message => {
  const decoded = decode(buffer) as unknown as Message;
  Object.defineProperty(decoded, RAW, { value: buffer, enumerable: false });
  return decoded;
};

type Endpoint = { kind: 'cbs' } | { kind: 'management'; target: Entity | Topic };

interface ConnectionState {
  claims: Claims;
  /** Our senders by the client's reply-to address (their target). */
  replyLinks: Map<string, Sender>;
  /** Entity paths (lower case) this connection has links to: what the drop lever selects by. */
  paths: Set<string>;
}

export interface Emulator {
  port: number;
  namespace: Namespace;
  /** Fault lever: drops client connections at the socket (as a network failure would): those with a link to `entity`, or all. */
  dropConnections(entity?: string): number;
  close(): Promise<void>;
}

const SESSION_FILTER = 'com.microsoft:session-filter';

export async function startEmulator(config: NamespaceConfig, options: { host?: string; port?: number } = {}): Promise<Emulator> {
  const namespace = new Namespace(config);
  const container = create_container({ id: 'brokertrace-servicebus-emulator' });
  container.sasl_server_mechanisms.enable_anonymous();
  container.sasl_server_mechanisms.enable_plain((user: string, password: string) => user === config.keyName && password === config.key);

  const connections = new WeakMap<Connection, ConnectionState>();
  const open = new Set<Connection>();
  container.on('connection_open', (context: EventContext) => void open.add(context.connection));
  const incoming = new WeakMap<Receiver, IncomingLink | Endpoint>();
  const outgoing = new WeakMap<Sender, OutgoingLink>();
  const stateOf = (connection: Connection): ConnectionState => {
    let state = connections.get(connection);
    if (!state) {
      state = { claims: new Claims(), replyLinks: new Map(), paths: new Set() };
      connections.set(connection, state);
    }
    return state;
  };

  /** Sends a link's attach back without a terminus and detaches it with the error (how a service refuses a link). */
  const refuse = (link: Sender | Receiver, error: unknown): void => {
    const failure = asFailure(error);
    link.close(failure.amqpError);
  };

  container.on('receiver_open', (context: EventContext) => {
    const link = context.receiver as Receiver;
    const address = (link.target as { address?: string } | undefined)?.address;
    try {
      const resolved = namespace.resolve(address);
      link.set_target({ address: address as string });
      if (resolved.kind === 'cbs' || resolved.kind === 'management') {
        if (resolved.kind === 'management') stateOf(context.connection).claims.require(`${resolved.target.path}/$management`);
        incoming.set(link, resolved);
        return;
      }
      const target = resolved.kind === 'topic' ? resolved.topic : resolved.entity;
      if (resolved.kind === 'entity' && !resolved.entity.deadLetter) {
        throw new AmqpFailure(CONDITION.notAllowed, `Cannot send to the dead-letter queue '${resolved.entity.path}'.`, 400);
      }
      stateOf(context.connection).claims.require(target.path);
      stateOf(context.connection).paths.add(target.path.toLowerCase());
      (link as unknown as { local: { attach: { max_message_size: number } } }).local.attach.max_message_size = target.settings.maxMessageSizeBytes;
      incoming.set(link, new IncomingLink(link, target));
    } catch (error) {
      refuse(link, error);
    }
  });

  container.on('sender_open', (context: EventContext) => {
    const link = context.sender as Sender;
    const source = link.source as { address?: string; filter?: Record<string, unknown> } | undefined;
    const replyTo = (link.target as { address?: string } | undefined)?.address;
    const attach = (link as unknown as { local: { attach: Record<string, unknown> }; remote: { attach: Record<string, unknown> } });
    try {
      const { [SESSION_FILTER]: sessionFilter, ...otherFilters } = source?.filter ?? {};
      const wantsSession = source?.filter !== undefined && SESSION_FILTER in source.filter;
      if (Object.keys(otherFilters).length > 0) {
        throw new AmqpFailure(CONDITION.notImplemented, `Link filters (${Object.keys(otherFilters).join(', ')}) are not implemented by this emulator.`, 501);
      }
      const resolved = namespace.resolve(source?.address);
      link.set_source({ address: source?.address as string });
      if (replyTo) link.set_target({ address: replyTo });
      if (resolved.kind === 'cbs' || resolved.kind === 'management') {
        if (resolved.kind === 'management') stateOf(context.connection).claims.require(`${resolved.target.path}/$management`);
        // the client's reply-to is its receiver's target address or, for $cbs, the link's name
        const replies = stateOf(context.connection).replyLinks;
        if (replyTo) replies.set(replyTo, link);
        replies.set(link.name, link);
        return;
      }
      if (resolved.kind === 'topic') {
        throw new AmqpFailure(CONDITION.notAllowed, `Cannot receive from the topic '${resolved.topic.path}': receive from one of its subscriptions.`, 400);
      }
      stateOf(context.connection).claims.require(resolved.entity.path);
      stateOf(context.connection).paths.add(resolved.entity.path.toLowerCase());
      attach.local.attach.snd_settle_mode = attach.remote.attach.snd_settle_mode;
      attach.local.attach.rcv_settle_mode = attach.remote.attach.rcv_settle_mode;
      let sessionId: string | undefined;
      if (wantsSession || resolved.entity.settings.requiresSession) {
        // Minimal sessions: a session-filtered receiver holds one session (named, or the next with a message);
        // the attach answer names it and carries the session lock. Session state and lock renewal are refused ($management).
        if (!resolved.entity.settings.requiresSession) {
          throw new AmqpFailure(CONDITION.notAllowed, `The entity '${resolved.entity.path}' does not require sessions: a session receiver (${SESSION_FILTER}) cannot attach to it.`, 400);
        }
        if (!wantsSession) {
          throw new AmqpFailure(CONDITION.notAllowed, `The entity '${resolved.entity.path}' requires sessions: receive with acceptSession or acceptNextSession.`, 400);
        }
        if (sessionFilter !== undefined && sessionFilter !== null && typeof sessionFilter !== 'string') {
          throw new AmqpFailure(CONDITION.invalidField, `${SESSION_FILTER} must be a string session id.`, 400);
        }
        sessionId = resolved.entity.lockSession(typeof sessionFilter === 'string' ? sessionFilter : undefined);
        link.set_source({ address: source?.address as string, filter: { [SESSION_FILTER]: sessionId } });
        // .NET ticks (100 ns since 0001-01-01), as the service sends com.microsoft:locked-until-utc
        const lockedUntil = Date.now() + resolved.entity.settings.lockDurationMs;
        attach.local.attach.properties = { 'com.microsoft:locked-until-utc': types.wrap_long(lockedUntil * 10_000 + 621_355_968_000_000_000) };
      }
      const consumer = new OutgoingLink(link, resolved.entity, sessionId);
      outgoing.set(link, consumer);
      resolved.entity.addConsumer(consumer);
    } catch (error) {
      refuse(link, error);
    }
  });

  const reply = (context: EventContext, request: Message, properties: Record<string, unknown>, body?: unknown): void => {
    const replyTo = request.reply_to;
    const link = replyTo ? stateOf(context.connection).replyLinks.get(replyTo) : undefined;
    if (!link || !link.is_open()) return; // no reply link: nothing can carry the answer
    link.send({ correlation_id: request.message_id, to: replyTo, application_properties: properties, body });
  };

  container.on('message', (context: EventContext) => {
    const link = context.receiver as Receiver;
    const delivery = context.delivery as Delivery;
    const handler = incoming.get(link);
    if (handler instanceof IncomingLink) {
      handler.onMessage(delivery, context.message as Message | Buffer, (context as { format?: number }).format ?? delivery.format ?? 0);
      return;
    }
    delivery.accept();
    if (!handler) return;
    const request = context.message as Message;
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    if (handler.kind === 'cbs') {
      try {
        if (props.operation !== 'put-token') {
          throw new AmqpFailure(CONDITION.notImplemented, `The $cbs operation '${String(props.operation)}' is not implemented by this emulator.`, 501);
        }
        const { path, expiresAt } = checkSasToken(request.body, props.name, config.keyName, config.key);
        stateOf(context.connection).claims.add(path, expiresAt);
        reply(context, request, { 'status-code': 200, 'status-description': 'OK' });
      } catch (error) {
        const failure = asFailure(error);
        reply(context, request, { 'status-code': failure.status, 'status-description': failure.description });
      }
      return;
    }
    try {
      const answer = handleManagement(handler.target, props.operation, request);
      reply(context, request, { statusCode: answer.status, statusDescription: answer.description }, answer.body);
    } catch (error) {
      const failure = asFailure(error);
      reply(context, request, { statusCode: failure.status, statusDescription: failure.description, errorCondition: failure.condition });
    }
  });

  for (const kind of ['accepted', 'rejected', 'modified', 'released'] as const) {
    container.on(kind, (context: EventContext) => {
      const consumer = context.sender ? outgoing.get(context.sender) : undefined;
      if (consumer && context.delivery) consumer.onDisposition(context.delivery, kind);
    });
  }
  container.on('sendable', (context: EventContext) => {
    const consumer = context.sender ? outgoing.get(context.sender) : undefined;
    consumer?.entity.kick();
  });
  container.on('sender_draining', (context: EventContext) => {
    const consumer = context.sender ? outgoing.get(context.sender) : undefined;
    consumer?.entity.kick();
  });
  const dropSender = (sender: Sender | undefined, connection: Connection): void => {
    if (!sender) return;
    outgoing.get(sender)?.close();
    outgoing.delete(sender);
    const replies = connections.get(connection)?.replyLinks;
    for (const [key, link] of replies ?? []) if (link === sender) replies?.delete(key);
  };
  container.on('sender_close', (context: EventContext) => dropSender(context.sender, context.connection));
  container.on('session_close', (context: EventContext) => {
    for (const [, link] of connections.get(context.connection)?.replyLinks ?? []) if (link.session === context.session) dropSender(link, context.connection);
  });
  const dropConnection = (connection: Connection): void => {
    const session = (connection as unknown as { find_sender(f: (s: Sender) => boolean): Sender | undefined });
    // every consumer of this connection goes; its locks stay until they expire
    for (;;) {
      const sender = session.find_sender((s: Sender) => outgoing.has(s));
      if (!sender) break;
      dropSender(sender, connection);
    }
    connections.delete(connection);
    open.delete(connection);
  };
  container.on('connection_close', (context: EventContext) => dropConnection(context.connection));
  container.on('disconnected', (context: EventContext) => dropConnection(context.connection));
  // errors on a connection are the client's business; the server keeps running
  container.on('error', () => undefined);
  container.on('connection_error', () => undefined);

  const server = container.listen({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    // we settle every delivery ourselves, and tell "modified" (abandon, defer) from "released"
    autoaccept: false,
    treat_modified_as_released: false,
    require_sasl: true,
    max_frame_size: 65536,
  } as unknown as Parameters<typeof container.listen>[0]);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    namespace,
    dropConnections: (entity?: string) => {
      const chosen = [...open].filter((c) => entity === undefined || connections.get(c)?.paths.has(entity.toLowerCase()));
      for (const connection of chosen) (connection as unknown as { socket?: { destroy(): void } }).socket?.destroy();
      return chosen.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        namespace.close();
        server.close(() => resolve());
      }),
  };
}
