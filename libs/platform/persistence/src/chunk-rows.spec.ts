import { MAX_BIND_PARAMETERS, chunkRows } from './chunk-rows';

describe('chunkRows: a multi-row statement kept under PostgreSQL bind-parameter limit', () => {
  it('cuts 2,000 rows of 36 parameters (a synced message) into statements of at most 65,535 parameters, in order', () => {
    const rows = Array.from({ length: 2_000 }, (_, i) => i);
    const chunks = chunkRows(rows, 36);
    expect(chunks.map((c) => c.length)).toEqual([1_820, 180]);
    for (const c of chunks) expect(c.length * 36).toBeLessThanOrEqual(MAX_BIND_PARAMETERS);
    expect(chunks.flat()).toEqual(rows);
  });

  it('keeps a batch that fits whole, counts the parameters the statement takes once, and gives nothing for no rows', () => {
    expect(chunkRows([1, 2, 3], 36)).toEqual([[1, 2, 3]]);
    expect(chunkRows(Array.from({ length: 3 }), MAX_BIND_PARAMETERS / 3, 1).map((c) => c.length)).toEqual([
      2, 1,
    ]);
    expect(chunkRows([], 36)).toEqual([]);
  });

  it('refuses a row that cannot fit in any statement', () => {
    expect(() => chunkRows([1], MAX_BIND_PARAMETERS + 1)).toThrow(RangeError);
    expect(() => chunkRows([1], 0)).toThrow(RangeError);
  });
});
