import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, WARNING_CODES } from '../../src/engine/rules/load-result.js';

describe('error code registry', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  it('documents every error and warning code in docs/errors.md', () => {
    for (const code of [...Object.keys(ERROR_CODES), ...Object.keys(WARNING_CODES)]) {
      assert.ok(doc.includes('`' + code + '`'), `${code} is missing from docs/errors.md`);
    }
  });
  it('documents no code that does not exist', () => {
    const known = new Set([...Object.keys(ERROR_CODES), ...Object.keys(WARNING_CODES)]);
    for (const m of doc.matchAll(/`(LOAD_[A-Z_]+)`/g)) assert.ok(known.has(m[1]!), `${m[1]} is documented but not defined`);
  });
});
