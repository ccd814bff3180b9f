/**
 * What `--store` (and `storeUrl` in the config) may say, parsed:
 *
 * - absent: SQLite at `<dataDir>/tiercel.db` (dataDir defaults to ./data);
 * - `postgres://…` or `postgresql://…`: PostgreSQL;
 * - `sqlite:PATH` or a plain path: SQLite at PATH.
 */
import { join, resolve } from 'node:path';

export type StoreSpec =
  | { readonly engine: 'sqlite'; readonly path: string }
  | { readonly engine: 'postgres'; readonly url: string; readonly location: string };

export const DEFAULT_DATA_DIR = './data';
export const SQLITE_FILE = 'tiercel.db';

export function parseStoreSpec(spec: string | undefined, dataDir?: string): StoreSpec {
  if (spec === undefined) return { engine: 'sqlite', path: resolve(join(dataDir ?? DEFAULT_DATA_DIR, SQLITE_FILE)) };
  const text = spec.trim();
  if (text === '') throw new Error('store: empty store location; give a file path, sqlite:PATH or postgres://USER@HOST/DB');
  if (/^postgres(ql)?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`store: not a valid PostgreSQL URL: ${redactUrl(text)}`);
    }
    if (!url.hostname && !url.searchParams.get('host')) throw new Error(`store ${redactUrl(text)}: the URL names no host`);
    return { engine: 'postgres', url: text, location: redactUrl(text) };
  }
  if (/^sqlite:/i.test(text)) {
    const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new Error('store: sqlite: needs a path (sqlite:./data/tiercel.db)');
    return { engine: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new Error(`store: unsupported store URL scheme in ${redactUrl(text)}; use postgres://, sqlite:PATH or a file path`);
  }
  return { engine: 'sqlite', path: resolve(text) };
}

/** The URL with its password (and any password= parameter) replaced, for messages and logs. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    for (const key of [...url.searchParams.keys()]) {
      if (/pass/i.test(key)) url.searchParams.set(key, '***');
    }
    return url.toString();
  } catch {
    // Not parseable: hide whatever sits between `user:` and `@`.
    return text.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@').replace(/(pass[a-z]*=)[^&]*/gi, '$1***');
  }
}
