import { ContactProjection1732400200000 } from './1732400200000-contact-projection';
import { SyncState1732400300000 } from './1732400300000-sync-state';
import { BindingOriginAt1732400400000 } from './1732400400000-binding-origin-at';
import { ThreadKeyFirstAt1732400500000 } from './1732400500000-thread-key-first-at';
import { ParkedMessageAge1732400600000 } from './1732400600000-parked-message-age';
import { SendEndedBindings1732400700000 } from './1732400700000-send-ended-bindings';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [
  ContactProjection1732400200000,
  SyncState1732400300000,
  BindingOriginAt1732400400000,
  ThreadKeyFirstAt1732400500000,
  ParkedMessageAge1732400600000,
  SendEndedBindings1732400700000,
];
