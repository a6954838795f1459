import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { startApp } from './app.js';
import { SchemaMismatchError } from './clickhouse/schema/table-spec.js';
import { ConfigError, loadAppConfig } from './config/app-config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAppConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }

  const logger = new Logger('Main');
  // Every promise is awaited or owned (ESLint's no-floating-promises); should one slip through
  // anyway, it is a bug to log, not a reason to drop every connection of this process.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  const running = await startApp(config).catch((error: unknown) => {
    if (!(error instanceof SchemaMismatchError)) throw error;
    console.error(error.message);
    process.exit(78); // EX_CONFIG: the database, like a setting, needs an operator
  });
  if (config.jwt.secretWasGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when the process restarts');
  }
  if (config.ignoredAdminEmailVariables.length > 0) {
    logger.warn(
      { variables: config.ignoredAdminEmailVariables },
      `${config.ignoredAdminEmailVariables.join(' and ')} ignored: listed emails are no longer made administrators; grant admin rights with \`npm run admin -- grant <email>\` on the server`,
    );
  }
  logger.log({ rest: running.restUrl, mcp: `${running.mcpUrl}/messages` }, 'listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ signal }, 'shutting down');
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  console.error('Failed to start:', error);
  process.exit(1);
});
