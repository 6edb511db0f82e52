import type { ValidationError } from '@nestjs/common';

export interface FieldProblem {
  /** Dotted path into the body, e.g. `attachments.0.filename`. */
  readonly field: string;
  readonly problems: string[];
}

/**
 * class-validator reports a nested DTO's errors as children of the parent's error (which has no constraints of its
 * own): flattened to one entry per offending leaf, so a client sees `attachments.0.filename`, never an empty list.
 */
export function validationProblems(errors: readonly ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((e) => {
    const field = `${prefix}${e.property}`;
    const own = Object.values(e.constraints ?? {});
    const nested = validationProblems(e.children ?? [], `${field}.`);
    return own.length || !nested.length ? [{ field, problems: own }, ...nested] : nested;
  });
}
