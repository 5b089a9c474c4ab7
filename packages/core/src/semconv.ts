// Attribute and metric names of the OpenTelemetry messaging semantic conventions (v1.44+, "development"),
// copied here so that @opentelemetry/semantic-conventions is not a runtime dependency, plus brokertrace's own
// project-namespaced attributes. Every broker package uses these constants, never string literals.

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
export const ATTR_MESSAGING_DESTINATION_TEMPORARY = 'messaging.destination.temporary';
export const ATTR_MESSAGING_DESTINATION_ANONYMOUS = 'messaging.destination.anonymous';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_DESTINATION_SUBSCRIPTION_NAME = 'messaging.destination.subscription.name';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_MESSAGING_CLIENT_ID = 'messaging.client.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_MESSAGE_ENVELOPE_SIZE = 'messaging.message.envelope.size';

export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
export const ATTR_MESSAGING_KAFKA_MESSAGE_TOMBSTONE = 'messaging.kafka.message.tombstone';

export const ATTR_MESSAGING_RABBITMQ_DESTINATION_ROUTING_KEY = 'messaging.rabbitmq.destination.routing_key';
export const ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG = 'messaging.rabbitmq.message.delivery_tag';

export const ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ORDERING_KEY = 'messaging.gcp_pubsub.message.ordering_key';
export const ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_DELIVERY_ATTEMPT = 'messaging.gcp_pubsub.message.delivery_attempt';
export const ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_ID = 'messaging.gcp_pubsub.message.ack_id';
export const ATTR_MESSAGING_GCP_PUBSUB_MESSAGE_ACK_DEADLINE = 'messaging.gcp_pubsub.message.ack_deadline';

export const ATTR_MESSAGING_SERVICEBUS_MESSAGE_DELIVERY_COUNT = 'messaging.servicebus.message.delivery_count';
export const ATTR_MESSAGING_SERVICEBUS_MESSAGE_ENQUEUED_TIME = 'messaging.servicebus.message.enqueued_time';
export const ATTR_MESSAGING_SERVICEBUS_DISPOSITION_STATUS = 'messaging.servicebus.disposition_status';

export const ATTR_AWS_SQS_QUEUE_URL = 'aws.sqs.queue.url';

export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_NETWORK_PEER_ADDRESS = 'network.peer.address';
export const ATTR_NETWORK_PEER_PORT = 'network.peer.port';

/** `messaging.operation.type` values. */
export const MESSAGING_OPERATION_TYPE_VALUE_CREATE = 'create';
export const MESSAGING_OPERATION_TYPE_VALUE_SEND = 'send';
export const MESSAGING_OPERATION_TYPE_VALUE_RECEIVE = 'receive';
export const MESSAGING_OPERATION_TYPE_VALUE_PROCESS = 'process';
export const MESSAGING_OPERATION_TYPE_VALUE_SETTLE = 'settle';

/** `error.type` when nothing more specific is known. */
export const ERROR_TYPE_VALUE_OTHER = '_OTHER';

// Semconv metrics.
export const METRIC_MESSAGING_CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration';
export const METRIC_MESSAGING_PROCESS_DURATION = 'messaging.process.duration';
export const METRIC_MESSAGING_CLIENT_SENT_MESSAGES = 'messaging.client.sent.messages';
export const METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES = 'messaging.client.consumed.messages';

// brokertrace's own attributes (project namespace, documented in the core README).
/** `child` or `link`: how the consumer span relates to the message's creation context. */
export const ATTR_BROKERTRACE_DECISION_RELATIONSHIP = 'brokertrace.decision.relationship';
/** Why: `no-context`, `custom`, `forced`, `batch`, `stale`, `redelivered`, `duplicate`, `fresh`. */
export const ATTR_BROKERTRACE_DECISION_REASON = 'brokertrace.decision.reason';
/**
 * Time the message waited (queue latency) in seconds when the consumer saw it, on spans and links; clock skew
 * clamped to 0. Seconds, like every OpenTelemetry duration; the same quantity as the `brokertrace.message.age`
 * histogram, which owns that name.
 */
export const ATTR_BROKERTRACE_MESSAGE_QUEUE_TIME = 'brokertrace.message.queue_time';
/** How many times the broker (or this consumer) has delivered the message, 1 the first time. */
export const ATTR_BROKERTRACE_MESSAGE_DELIVERY_COUNT = 'brokertrace.message.delivery_count';
/** Context fields (or parts, `tracestate:vendor`) that did not fit in the message (string[]); the counter of them is `brokertrace.context.dropped`. */
export const ATTR_BROKERTRACE_CONTEXT_DROPPED_FIELDS = 'brokertrace.context.dropped_fields';
/** The context field a `brokertrace.context.dropped` count is about (metric attribute). */
export const ATTR_BROKERTRACE_CONTEXT_FIELD = 'brokertrace.context.field';
/** On a link: `false` tells `LinkSamplingSampler` not to follow this link's sampled flag. */
export const ATTR_BROKERTRACE_LINK_FOLLOW_SAMPLING = 'brokertrace.link.follow_sampling';

// brokertrace's own metrics.
/** Histogram of message age (queue latency) in seconds. */
export const METRIC_BROKERTRACE_MESSAGE_AGE = 'brokertrace.message.age';
/** Counter of child/link decisions (one per consumed message), by `brokertrace.decision.relationship` and `.reason`. */
export const METRIC_BROKERTRACE_DECISIONS = 'brokertrace.decisions';
/** Counter of context fields dropped for lack of space, by `brokertrace.context.field`. */
export const METRIC_BROKERTRACE_CONTEXT_DROPPED = 'brokertrace.context.dropped';
/**
 * Counter of consumed messages that carried no valid creation context, with the attributes of
 * `messaging.client.consumed.messages`: the broken-trace ratio of a destination is one division.
 */
export const METRIC_BROKERTRACE_CONSUMED_WITHOUT_CONTEXT = 'brokertrace.consumed.messages.without_context';
