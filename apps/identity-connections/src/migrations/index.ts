import { Connections1732500000000 } from './1732500000000-connections';
import { ConnectionAudit1732500100000 } from './1732500100000-connection-audit';
import { ConnectionWarnings1732500200000 } from './1732500200000-connection-warnings';
import { ConnectionSyncExclusions1732500250000 } from './1732500250000-connection-sync-exclusions';
import { ConnectionSendAs1732500300000 } from './1732500300000-connection-send-as';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [
  Connections1732500000000,
  ConnectionAudit1732500100000,
  ConnectionWarnings1732500200000,
  ConnectionSyncExclusions1732500250000,
  ConnectionSendAs1732500300000,
];
