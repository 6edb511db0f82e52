import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_DETAILS_SCHEMA } from '@mailbridge/platform-runtime';

export class ErrorBodyDto {
  @ApiProperty({ example: 'contact_not_found', description: 'Stable machine-readable code' })
  code!: string;

  @ApiProperty({ example: 'Contact ct_jane does not exist in this location' })
  message!: string;

  @ApiPropertyOptional(ERROR_DETAILS_SCHEMA)
  details?: unknown;
}

/** The one error shape every route answers with: `{ error: { code, message, details? } }`, never a stack trace. */
export class ErrorDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}
