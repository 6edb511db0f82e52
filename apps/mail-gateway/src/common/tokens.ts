/** Injection tokens of mail-gateway's own infrastructure. */
export const OBJECT_STORE = Symbol('OBJECT_STORE');
/** This replica's identity in leases. */
export const REPLICA_ID = Symbol('REPLICA_ID');
