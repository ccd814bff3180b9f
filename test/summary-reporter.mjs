// node:test reporter that counts outcomes and writes them to the file named
// by TIERCEL_TEST_SUMMARY, so test/run.mjs can print one summary line and
// decide the exit status (CI treats skips as failures).
import { writeFileSync } from 'node:fs';

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, todo: 0, skips: [], failures: [] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    if (data.details?.type === 'suite') continue;
    if (event.type === 'test:fail') {
      counts.failed++;
      counts.failures.push(`${data.file ?? ''}: ${data.name}`);
    } else if (data.skip !== undefined) {
      counts.skipped++;
      counts.skips.push(`${data.name}: ${typeof data.skip === 'string' ? data.skip : 'skipped'}`);
    } else if (data.todo !== undefined) {
      counts.todo++;
    } else {
      counts.passed++;
    }
  }
  if (process.env.TIERCEL_TEST_SUMMARY) writeFileSync(process.env.TIERCEL_TEST_SUMMARY, JSON.stringify(counts));
  yield '';
}
