import { ProviderError } from '@mailbridge/domain-mail';

export type { ProviderErrorCode, ProviderErrorDetails } from '@mailbridge/domain-mail';

/** A Microsoft Graph / identity failure reduced to a provider error code at the edge. */
export class MicrosoftProviderError extends ProviderError {
  readonly provider = 'microsoft' as const;
}
