/**
 * Join keys → the incidents (or pending context events) that hold them. A
 * key maps to a short list: a pod usually has one story at a time, rarely a
 * few.
 */

export class KeyIndex {
  private readonly map = new Map<string, string[]>();

  static key(kind: string, value: string): string {
    return `${kind}\u0000${value}`;
  }

  get(kind: string, value: string): readonly string[] {
    return this.map.get(KeyIndex.key(kind, value)) ?? [];
  }

  add(kind: string, value: string, id: string): void {
    const k = KeyIndex.key(kind, value);
    const ids = this.map.get(k);
    if (ids === undefined) this.map.set(k, [id]);
    else if (!ids.includes(id)) ids.push(id);
  }

  remove(kind: string, value: string, id: string): void {
    const k = KeyIndex.key(kind, value);
    const ids = this.map.get(k);
    if (ids === undefined) return;
    const i = ids.indexOf(id);
    if (i >= 0) ids.splice(i, 1);
    if (ids.length === 0) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }
}
