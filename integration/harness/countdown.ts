// Waiting for deliveries by event, never by sleeping: shared by the integration tests of every broker.

/** Resolves with the items once `count` were pushed; rejects after `timeoutMs` saying how many arrived. */
export class Countdown<T> {
  readonly items: T[] = [];
  readonly done: Promise<T[]>;
  private resolve!: (items: T[]) => void;

  constructor(
    readonly count: number,
    timeoutMs = 30_000,
    label = 'messages',
  ) {
    let timer: NodeJS.Timeout | undefined;
    this.done = new Promise<T[]>((resolve, reject) => {
      this.resolve = resolve;
      timer = setTimeout(() => reject(new Error(`waited ${timeoutMs} ms for ${count} ${label}, got ${this.items.length}`)), timeoutMs);
    }).finally(() => clearTimeout(timer));
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length === this.count) this.resolve(this.items);
  }
}
