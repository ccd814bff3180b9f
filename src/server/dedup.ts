/**
 * Remembers recently accepted audit events by auditID + stage, so a batch
 * the apiserver retries (it retries on any error, a timeout included, even
 * when the first attempt was in fact accepted) is not evaluated twice.
 *
 * Memory is bounded by two generations of at most `capacity / 2` keys each:
 * when the young generation is full the old one is dropped and the young one
 * becomes old. A key is therefore remembered for at least the last
 * `capacity / 2` accepted events and at most `capacity`, at O(1) per event.
 */
import { createHash } from 'node:crypto';

/** Longer keys (audit IDs are attacker-controlled text) are remembered by their hash, to bound memory. */
const MAX_KEY_LENGTH = 160;

export class Deduplicator {
  private young = new Set<string>();
  private old = new Set<string>();
  private readonly generation: number;

  constructor(readonly capacity: number) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
  }

  /** The key of an event object, or undefined when it has no usable auditID. */
  static key(obj: Readonly<Record<string, unknown>>): string | undefined {
    const id = obj['auditID'];
    if (typeof id !== 'string' || id === '') return undefined;
    const stage = obj['stage'];
    const key = typeof stage === 'string' ? `${id}\u0000${stage}` : id;
    return key.length > MAX_KEY_LENGTH ? `#${createHash('sha256').update(key).digest('base64')}` : key;
  }

  has(key: string): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  add(key: string): void {
    if (this.capacity <= 0) return;
    if (this.young.size >= this.generation) {
      this.old = this.young;
      this.young = new Set();
    }
    this.young.add(key);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }
}
