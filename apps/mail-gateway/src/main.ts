import 'reflect-metadata';
import { runStandalone } from '@mailbridge/platform-runtime';
import { mailGatewayService } from './service';

void runStandalone(mailGatewayService);
