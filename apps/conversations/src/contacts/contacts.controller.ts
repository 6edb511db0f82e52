import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, CrmController } from '../common/crm-route.decorator';
import { crmIdParam } from '../common/params';
import { ContactEntity } from './contact.entity';
import { ContactsService } from './contacts.service';
import { ContactDto, ContactListDto, ContactQueryDto, UpsertContactDto } from './dto/contact.dto';

const toDto = (c: ContactEntity): ContactDto => ({
  locationId: c.locationId,
  contactId: c.contactId,
  email: c.email,
  name: c.name,
  assignedUserId: c.assignedUserId,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
  revision: c.revision,
});

@ApiTags('contacts')
@CrmController()
@Controller('v1/locations/:locationId/contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Put(':contactId')
  @ApiOkResponse({ type: ContactDto, description: 'Contact updated (or unchanged)' })
  @ApiCreatedResponse({ type: ContactDto, description: 'Contact created' })
  @ApiErrors({ 400: '`invalid_request`, `invalid_json`' })
  async upsert(
    @Param('locationId') locationId: string,
    @Param('contactId', crmIdParam('contactId')) contactId: string,
    @Body() body: UpsertContactDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ContactDto> {
    const { contact, created } = await this.contacts.upsert({ locationId, contactId, ...body });
    res.status(created ? 201 : 200);
    return toDto(contact);
  }

  @Delete(':contactId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Contact removed; recorded messages stay' })
  @ApiErrors({ 400: '`invalid_request`', 404: '`contact_not_found`' })
  async remove(
    @Param('locationId') locationId: string,
    @Param('contactId', crmIdParam('contactId')) contactId: string,
  ): Promise<void> {
    await this.contacts.remove(locationId, contactId);
  }

  @Get(':contactId')
  @ApiOkResponse({ type: ContactDto })
  @ApiErrors({ 400: '`invalid_request`', 404: '`contact_not_found`' })
  async get(
    @Param('locationId') locationId: string,
    @Param('contactId', crmIdParam('contactId')) contactId: string,
  ): Promise<ContactDto> {
    return toDto(await this.contacts.get(locationId, contactId));
  }

  @Get()
  @ApiOkResponse({ type: ContactListDto, description: 'Oldest first (ADR-3), at most 100' })
  @ApiErrors({ 400: '`invalid_request`' })
  async find(@Param('locationId') locationId: string, @Query() q: ContactQueryDto): Promise<ContactListDto> {
    return { items: (await this.contacts.find(locationId, q.email)).map(toDto) };
  }
}
