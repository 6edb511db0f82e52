import { Body, Controller, Delete, Get, HttpCode, Param, Put, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiCreatedResponse,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CrmAuthGuard } from '@mailbridge/platform-runtime';
import { ContactEntity } from './contact.entity';
import { ContactsService } from './contacts.service';
import { ContactDto, ContactListDto, ErrorDto, UpsertContactDto } from './dto/contact.dto';

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
@ApiBearerAuth('crm')
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'Missing or invalid bearer token' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'The token is for another location' })
@UseGuards(CrmAuthGuard)
@Controller('v1/locations/:locationId/contacts')
export class ContactsController {
  constructor(private readonly contacts: ContactsService) {}

  @Put(':contactId')
  @ApiOkResponse({ type: ContactDto, description: 'Contact updated (or unchanged)' })
  @ApiCreatedResponse({ type: ContactDto, description: 'Contact created' })
  @ApiBadRequestResponse({ type: ErrorDto })
  async upsert(
    @Param('locationId') locationId: string,
    @Param('contactId') contactId: string,
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
  @ApiNotFoundResponse({ type: ErrorDto })
  async remove(
    @Param('locationId') locationId: string,
    @Param('contactId') contactId: string,
  ): Promise<void> {
    await this.contacts.remove(locationId, contactId);
  }

  @Get(':contactId')
  @ApiOkResponse({ type: ContactDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  async get(
    @Param('locationId') locationId: string,
    @Param('contactId') contactId: string,
  ): Promise<ContactDto> {
    return toDto(await this.contacts.get(locationId, contactId));
  }

  @Get()
  @ApiQuery({ name: 'email', required: false, description: 'Exact address, case-insensitive (ADR-5)' })
  @ApiOkResponse({ type: ContactListDto, description: 'Oldest first (ADR-3), at most 100' })
  async find(
    @Param('locationId') locationId: string,
    @Query('email') email?: string,
  ): Promise<ContactListDto> {
    return { items: (await this.contacts.find(locationId, email)).map(toDto) };
  }
}
