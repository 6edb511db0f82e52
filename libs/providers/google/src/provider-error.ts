import { ProviderError } from '@mailbridge/domain-mail';

export type { ProviderErrorCode, ProviderErrorDetails } from '@mailbridge/domain-mail';

/** A Google (Gmail, OAuth) failure reduced to a provider error code at the edge. */
export class GoogleProviderError extends ProviderError {
  readonly provider = 'google' as const;
}
