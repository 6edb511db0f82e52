/**
 * PostgreSQL takes at most 65,535 bind parameters in one statement (the protocol counts them in 16 bits); PGlite
 * speaks the same protocol. A multi-row VALUES insert of a large batch must be cut below it.
 */
export const MAX_BIND_PARAMETERS = 65_535;

/**
 * The rows of a multi-row statement in chunks that each fit in one statement: at most `paramsPerRow` parameters a
 * row, plus `fixedParams` the statement takes once. The order of the rows is kept. Array parameters (unnest) count
 * as one each, so a statement built on unnest does not need this.
 */
export function chunkRows<T>(rows: readonly T[], paramsPerRow: number, fixedParams = 0): T[][] {
  const size = Math.floor((MAX_BIND_PARAMETERS - fixedParams) / paramsPerRow);
  if (!Number.isInteger(paramsPerRow) || paramsPerRow < 1 || size < 1) {
    throw new RangeError(`chunkRows: ${paramsPerRow} parameters a row do not fit in one statement`);
  }
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}
