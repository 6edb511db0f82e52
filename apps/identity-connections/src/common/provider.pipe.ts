import { PipeTransform } from '@nestjs/common';
import type { ProviderName } from '@mailbridge/contracts';
import { AppError } from '@mailbridge/platform-runtime';

export const PROVIDERS: readonly ProviderName[] = ['google', 'microsoft'];

/** `{provider}` path segment: `google` or `microsoft`. */
export class ProviderPipe implements PipeTransform<string, ProviderName> {
  constructor(private readonly kind: 'validation' | 'not_found' = 'validation') {}

  transform(value: string): ProviderName {
    if ((PROVIDERS as readonly string[]).includes(value)) return value as ProviderName;
    throw new AppError(this.kind, 'unknown_provider', 'provider must be google or microsoft');
  }
}
