import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class ErrorBodyDto {
  @ApiProperty({ example: 'contact_not_found', description: 'Stable machine-readable code' })
  code!: string;

  @ApiProperty({ example: 'Contact ct_jane does not exist in this location' })
  message!: string;

  @ApiPropertyOptional({ description: 'Code-specific details, e.g. the failing fields or a limit' })
  details?: unknown;
}

/** The one error shape every route answers with: `{ error: { code, message, details? } }`, never a stack trace. */
export class ErrorDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}
