import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';

/** `details` of an error: an object (e.g. a limit) or a list (e.g. the failing fields of a 400). */
export const ERROR_DETAILS_SCHEMA = {
  description: 'Code-specific details: an object (e.g. a limit) or a list (e.g. the failing fields of a 400)',
  oneOf: [
    { type: 'object', additionalProperties: true },
    { type: 'array', items: {} },
  ],
};

export class PlatformErrorBodyDto {
  @ApiProperty({ example: 'unauthorized', description: 'Stable machine-readable code' })
  code!: string;

  @ApiProperty({ example: 'A valid service credential is required' })
  message!: string;

  @ApiPropertyOptional(ERROR_DETAILS_SCHEMA)
  details?: unknown;
}

/** The error shape of the platform's own routes (internal routes, webhooks): `{ error: { code, message, details? } }`. */
export class PlatformErrorDto {
  @ApiProperty({ type: PlatformErrorBodyDto })
  error!: PlatformErrorBodyDto;
}

const REASONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid credential',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  422: 'Refused',
  429: 'Too many requests',
  503: 'A dependency is unavailable',
};

/** Documents error responses in the platform's error shape, e.g. ApiPlatformErrors({ 401: '...', 404: '...' }). */
export function ApiPlatformErrors(errors: Record<number, string>) {
  return applyDecorators(
    ApiExtraModels(PlatformErrorDto),
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({
        status: Number(status),
        description: description || REASONS[Number(status)],
        content: { 'application/json': { schema: { $ref: getSchemaPath(PlatformErrorDto) } } },
      }),
    ),
  );
}

/** A JSON object whose fields are listed in the description (internal/operator routes). */
export function jsonObject(properties: Record<string, object> = {}, required: string[] = []) {
  return { type: 'object', additionalProperties: true, properties, ...(required.length ? { required } : {}) };
}
