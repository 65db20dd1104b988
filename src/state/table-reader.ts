import { keysetAfter, limitClause, type Param, type Queryable, quoteId } from "./sql.js";
import type { TableSpec } from "./tables.js";

/** Rows fetched per statement when reading a whole table: bounds memory whatever the table's size. */
export const TABLE_CHUNK_ROWS = 2000;

/**
 * Every row of a table in primary-key order, as arrays in `spec.columns` order, read in keyset
 * chunks. Inside a consistent-snapshot transaction the chunks together are one consistent read.
 */
export async function* readTable(
  db: Queryable,
  spec: TableSpec,
  chunkRows = TABLE_CHUNK_ROWS,
): AsyncGenerator<Param[]> {
  const cols = spec.columns.map(quoteId).join(", ");
  const pk = spec.primaryKey.map((c) => ({ expr: quoteId(c), desc: false }));
  const order = pk.map((c) => c.expr).join(", ");
  const pkIndexes = spec.primaryKey.map((c) => spec.columns.indexOf(c));
  let last: Param[] | undefined;
  for (;;) {
    let where = "";
    let params: Param[] = [];
    if (last) {
      const cond = keysetAfter(pk, last);
      where = `WHERE ${cond.sql}`;
      params = cond.params;
    }
    const [rows] = await db.execute(
      {
        sql: `SELECT ${cols} FROM ${quoteId(spec.name)} ${where} ORDER BY ${order} ${limitClause(chunkRows)}`,
        rowsAsArray: true,
      },
      params,
    );
    const list = rows as unknown as Param[][];
    for (const row of list) yield row;
    if (list.length < chunkRows) return;
    const tail = list[list.length - 1]!;
    last = pkIndexes.map((i) => tail[i]!);
  }
}
