import { Module } from '@nestjs/common';
import { ThreadBindingRepository } from './thread-binding.repository';

/** Thread bindings and their keys: what makes a thread "synced". */
@Module({ providers: [ThreadBindingRepository], exports: [ThreadBindingRepository] })
export class ThreadsModule {}
