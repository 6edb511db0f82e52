// Pure mail building blocks shared by the services: addresses (ADR-2, ADR-5), attachment type and size rules
// (ATT-1, ATT-2), the send rules (SND-1..SND-4: route choice and sending cap), RFC 5322 threading helpers, forward detection (ADR-4), and the canonical message with its
// MIME parser and composer. No framework, no I/O beyond what is handed in.
export * from './address/email-address';
export * from './attachment/attachment-type.detector';
export * from './attachment/attachment.policy';
export * from './attachment/stream-prefix.util';
export * from './sending/send-route.rule';
export * from './sending/sending-cap.rule';
export * from './sending/send-as.rule';
export * from './sending/send-as.answer';
export * from './threading/message-id.util';
export * from './threading/message-identity.util';
export * from './threading/subject.util';
export * from './threading/forward.util';
export * from './mime/canonical-message.types';
export * from './mime/header-block.util';
export * from './mime/mime.parser';
export * from './mime/mime.composer';
export * from './provider/provider-error';
export * from './classification/message-classification';
export * from './exclusion/sync-exclusion.rule';
export * from './state/mailbox-state.rule';
