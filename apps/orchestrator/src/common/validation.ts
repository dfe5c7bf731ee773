import {
  ArgumentMetadata,
  Injectable,
  PipeTransform,
  ValidationError,
  ValidationPipe,
} from '@nestjs/common';
import { DomainError, ErrorCode } from '@app/platform';

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) =>
      message.startsWith(e.property) ? message.replace(e.property, path) : `${path}: ${message}`,
    );
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

/**
 * Query and body validation for the API: unknown fields are refused (filters are allow-listed),
 * values are converted to their declared types, and every problem is listed in a 400.
 */
export const apiValidationPipe = new ValidationPipe({
  transform: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  stopAtFirstError: false,
  exceptionFactory: (errors) =>
    new DomainError(ErrorCode.InvalidInput, 'invalid request', flatten(errors)),
});

/** A positive integer id from the path; anything else is a 400, never another row. */
@Injectable()
export class ParsePositiveIntPipe implements PipeTransform<string, number> {
  transform(value: string, metadata: ArgumentMetadata): number {
    if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new DomainError(ErrorCode.InvalidInput, 'invalid request', [
        `${metadata.data ?? 'id'} must be a positive integer`,
      ]);
    }
    return Number(value);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid from the path; anything else is a 400. */
@Injectable()
export class ParseUuidPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (!UUID.test(value)) {
      throw new DomainError(ErrorCode.InvalidInput, 'invalid request', [
        `${metadata.data ?? 'id'} must be a uuid`,
      ]);
    }
    return value.toLowerCase();
  }
}
