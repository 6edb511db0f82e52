import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsEmail, IsString, Matches, MaxLength } from 'class-validator';
import { EXCLUSION_DOMAIN_PATTERN, SYNC_EXCLUSION_LIMITS } from '@mailbridge/domain-mail';

/**
 * SYN-8: the fields of an exclusion list, validated and documented the same for a location's list (conversations) and
 * a connection's (identity-connections). The limits and the domain shape are domain-mail's.
 */
export function ExclusionAddresses(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: [String],
      example: ['doctor@clinic.example'],
      maxItems: SYNC_EXCLUSION_LIMITS.addresses,
      description: 'Whole addresses, matched case-insensitively (ADR-5)',
    }),
    IsArray(),
    ArrayMaxSize(SYNC_EXCLUSION_LIMITS.addresses),
    IsEmail(
      { allow_display_name: false, require_tld: false },
      { each: true, message: 'addresses must be email addresses' },
    ),
    MaxLength(320, { each: true }),
  );
}

export function ExclusionDomains(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: [String],
      example: ['bank.example'],
      maxItems: SYNC_EXCLUSION_LIMITS.domains,
      description:
        'Domains without `@`; a domain covers its subdomains (`bank.example` also `mail.bank.example`)',
    }),
    IsArray(),
    ArrayMaxSize(SYNC_EXCLUSION_LIMITS.domains),
    IsString({ each: true }),
    Matches(EXCLUSION_DOMAIN_PATTERN, {
      each: true,
      message: 'domains must be domain names like bank.example',
    }),
  );
}
