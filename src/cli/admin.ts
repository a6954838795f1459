import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { SchemaMismatchError } from '../clickhouse/schema/table-spec.js';
import { ConfigError, loadAppConfig } from '../config/app-config.js';
import { AdminCliModule } from './admin-cli.module.js';
import { AdminCommand, AmbiguousAccountError, UnknownAccountError } from './admin-command.service.js';

/**
 * `npm run admin -- grant <email> | revoke <email> | list`, run on the server with the app's
 * environment (the same CLICKHOUSE_* settings). Exit codes: 0 done (or nothing to change, or --help),
 * 1 an email no account or several accounts have (or a failure), 64 bad usage, 78 bad configuration
 * or database schema (as the app's own start).
 */
const USAGE = 'usage: npm run admin -- grant <email> | revoke <email> | list';
const EX_USAGE = 64;
const EX_CONFIG = 78;

type Request = { verb: 'list' } | { verb: 'grant' | 'revoke'; email: string };

const HELP_FLAGS = ['--help', '-h'];

/** The command asked for, 'help' for the usage, undefined for bad usage. */
function parse(args: string[]): Request | 'help' | undefined {
  if (args.length === 1 && HELP_FLAGS.includes(args[0])) return 'help';
  // No email starts with a dash: an option (perhaps one this command does not have) is no address to look up.
  if (args.some((arg) => arg.startsWith('-'))) return undefined;
  const [verb, email, ...rest] = args;
  if (verb === 'list' && email === undefined) return { verb };
  if ((verb === 'grant' || verb === 'revoke') && email && rest.length === 0) return { verb, email };
  return undefined;
}

function perform(command: AdminCommand, request: Request): Promise<string[]> {
  if (request.verb === 'list') return command.list();
  return command.setAdmin(request.email, request.verb === 'grant').then((line) => [line]);
}

async function main(args: string[]): Promise<number> {
  const request = parse(args);
  if (request === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (!request) {
    console.error(USAGE);
    return EX_USAGE;
  }
  const context = await NestFactory.createApplicationContext(AdminCliModule.forRoot(loadAppConfig()), { logger: ['error', 'warn'] });
  try {
    // Creates or checks the two tables as the app's start would, so rows are written in their shape.
    await context.get(SchemaService).adoptAll();
    for (const line of await perform(context.get(AdminCommand), request)) console.log(line);
    return 0;
  } finally {
    await context.close();
  }
}

/** Failures the operator can act on, with their exit codes; anything else is a bug, printed whole. */
const EXPECTED_FAILURES: [new (...args: never[]) => Error, number][] = [
  [UnknownAccountError, 1],
  [AmbiguousAccountError, 1],
  [ConfigError, EX_CONFIG],
  [SchemaMismatchError, EX_CONFIG],
];

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const expected = EXPECTED_FAILURES.find(([type]) => error instanceof type);
    console.error(expected ? (error as Error).message : error);
    process.exit(expected?.[1] ?? 1);
  },
);
