// Span attributes read from a delivered message (process, receive and settle spans share them).
import type { Attributes } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CLIENT_ID,
  ATTR_MESSAGING_MESSAGE_CONVERSATION_ID,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY,
  ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG,
} from '@brokertrace/core';
import { messageId } from './facts.js';
import type { AmqpMessage } from './internal-types.js';

/** True for what amqplib hands a consumer or returns from get (not the `null` of a cancelled consumer). */
export function isMessage(value: unknown): value is AmqpMessage {
  if (typeof value !== 'object' || value === null) return false;
  const fields = (value as { fields?: unknown }).fields;
  return typeof fields === 'object' && fields !== null && typeof (fields as { deliveryTag?: unknown }).deliveryTag === 'number';
}

/**
 * Routing key, delivery tag, message and conversation id, and `messaging.client.id`: amqplib's only per-client
 * identifier is the consumer tag (unique per consumer on a channel), so process spans carry it.
 */
export function messageAttributes(message: AmqpMessage, connection: Attributes): Attributes {
  const attributes: Attributes = { ...connection };
  const routingKey = message.fields.routingKey;
  if (typeof routingKey === 'string' && routingKey) attributes[ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY] = routingKey;
  attributes[ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG] = message.fields.deliveryTag;
  const consumerTag = message.fields.consumerTag;
  if (typeof consumerTag === 'string' && consumerTag) attributes[ATTR_MESSAGING_CLIENT_ID] = consumerTag;
  const id = messageId(message);
  if (id !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = id;
  const correlationId = message.properties?.correlationId;
  if (typeof correlationId === 'string' && correlationId) attributes[ATTR_MESSAGING_MESSAGE_CONVERSATION_ID] = correlationId;
  return attributes;
}
