// Applies the top-level schema.sql to the test D1 database, the same file `npm run db:init` applies.
import { env } from "cloudflare:workers";
import { splitSqlStatements } from "../../stack/sql-statements.js";

await env.LEDGER.batch(splitSqlStatements(env.SCHEMA_SQL).map((s) => env.LEDGER.prepare(s)));
