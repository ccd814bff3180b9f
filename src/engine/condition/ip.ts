/**
 * IP address and network literals for `ipaddr`/`ipnet` fields.
 *
 * Addresses are compared as (family, 128-bit integer) so that `::1`,
 * `0:0::1` and `0:0:0:0:0:0:0:1` are equal, and a network literal
 * (`10.0.0.0/8`) compared with an address means "address is in network", as
 * in libsinsp.
 */
import { isIP } from 'node:net';

export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

export interface IpNetwork {
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly mask: bigint;
}

/** Parses an IPv4 or IPv6 address; undefined when the text is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const family = isIP(text);
  if (family === 4) {
    let value = 0n;
    for (const part of text.split('.')) value = (value << 8n) | BigInt(Number(part));
    return { family: 4, value };
  }
  if (family === 6) return { family: 6, value: parseIpv6(text) };
  return undefined;
}

function parseIpv6(text: string): bigint {
  let head = text;
  // An embedded IPv4 suffix (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const suffix = text.slice(lastColon + 1);
  if (suffix.includes('.')) {
    const v4 = parseIp(suffix);
    const n = v4 ? v4.value : 0n;
    head = text.slice(0, lastColon + 1) + ((n >> 16n) & 0xffffn).toString(16) + ':' + (n & 0xffffn).toString(16);
  }
  const [left, right] = head.includes('::') ? head.split('::') as [string, string] : [head, undefined];
  const leftParts = left ? left.split(':') : [];
  const rightParts = right !== undefined && right !== '' ? right.split(':') : [];
  const missing = 8 - leftParts.length - rightParts.length;
  const parts = [...leftParts, ...Array<string>(right !== undefined ? missing : 0).fill('0'), ...rightParts];
  let value = 0n;
  for (const p of parts) value = (value << 16n) | BigInt(parseInt(p || '0', 16));
  return value;
}

/** Parses `addr/prefix`; undefined when the text is not a network. */
export function parseNetwork(text: string): IpNetwork | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!addr || !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const bits = addr.family === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const all = (1n << BigInt(bits)) - 1n;
  const mask = prefix === 0 ? 0n : (all << BigInt(bits - prefix)) & all;
  return { family: addr.family, base: addr.value & mask, mask };
}

/** True when the address belongs to the network. */
export function inNetwork(addr: IpAddress, net: IpNetwork): boolean {
  return addr.family === net.family && (addr.value & net.mask) === net.base;
}

/** Canonical text of an address, used as the runtime value of `ipaddr` fields. */
export function formatIp(addr: IpAddress): string {
  if (addr.family === 4) {
    const v = addr.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  }
  const parts: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) parts.push(((addr.value >> s) & 0xffffn).toString(16));
  // Compress the longest run of zero hextets (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (parts[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  if (bestStart < 0) return parts.join(':');
  return parts.slice(0, bestStart).join(':') + '::' + parts.slice(bestStart + bestLen).join(':');
}
