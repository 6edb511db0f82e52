export * from './expect-eventually';
export * from './postgres';
export * from './kafka-mock-cluster';
export * from './processes';
export * from './duplicate-json-keys';
export * from './tcp-proxy';
export * from './openapi-conformance';
export * from './free-ports';
