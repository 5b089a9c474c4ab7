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

  it('a class instance: the payload behind a getter (even one reading a private field) still reads the same', () => {
    const message = new Payload('body');
    const copy = copyWith(message, 'headers', { traceparent: 'tp' });
    expect(copy.value).toBe('BODY');
    expect(copy.key).toBe('k');
    expect((copy as unknown as { headers: unknown }).headers).toEqual({ traceparent: 'tp' });
    expect(copy).toBeInstanceOf(Payload);
    expect(Object.hasOwn(message, 'headers')).toBe(false);
  });

  it('a frozen class instance with a read-only field of that name: the copy still gets its own', () => {
    class WithHeaders {
      readonly headers = { a: '1' };
    }
    const message = Object.freeze(new WithHeaders());
    const copy = copyWith(message, 'headers', { a: '1', b: '2' });
    expect(copy.headers).toEqual({ a: '1', b: '2' });
    expect(message.headers).toEqual({ a: '1' });
  });

  it('without a key: a new identity that reads the same; setOwn shadows an inherited field', () => {
    const message = new Payload('x');
    const copy = copyWith(message);
    expect(copy).not.toBe(message);
    expect(copy.value).toBe('X');
    setOwn(copy, 'key', 'mine');
    expect(copy.key).toBe('mine');
    expect(message.key).toBe('k');
  });
});
