/** Injection tokens of the conversations service's own providers. */
export const CONVERSATIONS_CONFIG = Symbol('CONVERSATIONS_CONFIG');
export const OBJECT_STORE = Symbol('OBJECT_STORE');
