// Graph mail folder routes: the well-known folders, one folder, its messages and its delta query.
import type { FolderName, GraphMailbox } from './graph-mailbox';
import { deltaMessages, listMessages } from './graph-message-list';
import { type GraphRouteKit, type GraphRouter, folderOf, json, message, need, READ } from './graph-route-kit';
import { graphErrors } from './graph-errors';

export function registerFolderRoutes(router: GraphRouter, kit: GraphRouteKit): void {
  const { base, messageResponse } = kit;
  router.add('GET', '/me/mailFolders', (call) => {
    need(call.token, READ);
    json(call.ctx, {
      '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/mailFolders`,
      value: call.mailbox.folders.map((f) => folderJson(call.mailbox, f.name)),
    });
  });
  router.add('GET', '/me/mailFolders/:folder', (call) => {
    need(call.token, READ);
    json(call.ctx, folderJson(call.mailbox, folderOf(call, call.ctx.params.folder)));
  });
  router.add(
    'GET',
    '/me/mailFolders/:folder/messages',
    (call) => (need(call.token, READ), listMessages(kit, call, folderOf(call, call.ctx.params.folder))),
  );
  router.add(
    'GET',
    '/me/mailFolders/:folder/messages/delta',
    (call) => (need(call.token, READ), deltaMessages(kit, call, folderOf(call, call.ctx.params.folder))),
  );
  router.add('GET', '/me/mailFolders/:folder/messages/:id', (call) => {
    need(call.token, READ);
    const m = message(call, call.ctx.params.id);
    if (m.folder !== folderOf(call, call.ctx.params.folder)) throw graphErrors.notFound();
    messageResponse(call, m);
  });
}

function folderJson(mailbox: GraphMailbox, name: FolderName) {
  const f = mailbox.folders.find((x) => x.name === name);
  const messages = mailbox.inFolder(name);
  return {
    id: f?.id,
    displayName: f?.displayName,
    parentFolderId: mailbox.folders[0].id.replace(/AAA=$/, 'AAE='),
    childFolderCount: 0,
    unreadItemCount: messages.filter((m) => !m.isRead).length,
    totalItemCount: messages.length,
    sizeInBytes: messages.reduce((s, m) => s + (m.raw?.length ?? 0), 0),
    isHidden: false,
  };
}
