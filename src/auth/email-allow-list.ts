import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ClickHouseService } from '../clickhouse/clickhouse.service.js';
import { SchemaService } from '../clickhouse/schema/schema.service.js';
import { sql } from '../clickhouse/sql.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { normalizeEmail } from './email-address.js';
import { emailMatches } from './users.repository.js';
import { EMAIL_WHITELIST_TABLE } from './users.table.js';

/** Where the original service looks when AUTH_EMAIL_WHITELIST_FILE is missing. */
const FALLBACK_FILES = ['email.txt', 'data/email.txt'];

/**
 * The original service's registration allow-list (AUTH_EMAIL_WHITELIST_ENABLED, off by default):
 * an email may register when an active row of `email_whitelist` has it, or when the allow-list file
 * lists it (entries separated by `;` when the file has one, else one per line; case-insensitive, in
 * the table too: its rows are as the operator typed them).
 * The file is read at each registration, so edits apply at once; it is never copied into the table.
 */
@Injectable()
export class EmailAllowList {
  constructor(
    private readonly clickhouse: ClickHouseService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    schema: SchemaService,
  ) {
    if (config.emailWhitelist.enabled) schema.register(EMAIL_WHITELIST_TABLE);
  }

  async allows(email: string): Promise<boolean> {
    if (!this.config.emailWhitelist.enabled) return true;
    if ((await this.fileEntries()).has(email)) return true;
    const [row] = await this.clickhouse.query<{ listed: string }>(
      sql`SELECT count() AS listed FROM email_whitelist FINAL WHERE ${emailMatches(email)} AND is_active = 1`,
    );
    return Number(row.listed) > 0;
  }

  private async fileEntries(): Promise<Set<string>> {
    for (const path of [this.config.emailWhitelist.file, ...FALLBACK_FILES]) {
      const text = await readFile(resolve(path), 'utf8').catch(() => undefined);
      if (text !== undefined) return new Set(parseAllowList(text));
    }
    return new Set();
  }
}

export function parseAllowList(text: string): string[] {
  return text
    .split(text.includes(';') ? ';' : '\n')
    .map(normalizeEmail)
    .filter((entry) => entry.includes('@'));
}
