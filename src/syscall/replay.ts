/**
 * Replays a capture file: seeds the state from the capture's snapshot,
 * resolves names with the capture's users and groups (never the replaying
 * machine's), serves its container metadata, and yields each record as an
 * event after the state update.
 */
import { CaptureReader } from './capture.js';
import { CAPTURE_META, CaptureMetaApplier } from './capture-meta.js';
import type { SyscallEvent } from './event.js';
import { SyscallState } from './state/index.js';
import { StaticMetadataProvider } from './state/metadata.js';
import { UserDatabase } from './state/users.js';

export interface CaptureReplay {
  readonly reader: CaptureReader;
  readonly state: SyscallState;
  /**
   * Calls `onEvent` for every event in file order, each right after its
   * state update and before the next record is applied: fields read the
   * live state, so an event must be evaluated before the state moves on.
   */
  run(onEvent: (evt: SyscallEvent) => void): Promise<number>;
}

export async function openCaptureReplay(path: string): Promise<CaptureReplay> {
  const reader = await CaptureReader.open(path);
  const host = reader.header.host;
  const state = new SyscallState({
    users: new UserDatabase({ users: [...host.users], groups: [...host.groups], containers: host.containerUsers ?? {} }),
    metadata: StaticMetadataProvider.fromObject({ containers: reader.header.containers ?? [] }, `${path} (capture header)`),
    hostname: host.hostname,
  });
  state.seed(host);
  const meta = new CaptureMetaApplier(state.users);
  return {
    reader,
    state,
    async run(onEvent) {
      let n = 0;
      for await (const batch of reader.batches()) {
        for (let i = 0; i < batch.length; i++) {
          const rec = batch[i]!;
          // What the capturing state learned (accounts) is state, not an event.
          if (rec.type === CAPTURE_META) {
            meta.apply(rec);
            continue;
          }
          onEvent(state.apply(rec));
          n++;
        }
      }
      state.flush();
      return n;
    },
  };
}
