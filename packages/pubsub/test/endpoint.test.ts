// server.address / server.port from a PubSub client's options, as the generated client picks its endpoint.
import { PubSub } from '@google-cloud/pubsub';
import { endpointAttributes } from '../src/endpoint';

describe('endpointAttributes', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('a client with no endpoint option talks to pubsub.googleapis.com:443', () => {
    delete process.env.PUBSUB_EMULATOR_HOST;
    delete process.env.CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB;
    delete process.env.GOOGLE_CLOUD_UNIVERSE_DOMAIN;
    expect(endpointAttributes(new PubSub({ projectId: 'p' }))).toEqual({ 'server.address': 'pubsub.googleapis.com', 'server.port': 443 });
  });

  it('the emulator host from the environment, or an apiEndpoint, with its port', () => {
    process.env.PUBSUB_EMULATOR_HOST = 'localhost:8085';
    expect(endpointAttributes(new PubSub({ projectId: 'p' }))).toEqual({ 'server.address': 'localhost', 'server.port': 8085 });
    delete process.env.PUBSUB_EMULATOR_HOST;
    expect(endpointAttributes(new PubSub({ projectId: 'p', apiEndpoint: 'europe-west1-pubsub.googleapis.com' }))).toEqual({
      'server.address': 'europe-west1-pubsub.googleapis.com',
      'server.port': 443,
    });
  });

  it('another universe domain', () => {
    delete process.env.PUBSUB_EMULATOR_HOST;
    expect(endpointAttributes({ options: { universeDomain: 'example.com' } })).toEqual({ 'server.address': 'pubsub.example.com', 'server.port': 443 });
    expect(endpointAttributes({ options: { servicePath: 'localhost', port: '8085' } })).toEqual({ 'server.address': 'localhost', 'server.port': 8085 });
  });

  it('one frozen object per client; nothing for what is not a client, or options that throw', () => {
    const client = { options: { servicePath: 'h', port: 1 } };
    const first = endpointAttributes(client);
    expect(endpointAttributes(client)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(endpointAttributes(undefined)).toEqual({});
    const hostile = Object.defineProperty({}, 'options', {
      get() {
        throw new Error('no');
      },
    });
    expect(endpointAttributes(hostile)).toEqual({});
  });
});
