/** Injection tokens of what the platform provides to every service module. */
export const LOGGER = Symbol('LOGGER');
export const METRICS = Symbol('METRICS');
export const EVENT_BUS = Symbol('EVENT_BUS');
export const UNIT_OF_WORK = Symbol('UNIT_OF_WORK');
export const OUTBOX_RELAY = Symbol('OUTBOX_RELAY');
export const RETENTION_PRUNER = Symbol('RETENTION_PRUNER');
export const JWT_VERIFIER = Symbol('JWT_VERIFIER');
export const INTERNAL_API_TOKEN = Symbol('INTERNAL_API_TOKEN');
export const SERVICE_HOST = Symbol('SERVICE_HOST');
export const PLATFORM_GAUGES = Symbol('PLATFORM_GAUGES');
