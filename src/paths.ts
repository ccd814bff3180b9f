/**
 * Files that ship with Tiercel, located relative to the package root so the
 * CLI works from a checkout, from dist/, and from an installed package.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'rules'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

export const PACKAGE_ROOT = findPackageRoot();

/** Tiercel's default rules for each source. */
export const DEFAULT_RULES: Readonly<Record<string, string>> = {
  k8s_audit: join(PACKAGE_ROOT, 'rules', 'k8s_audit_rules.yaml'),
  syscall: join(PACKAGE_ROOT, 'rules', 'syscall_rules.yaml'),
};

/** The bundled sample of audit events that `npm start` replays. */
export const SAMPLE_AUDIT_LOG = join(PACKAGE_ROOT, 'samples', 'audit', 'cluster-day.jsonl');
