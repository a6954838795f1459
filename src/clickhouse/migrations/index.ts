import type { Migration } from '../migration.js';
import { createUsers } from './001-users.js';

/** Every schema step in order; append new ones with the next version number. */
export const MIGRATIONS: readonly Migration[] = [createUsers];
