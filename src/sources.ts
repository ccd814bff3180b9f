/**
 * The event sources Tiercel ships, assembled into a field registry.
 */
import { k8sAuditSource } from './audit/source.js';
import { FieldRegistry } from './engine/fields.js';

/** Names of the sources that can be registered. */
export const SOURCE_NAMES = ['k8s_audit'] as const;

/** A registry with every source Tiercel provides. */
export function createRegistry(): FieldRegistry {
  return new FieldRegistry().register(k8sAuditSource);
}
