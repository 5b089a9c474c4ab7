// copyWith: the copy a package hands the client in place of the caller's message.
import { copyWith, setOwn } from '@brokertrace/core';

class Payload {
  readonly #body: string;
  readonly key = 'k';
  constructor(body: string) {
    this.#body = body;
  }
  get value(): string {
    return this.#body.toUpperCase();
  }
}

describe('copyWith', () => {
  it('a plain object: a new object with the same own fields and the replaced one; the caller untouched', () => {
    const headers = { a: '1' };
    const message = Object.freeze({ value: 'v', headers });
    const copy = copyWith(message, 'headers', { a: '1', traceparent: 'tp' });
    expect(copy).toEqual({ value: 'v', headers: { a: '1', traceparent: 'tp' } });
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(message.headers).toBe(headers);
    expect(headers).toEqual({ a: '1' });
  });

  it('an own __proto__ key (JSON.parse makes them) stays a field, never the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "value": "v"}') as Record<string, unknown>;
    const copy = copyWith(parsed, 'headers', {});
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect((copy as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('a class instance: a plain copy holding its fields and its getters\' values (read on the original, private fields too)', () => {
    const message = new Payload('body');
    const copy = copyWith(message, 'headers', { traceparent: 'tp' });
    // What clients do with what they are given: spread it (kafkajs's encoder), test own fields (Confluent's).
    expect({ ...copy }).toEqual({ key: 'k', value: 'BODY', headers: { traceparent: 'tp' } });
    expect(Object.hasOwn(copy, 'value')).toBe(true);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(message, 'headers')).toBe(false);
  });

  it('a frozen class instance with a read-only field of that name: the copy is writable and has its own', () => {
    class WithHeaders {
      readonly headers = { a: '1' };
      readonly partition = 2;
    }
    const message = Object.freeze(new WithHeaders());
    const copy = copyWith(message, 'headers', { a: '1', b: '2' }) as unknown as Record<string, unknown>;
    expect(copy.headers).toEqual({ a: '1', b: '2' });
    copy.partition = -1; // Confluent's client rewrites fields of what it is given
    expect(message.headers).toEqual({ a: '1' });
    expect(message.partition).toBe(2);
  });

  it('an object made with Object.create: inherited enumerable fields come along', () => {
    const defaults = { key: 'default-key' };
    const message = Object.assign(Object.create(defaults) as { key: string; value?: string }, { value: 'v' });
    expect({ ...copyWith(message) }).toEqual({ key: 'default-key', value: 'v' });
  });

  it('without a key: a new identity; a getter that throws makes the copy throw (the caller then sends untraced)', () => {
    const message = new Payload('x');
    const copy = copyWith(message);
    expect(copy).not.toBe(message);
    expect(copy.value).toBe('X');
    setOwn(copy, 'key', 'mine');
    expect(copy.key).toBe('mine');
    expect(message.key).toBe('k');
    class Broken {
      get value(): string {
        throw new Error('no value');
      }
    }
    expect(() => copyWith(new Broken())).toThrow('no value');
  });
});
