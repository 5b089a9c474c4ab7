// Where each broker's workload lives. Adding a broker: a file in brokers/, its name in types.ts, a line here.
import type { BrokerName } from './types.js';
import type { Workload } from './workload.js';

export async function workloadOf(broker: BrokerName): Promise<Workload> {
  switch (broker) {
    case 'kafka':
      return (await import('../brokers/kafka.js')).kafka;
    case 'confluent':
      return (await import('../brokers/confluent.js')).confluent;
    case 'rabbitmq':
      return (await import('../brokers/rabbitmq.js')).rabbitmq;
    case 'sqs':
      return (await import('../brokers/sqs.js')).sqs;
    case 'pubsub':
      return (await import('../brokers/pubsub.js')).pubsub;
    case 'servicebus':
      return (await import('../brokers/servicebus.js')).servicebus;
  }
}
