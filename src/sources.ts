/**
 * The event sources Tiercel ships, assembled into a field registry.
 */
import { k8sAuditSource } from './audit/source.js';
import { FieldRegistry } from './engine/fields.js';
import { syscallSource } from './syscall/source.js';

/** Names of the sources that can be registered. */
export const SOURCE_NAMES = ['k8s_audit', 'syscall'] as const;

/** A registry with every source Tiercel provides. */
export function createRegistry(): FieldRegistry {
  return new FieldRegistry().register(k8sAuditSource).register(syscallSource);
}
