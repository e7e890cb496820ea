// SQL text as single statements, for the D1 batch API (which takes one statement per prepare). Pure: the workers
// tests apply schema.sql with it inside workerd.

export function splitSqlStatements(sql: string): string[] {
  return sql
    .replace(/--.*$/gm, "")
    .split(";")
    .map((statement) => statement.trim())
    .filter(Boolean);
}
