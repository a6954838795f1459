import { type ArgumentMetadata, BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { findJsonProblem } from './untrusted-json.js';

/**
 * Refuses request bodies and query strings holding text that is not well-formed Unicode or
 * values nested absurdly deep, naming the field, before any DTO transformer or validator sees
 * them. Runs ahead of the validation pipe, for every route.
 */
@Injectable()
export class UntrustedJsonPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'body' && metadata.type !== 'query') return value;
    const problem = findJsonProblem(value);
    if (!problem) return value;
    throw new BadRequestException({ detail: `Validation failed: ${problem.message}`, errors: [{ field: problem.field, messages: [problem.message] }] });
  }
}
