import 'reflect-metadata';
import { runStandalone } from '@mailbridge/platform-runtime';
import { syncEngineService } from './service';

void runStandalone(syncEngineService);
