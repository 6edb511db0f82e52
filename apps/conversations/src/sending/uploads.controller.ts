import { Controller, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { Principal, type CrmPrincipal } from '@mailbridge/platform-runtime';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { CONVERSATIONS_CONFIG } from '../common/tokens';
import type { ConversationsConfig } from '../conversations.config';
import { UploadDto } from './dto/send-email.dto';
import { withMultipartFile } from './multipart-file.reader';
import { UploadAttachmentUseCase } from './upload-attachment.use-case';

@ApiTags('sending')
@CrmController()
@Controller('v1/locations/:locationId/uploads')
export class UploadsController {
  constructor(
    private readonly uploadAttachment: UploadAttachmentUseCase,
    @Inject(CONVERSATIONS_CONFIG) private readonly config: ConversationsConfig,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Upload an attachment for a later send',
    description:
      'multipart/form-data with one field `file`, streamed into the object store. The type is checked by content ' +
      '(ATT-2) and the size against UPLOAD_MAX_BYTES (ATT-1) before anything is kept.',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: { file: { type: 'string', format: 'binary', description: 'The file; its name is kept' } },
    },
  })
  @ApiCreatedResponse({ type: UploadDto })
  @ApiErrors({
    400: '`multipart_required`, `invalid_multipart`, `upload_file_missing`, `invalid_filename`',
    422: '`attachment_too_large` (over UPLOAD_MAX_BYTES), `attachment_type_unsupported`',
  })
  async upload(
    @Param('locationId') locationId: string,
    @Principal() principal: CrmPrincipal,
    @Req() req: Request,
  ): Promise<UploadDto> {
    const upload = await withMultipartFile(req, this.config.UPLOAD_MAX_BYTES, (file) =>
      this.uploadAttachment.execute({
        locationId,
        userId: principal.userId,
        filename: file.filename,
        declaredContentType: file.mimeType,
        content: file.stream,
      }),
    );
    return {
      uploadId: upload.uploadId,
      filename: upload.filename,
      size: upload.size,
      contentType: upload.contentType,
    };
  }
}
