/**
 * Identifiers derived from content. A Falco instance that retries a POST
 * sends the same JSON again without an id; hashing the content gives the
 * retry the id of the first attempt, so the store ignores it.
 */
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** True for the 8-4-4-4-12 hexadecimal form of a UUID (any version). */
export function isUuid(text: string): boolean {
  return text.length === 36 && UUID.test(text);
}

/**
 * A UUID (RFC 9562 version 8, "custom") made of the SHA-256 of `parts`. Parts
 * are length-prefixed so that no two different part lists hash alike.
 */
export function contentUuid(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:`).update(p);
  const b = h.digest();
  b[6] = (b[6]! & 0x0f) | 0x80; // version 8
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = b.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A short fixed-length digest, for grouping keys built from attacker-controlled text. */
export function shortDigest(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:`).update(p);
  return h.digest('base64url').slice(0, 22);
}
