// Attribute names this package adds to core's (project-namespaced, documented in the README).

/** How a message was settled (see `AmqplibSettlement`): on settle spans, and on the process span when settled inside it. */
export const ATTR_BROKERTRACE_MESSAGE_SETTLEMENT = 'brokertrace.message.settlement';
