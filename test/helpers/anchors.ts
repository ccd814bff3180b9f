/**
 * Access to the upstream Falco data kept beside the project in
 * ../shared/anchors (rules files, Falco's regression suites). Tests read it
 * in place; nothing from there is copied into the project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const ANCHORS = resolve(process.env.TIERCEL_ANCHORS ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'anchors'));

export const anchorsAvailable = existsSync(ANCHORS);
export const anchorsMissingReason = `Falco anchors not found at ${ANCHORS} (set TIERCEL_ANCHORS)`;

export function anchorPath(...parts: string[]): string {
  return join(ANCHORS, ...parts);
}

/** Reads one of Falco's avocado test lists (`trace_files: !mux` + cases). */
export function readFalcoCases(path: string): Record<string, Record<string, unknown>> {
  const text = readFileSync(path, 'utf8').replace(/!mux/g, '');
  const doc = parse(text) as { trace_files: Record<string, Record<string, unknown>> };
  return doc.trace_files;
}
