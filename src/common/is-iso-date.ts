import { ValidateBy, type ValidationOptions } from 'class-validator';
import { parseIsoDate } from '../clickhouse/sql.js';

/** A real calendar day written YYYY-MM-DD (2026-02-30 is refused). */
export function IsIsoDate(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIsoDate',
      validator: {
        validate: (value: unknown) => {
          try {
            return typeof value === 'string' && parseIsoDate(value) instanceof Date;
          } catch {
            return false;
          }
        },
        defaultMessage: (args) => `${args?.property} must be a date written YYYY-MM-DD`,
      },
    },
    options,
  );
}
