/**
 * The API token of an analyzer nobody configured tokens for.
 *
 * There is no default password: on first start the analyzer draws 256 random
 * bits and keeps them in `<data_dir>/api-token`, readable by its owner only.
 * The CLI on the same machine reads the file; anyone else must be given the
 * token. Restarting keeps the token, deleting the file makes a new one.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TOKEN_FILE = 'api-token';

export interface GeneratedToken {
  readonly token: string;
  readonly path: string;
  /** True when this start created it. */
  readonly created: boolean;
}

/** Reads the token file in `dataDir`, creating it (and the directory) when absent. */
export function loadOrCreateApiToken(dataDir: string): GeneratedToken {
  const path = join(dataDir, TOKEN_FILE);
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length >= 16) {
      // Tighten a file someone loosened: the token grants every scope.
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
      return { token, path, created: false };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the API token file ${path}: ${(e as Error).message}`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  // 'wx' would fail if another process raced us; overwriting an empty or short file is intended.
  writeFileSync(path, token + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return { token, path, created: true };
}

/** The token in `dataDir`, if an analyzer made one there (for the CLI). */
export function readApiToken(dataDir: string): string | undefined {
  try {
    const token = readFileSync(join(dataDir, TOKEN_FILE), 'utf8').trim();
    return token.length >= 16 ? token : undefined;
  } catch {
    return undefined;
  }
}
