import 'reflect-metadata';
import { runStandalone } from '@mailbridge/platform-runtime';
import { identityConnectionsService } from './service';

void runStandalone(identityConnectionsService);
