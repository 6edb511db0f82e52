import { Inject, Injectable } from '@nestjs/common';
import { sendRefusedV1, sendRequestedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { ConnectionProjectionRepository } from '../connections/connection-projection.repository';
import { IdentityConnectionsClient, mergeConnections } from '../connections/identity-connections.client';
import type { BindingKeyValue, ConnectionView } from '../decisions/decision.types';
import { bindingIdFor } from '../decisions/ids';
import {
  EmailRequest,
  RoutingPolicy,
  buildSendCommand,
  replyKeys,
  replyThreading,
  routeEmailRequest,
} from '../decisions/route-email-request';
import { messageKey, threadKey } from '../decisions/thread-keys';
import { ObserveMessageUseCase } from '../inbound/observe-message.use-case';
import { SYNC_ENGINE_CONFIG, type SyncEngineConfig } from '../sync-engine.config';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { CrmSendRepository } from './crm-send.repository';

/**
 * A CRM email request → a send command (or a refusal) exactly once per CRM message (SND-6). A send through a mailbox
 * binds its thread at once (SYN-1), keyed by the Message-ID generated here, so the Sent copy and the contact's reply
 * are recognised even before mail-gateway reports the send. A reply moves its thread to this location at once (SYN-4).
 */
@Injectable()
export class RouteEmailUseCase {
  private readonly policy: RoutingPolicy;

  constructor(
    private readonly sends: CrmSendRepository,
    private readonly connections: ConnectionProjectionRepository,
    private readonly identity: IdentityConnectionsClient,
    private readonly bindings: ThreadBindingRepository,
    private readonly observe: ObserveMessageUseCase,
    @Inject(SYNC_ENGINE_CONFIG) config: SyncEngineConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.policy = {
      attachmentLimits: {
        ...(config.ATTACHMENT_LIMIT_GOOGLE_BYTES ? { google: config.ATTACHMENT_LIMIT_GOOGLE_BYTES } : {}),
        ...(config.ATTACHMENT_LIMIT_MICROSOFT_BYTES
          ? { microsoft: config.ATTACHMENT_LIMIT_MICROSOFT_BYTES }
          : {}),
      },
      locationProviderAttachmentLimitBytes: config.ATTACHMENT_LIMIT_LOCATION_PROVIDER_BYTES,
      messageIdFallbackDomain: config.MESSAGE_ID_FALLBACK_DOMAIN,
    };
  }

  /**
   * SND-1: the owner's current answer, because the CRM may already show a connect or disconnect the projection has not
   * taken in yet (another topic). Asked before the transaction: the embedded database runs one transaction at a time,
   * and identity-connections needs it to answer.
   */
  currentConnections(request: EmailRequest): Promise<ConnectionView[] | null> {
    return this.identity.forUser(request.locationId, request.userId);
  }

  /** `current`: what `currentConnections` answered (null: the projection alone). */
  async execute(
    tx: TransactionContext,
    request: EmailRequest,
    current: readonly ConnectionView[] | null,
  ): Promise<void> {
    const db = tx.manager;
    if (await this.sends.find(db, request.messageId)) {
      this.logger.info(
        { sendId: request.messageId, rule: 'SND-6' },
        'email request already routed: repeat ignored',
      );
      return;
    }
    const { connections, changed } = mergeConnections(
      await this.connections.forUser(db, request.locationId, request.userId),
      current,
    );
    const routed = routeEmailRequest(request, connections, this.policy);
    const decision = changed.length
      ? {
          ...routed,
          trace: [
            `SND-1: identity-connections is ahead of the connection events (${changed.join(', ')})`,
            ...routed.trace,
          ],
        }
      : routed;
    const base = {
      sendId: request.messageId,
      locationId: request.locationId,
      userId: request.userId,
      contactId: request.contactId,
      conversationId: request.conversationId,
      kind: request.kind,
      requestedAt: request.requestedAt,
    };

    if (decision.outcome === 'refuse') {
      await this.sends.insert(db, {
        ...base,
        status: 'refused',
        rule: decision.rule,
        route: decision.route,
        connectionId: decision.route?.kind === 'mailbox' ? decision.route.connectionId : null,
        mailboxKey: null,
        rfcMessageId: null,
        bindingId: null,
        createdBinding: false,
        replyKeys: [],
        refusalCode: decision.code,
        refusalMessage: decision.message,
        trace: decision.trace,
      });
      tx.emit(sendRefusedV1, {
        ...base,
        route: decision.route,
        code: decision.code,
        message: decision.message.slice(0, 2000),
        failedAt: new Date().toISOString(),
      });
      this.logger.info(
        { sendId: request.messageId, code: decision.code, rule: decision.rule },
        'email request refused',
      );
      return;
    }

    const { route, rfcMessageId } = decision;
    let bindingId: string | null = null;
    let createdBinding = false;
    let thread = { providerThreadId: null as string | null, providerMessageId: null as string | null };
    const keysOfReply = replyKeys(request.replyTo);
    const added: Array<{ mailboxKey: string; key: string }> = [];
    let endedBindingIds: string[] = [];
    if (route.kind === 'mailbox') {
      const mailboxKey = route.mailboxKey;
      await this.bindings.lockMailboxes(db, [mailboxKey]);
      const found = await this.bindings.findByKeys(db, [mailboxKey], keysOfReply);
      thread = replyThreading(
        request.replyTo,
        await this.bindings.keysOf(
          db,
          found.bindings.map((b) => b.bindingId),
        ),
      );
      const own = found.bindings.find(
        (b) =>
          b.status === 'active' &&
          b.locationId === request.locationId &&
          b.conversationId === request.conversationId &&
          b.connectionId === route.connectionId,
      );
      const keys: BindingKeyValue[] = [{ key: messageKey(rfcMessageId), providerMessageId: null }];
      if (own) {
        bindingId = own.bindingId;
        await this.bindings.save(db, [], [{ bindingId, mailboxKey, keys }]);
      } else {
        // SYN-1: a new synced thread; a reply from the CRM also takes the thread it answers (SND-5).
        if (thread.providerThreadId)
          keys.push({ key: threadKey(thread.providerThreadId), providerMessageId: null });
        if (request.replyTo?.rfcMessageId)
          keys.push({
            key: messageKey(request.replyTo.rfcMessageId),
            providerMessageId: thread.providerMessageId,
          });
        bindingId = bindingIdFor(
          mailboxKey,
          request.locationId,
          request.conversationId,
          `send:${request.messageId}`,
        );
        createdBinding = true;
        await this.bindings.save(db, [
          {
            bindingId,
            mailboxKey,
            locationId: request.locationId,
            connectionId: route.connectionId,
            userId: request.userId,
            contactId: request.contactId,
            conversationId: request.conversationId,
            originRule: 'SYN-1',
            keys,
          },
        ]);
      }
      added.push(...keys.map((k) => ({ mailboxKey, key: k.key })));
      // SYN-4: the user answers this thread from this location now; the contact's next message may be observed before
      // the send result, so the thread leaves the other locations here (given back if the send fails).
      endedBindingIds = await this.bindings.endElsewhere(
        db,
        mailboxKey,
        [...new Set([...keys.map((k) => k.key), ...keysOfReply])],
        request.locationId,
      );
      if (endedBindingIds.length > 0) {
        this.logger.info(
          {
            sendId: request.messageId,
            locationId: request.locationId,
            endedBindings: endedBindingIds,
            rule: 'SYN-4',
          },
          'the user replies from this location: the thread is unbound elsewhere',
        );
      }
    }

    await this.sends.insert(db, {
      ...base,
      status: 'requested',
      rule: decision.rule,
      route,
      connectionId: route.kind === 'mailbox' ? route.connectionId : null,
      mailboxKey: route.kind === 'mailbox' ? route.mailboxKey : null,
      rfcMessageId,
      bindingId,
      createdBinding,
      endedBindingIds,
      replyKeys: [
        ...new Set([
          ...keysOfReply,
          ...(thread.providerThreadId ? [threadKey(thread.providerThreadId)] : []),
        ]),
      ],
      trace: [
        ...decision.trace,
        ...(bindingId ? [`SYN-1: thread binding ${bindingId}${createdBinding ? ' created' : ''}`] : []),
        ...(endedBindingIds.length ? [`SYN-4: unbound elsewhere: ${endedBindingIds.join(', ')}`] : []),
      ],
    });
    tx.emit(sendRequestedV1, buildSendCommand(request, route, rfcMessageId, thread));
    this.logger.info(
      { sendId: request.messageId, route: route.kind, rule: decision.rule, bindingId, rfcMessageId },
      'email request routed',
    );
    await this.observe.replayParked(tx, added);
  }
}
