/**
 * The heap growing factor of `serve` and `agent` (src/cli/heap.ts): its
 * environment override and the error for a bad value. Its effect on memory is
 * measured in bench/webhook-throughput.ts, not asserted here.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVE_GROWING_PERCENT, heapGrowingPercent, tuneHeap } from '../../src/cli/heap.js';
import { runServeToExit } from '../server/helpers.js';

describe('heap tuning', () => {
  it('defaults to the command\'s percentage (serve 30, agent 0), takes an integer override, 0 leaves V8 alone', () => {
    assert.equal(SERVE_GROWING_PERCENT, 30);
    assert.equal(heapGrowingPercent(30, {}), 30);
    assert.equal(heapGrowingPercent(0, {}), 0);
    assert.equal(heapGrowingPercent(30, { TIERCEL_HEAP_GROWING_PERCENT: ' ' }), 30);
    assert.equal(heapGrowingPercent(0, { TIERCEL_HEAP_GROWING_PERCENT: '50' }), 50);
    assert.equal(heapGrowingPercent(30, { TIERCEL_HEAP_GROWING_PERCENT: '0' }), 0);
    assert.equal(tuneHeap(30, { TIERCEL_HEAP_GROWING_PERCENT: '0' }), undefined);
  });

  it('names the variable and the value when it is not a percentage', () => {
    for (const bad of ['abc', '-1', '12.5', '100000', '--expose-gc']) {
      const r = heapGrowingPercent(30, { TIERCEL_HEAP_GROWING_PERCENT: bad });
      assert.equal(typeof r, 'string', bad);
      assert.match(r as string, /^TIERCEL_HEAP_GROWING_PERCENT: expected an integer percentage 0-1000, got /);
    }
  });

  it('tiercel serve refuses to start with a bad value, saying why', async () => {
    const r = await runServeToExit(['--dry-run'], { TIERCEL_HEAP_GROWING_PERCENT: 'lots' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiercel: TIERCEL_HEAP_GROWING_PERCENT: expected an integer percentage 0-1000, got "lots"/);
  });
});
