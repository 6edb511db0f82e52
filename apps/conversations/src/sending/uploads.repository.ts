import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { UploadEntity } from './upload.entity';

/** Every query is scoped by location: an upload id of another location is simply not found. */
@Injectable()
export class UploadsRepository {
  constructor(@InjectRepository(UploadEntity) private readonly repo: Repository<UploadEntity>) {}

  async insert(upload: UploadEntity): Promise<void> {
    await this.repo.insert(upload);
  }

  findMany(locationId: string, uploadIds: readonly string[]): Promise<UploadEntity[]> {
    if (uploadIds.length === 0) return Promise.resolve([]);
    return this.repo.findBy({ locationId, uploadId: In([...uploadIds]) });
  }
}
