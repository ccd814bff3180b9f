/**
 * Join keys → the incidents (or pending context events) that hold them. A
 * key maps to a short list: a pod usually has one story at a time, rarely a
 * few. Lists are capped: past the cap the oldest entry goes, so one pod
 * with thousands of short stories cannot make every lookup long.
 */

const MAX_PER_KEY = 32;

export class KeyIndex {
  /** kind → value → ids, oldest first (nested so that a lookup builds no string). */
  private readonly map = new Map<string, Map<string, string[]>>();
  private count = 0;

  get(kind: string, value: string): readonly string[] {
    return this.map.get(kind)?.get(value) ?? EMPTY;
  }

  add(kind: string, value: string, id: string): void {
    let byValue = this.map.get(kind);
    if (byValue === undefined) this.map.set(kind, (byValue = new Map()));
    const ids = byValue.get(value);
    if (ids === undefined) {
      byValue.set(value, [id]);
      this.count++;
    } else if (!ids.includes(id)) {
      ids.push(id);
      if (ids.length > MAX_PER_KEY) ids.shift();
    }
  }

  remove(kind: string, value: string, id: string): void {
    const byValue = this.map.get(kind);
    const ids = byValue?.get(value);
    if (ids === undefined) return;
    const i = ids.indexOf(id);
    if (i >= 0) ids.splice(i, 1);
    if (ids.length === 0) {
      byValue!.delete(value);
      this.count--;
    }
  }

  /** Distinct keys held. */
  get size(): number {
    return this.count;
  }
}

const EMPTY: readonly string[] = [];
