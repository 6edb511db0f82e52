import { ApiProperty } from '@nestjs/swagger';

/** The error shape every route answers with. */
export class ErrorDto {
  @ApiProperty({
    example: { code: 'connection_not_found', message: 'There is no email connection' },
    description: '{ code, message, details? }',
  })
  error!: { code: string; message: string; details?: unknown };
}
