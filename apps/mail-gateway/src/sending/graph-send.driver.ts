import { Inject, Injectable } from '@nestjs/common';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import {
  GRAPH_INLINE_ATTACHMENT_LIMIT_BYTES,
  GraphMailApi,
  type GraphMessageSummary,
} from '@mailbridge/providers-microsoft';
import { OBJECT_STORE } from '../common/tokens';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { ProviderCallPolicy, type CallTarget } from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import { MAILBRIDGE_REF_HEADER } from '../sync/message-normalizer.service';
import { NotSentError, type SendCommand, type SendRouteDriver } from './send-command';
import type { SendLogEntity } from './send-log.entity';
import type { SentOutcome } from './send-log.repository';

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * Microsoft Graph: a draft (a new message, or `createReply` on the message replied to, SND-5), its attachments
 * (upload sessions from 3 MB), then `send`, with immutable ids throughout. The finished draft is recorded before
 * the final call, so a retry sends that same draft or finds it already sent (SND-6).
 */
@Injectable()
export class GraphSendDriver implements SendRouteDriver {
  constructor(
    private readonly graph: GraphMailApi,
    private readonly policy: ProviderCallPolicy,
    private readonly access: MailboxAccess,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  private target(command: SendCommand): CallTarget {
    if (command.route.kind !== 'mailbox') throw new Error('not a mailbox route');
    return this.access.forConnection(command.route.connectionId, command.route.mailboxKey, 'microsoft');
  }

  async findSent(command: SendCommand, log: SendLogEntity): Promise<SentOutcome | undefined> {
    const target = this.target(command);
    const draftId = log.providerDraftId;
    if (draftId) {
      try {
        const draft = await this.policy.run(target, { operation: 'messages.get', idempotent: true }, (t) =>
          this.graph.getMessage(t, draftId),
        );
        // Still a draft: it never went out; sending this same draft cannot duplicate anything.
        if (draft.isDraft) {
          await this.policy.run(target, { operation: 'messages.send', idempotent: false }, (t) =>
            this.graph.sendDraft(t, draftId),
          );
        }
        return {
          providerMessageId: draft.id,
          providerThreadId: draft.conversationId,
          providerRfcMessageId: draft.internetMessageId,
        };
      } catch (error) {
        if (asProviderFailure(error)?.code !== 'not_found') throw error;
      }
    }
    const internetMessageId = log.providerRfcMessageId;
    if (!internetMessageId) return undefined;
    const found = await this.policy.run(target, { operation: 'messages.list', idempotent: true }, (t) =>
      this.graph.findByInternetMessageId(t, internetMessageId),
    );
    const sent = found.find((m) => !m.isDraft);
    return sent
      ? {
          providerMessageId: sent.id,
          providerThreadId: sent.conversationId,
          providerRfcMessageId: sent.internetMessageId,
        }
      : undefined;
  }

  async send(
    command: SendCommand,
    _log: SendLogEntity,
    onDraftReady: (draftId: string, rfcMessageId: string) => Promise<void>,
  ): Promise<SentOutcome> {
    const target = this.target(command);
    let draft: GraphMessageSummary;
    try {
      draft = await this.policy.run(target, { operation: 'messages.createDraft', idempotent: false }, (t) =>
        this.graph.createDraft(
          t,
          {
            subject: command.subject,
            body:
              command.html !== null
                ? { contentType: 'html', content: command.html }
                : { contentType: 'text', content: command.text ?? '' },
            to: command.to,
            cc: command.cc,
            bcc: command.bcc,
            // Graph takes only x- headers; Message-ID and the thread headers come from Exchange (createReply).
            headers: { [MAILBRIDGE_REF_HEADER]: command.sendId },
            // SND-7: a verified proxy address as From (checked by SendEmailUseCase before this call).
            ...(command.route.kind === 'mailbox' &&
            command.from &&
            command.from.address.toLowerCase() !== command.route.fromAddress.toLowerCase()
              ? { from: command.from }
              : {}),
          },
          command.replyToProviderMessageId,
        ),
      );
      for (const a of command.attachments) {
        if (!a.objectKey) continue;
        const key = a.objectKey;
        const file = {
          name: a.filename,
          contentType: a.contentType,
          contentId: a.contentId,
          inline: a.inline,
        };
        if (a.size >= GRAPH_INLINE_ATTACHMENT_LIMIT_BYTES) {
          await this.policy.run(target, { operation: 'attachments.upload', idempotent: false }, async (t) =>
            this.graph.uploadLargeAttachment(t, draft.id, {
              ...file,
              size: a.size,
              content: await this.store.get(key),
            }),
          );
        } else {
          const content = await readAll(await this.store.get(key));
          await this.policy.run(target, { operation: 'attachments.add', idempotent: false }, (t) =>
            this.graph.addAttachment(t, draft.id, { ...file, content }),
          );
        }
      }
      await onDraftReady(draft.id, draft.internetMessageId);
    } catch (error) {
      // Nothing was sent: at worst an unfinished draft stays in Drafts.
      throw new NotSentError(error);
    }
    await this.policy.run(target, { operation: 'messages.send', idempotent: false }, (t) =>
      this.graph.sendDraft(t, draft.id),
    );
    return {
      providerMessageId: draft.id,
      providerThreadId: draft.conversationId,
      providerRfcMessageId: draft.internetMessageId,
    };
  }
}
