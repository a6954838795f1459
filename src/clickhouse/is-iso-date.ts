import { ValidateBy, type ValidationOptions } from 'class-validator';
import { FIRST_DAY, LAST_DAY, isStorableIsoDate } from './sql.js';

/** A real calendar day written YYYY-MM-DD (2026-02-30 is refused) that the database can hold. */
export function IsIsoDate(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isIsoDate',
      validator: {
        validate: (value: unknown) => isStorableIsoDate(value),
        defaultMessage: (args) => `${args?.property} must be a date written YYYY-MM-DD, from ${FIRST_DAY} to ${LAST_DAY}`,
      },
    },
    options,
  );
}
