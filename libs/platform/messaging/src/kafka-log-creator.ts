import { logCreator, logLevel } from 'kafkajs';
import type { Logger } from '@mailbridge/platform-observability';

/** The kafkajs level that lets through what the pino logger would print (kafkajs skips work below it). */
export function kafkaLogLevelFor(logger: Logger): logLevel {
  const level = logger.levelVal;
  if (level <= 20) return logLevel.DEBUG;
  if (level <= 30) return logLevel.INFO;
  if (level <= 40) return logLevel.WARN;
  if (level <= 60) return logLevel.ERROR;
  return logLevel.NOTHING;
}

/** Sends kafkajs' own log lines through our pino logger (structured, with the correlation id), never the console. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { namespace, ...extra };
      // kafkajs logs every error response of the protocol at ERROR (a rebalance, a moved leader) and then handles
      // it itself: a warning, not an alert. Its own failures (crashes, retries exhausted) stay errors.
      const effective = level === logLevel.ERROR && namespace === 'Connection' ? logLevel.WARN : level;
      switch (effective) {
        case logLevel.ERROR:
          kafkaLogger.error(fields, message);
          break;
        case logLevel.WARN:
          kafkaLogger.warn(fields, message);
          break;
        case logLevel.INFO:
          kafkaLogger.info(fields, message);
          break;
        default:
          kafkaLogger.debug(fields, message);
      }
    };
}
