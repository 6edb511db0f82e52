import 'reflect-metadata';
import { runStandalone } from '@mailbridge/platform-runtime';
import { conversationsService } from './service';

void runStandalone(conversationsService);
