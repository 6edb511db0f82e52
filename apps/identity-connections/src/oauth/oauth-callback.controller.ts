import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { ApiPlatformErrors } from '@mailbridge/platform-runtime';
import type { Response } from 'express';
import type { ProviderName } from '@mailbridge/contracts';
import { ProviderPipe } from '../common/provider.pipe';
import { ConnectMailboxUseCase } from './connect-mailbox.use-case';

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Where the providers send the browser back. Public: the signed, single-use state is the credential. */
@ApiTags('oauth')
@Controller('v1/oauth')
export class OAuthCallbackController {
  constructor(private readonly connect: ConnectMailboxUseCase) {}

  @Get(':provider/callback')
  @ApiOperation({
    summary:
      'OAuth redirect target: verifies state, exchanges the code, stores the grant, redirects to returnUrl',
  })
  @ApiParam({ name: 'provider', enum: ['google', 'microsoft'] })
  @ApiQuery({ name: 'code', required: false })
  @ApiQuery({ name: 'state', required: true })
  @ApiQuery({ name: 'error', required: false, description: 'Set by the provider when consent was not given' })
  @ApiQuery({
    name: 'error_description',
    required: false,
    description: 'Microsoft: AADSTS65001 here means the tenant requires admin consent (CON-7)',
  })
  @ApiFoundResponse({
    description:
      'To returnUrl with ?status=connected, ?status=error&reason=<code>[&providerError=<code>], or (CON-7, a ' +
      'Microsoft tenant where only an administrator may consent) ?status=admin_consent_required' +
      '&reason=admin_consent_required&adminConsentUrl=<the tenant admin-consent URL>',
    content: { 'text/plain': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
  })
  @ApiPlatformErrors({ 404: '`not_found`: an unknown provider' })
  async callback(
    @Param('provider', new ProviderPipe('not_found')) provider: ProviderName,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ): Promise<void> {
    const target = await this.connect.complete(provider, {
      code: text(query.code),
      state: text(query.state),
      error: text(query.error),
      errorDescription: text(query.error_description),
    });
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, target);
  }

  @Get('result')
  @ApiOperation({ summary: 'Small page for outcomes that have no trusted return URL (e.g. a forged state)' })
  @ApiOkResponse({ description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiBadRequestResponse({
    description: 'HTML: the connection failed (status is not `connected`)',
    content: { 'text/html': { schema: { type: 'string' } } },
  })
  result(@Query('status') status: unknown, @Query('reason') reason: unknown, @Res() res: Response): void {
    const ok = status === 'connected';
    const why = escapeHtml(text(reason)?.slice(0, 64) ?? 'unknown');
    res
      .status(ok ? 200 : 400)
      .setHeader('Content-Security-Policy', "default-src 'none'")
      .setHeader('Cache-Control', 'no-store')
      .type('html')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>Mailbox connection</title></head><body>` +
          (ok
            ? '<h1>Mailbox connected</h1><p>You can close this window.</p>'
            : `<h1>The mailbox was not connected</h1><p>Reason: <code>${why}</code>. Start again from the CRM.</p>`) +
          '</body></html>',
      );
  }
}
