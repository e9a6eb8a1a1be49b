import pg, { type Pool, type PoolClient } from 'pg';
import { GavelError } from '../../lib/errors.js';
import { APPROVAL_COLUMNS, type ApprovalColumn } from '../../engine/approvals/columns.js';
import { chargeColumnDdl, chargeColumns } from '../charge-columns.js';

/** A table of the shared store: its columns, constraints and indexes, and what replicas do with its rows. */
interface TableSpec {
  name: string;
  columns: ReadonlyArray<readonly [column: string, definition: string]>;
  constraints?: readonly string[];
  indexes: ReadonlyArray<readonly [index: string, definition: string]>;
  /** The privileges a replica's role needs on it (SELECT … FOR UPDATE of the key rows takes UPDATE). */
  privileges: ReadonlyArray<'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'>;
}

const CHARGES = 'gavel_usage_charges';

const BUCKET = (unit: readonly [string, string]): TableSpec['columns'] => [
  ['scope', 'text NOT NULL'],
  ['key', 'text NOT NULL'],
  ['tier', 'text NOT NULL'],
  unit,
  ['tokens', 'bigint NOT NULL'],
  ['cost_micros', 'bigint NOT NULL'],
];

/**
 * The tables version 1 created, as it created them: never edited (deployed stores have exactly this).
 * A change is a new migration, and CURRENT follows it.
 */
const V1: readonly TableSpec[] = [
  { name: 'gavel_usage_keys', columns: [['key', 'text PRIMARY KEY']], indexes: [], privileges: ['SELECT', 'INSERT', 'UPDATE'] },
  {
    name: 'gavel_usage_charges',
    columns: [
      ['decision_id', 'text PRIMARY KEY'],
      ['ledger_id', 'text NOT NULL'],
      ['caller', 'text NOT NULL'],
      ['asked_model', 'text NOT NULL'],
      ['subject', 'text NOT NULL'],
      ['team', 'text NOT NULL'],
      ['cost_center', 'text NOT NULL'],
      ['model', 'text NOT NULL'],
      ['tier', 'text NOT NULL'],
      ['at_ms', 'bigint NOT NULL'],
      ['state', `text NOT NULL CHECK (state IN ('reserved', 'settled'))`],
      ['tokens', 'bigint NOT NULL CHECK (tokens >= 0)'],
      ['cost_micros', 'bigint NOT NULL CHECK (cost_micros >= 0)'],
      ['input_tokens', 'bigint'],
      ['output_tokens', 'bigint'],
      ['expires_ms', 'bigint'],
      ['max_output_tokens', 'bigint'],
      ['estimated_input_tokens', 'bigint'],
    ],
    indexes: [
      ['gavel_usage_reserved_subject', `(subject, expires_ms) WHERE state = 'reserved'`],
      ['gavel_usage_reserved_team', `(team, expires_ms) WHERE state = 'reserved'`],
      ['gavel_usage_reserved_cost_center', `(cost_center, expires_ms) WHERE state = 'reserved'`],
      ['gavel_usage_reserved_ledger', `(ledger_id) WHERE state = 'reserved'`],
    ],
    privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  },
  {
    name: 'gavel_usage_requests',
    columns: [
      ['decision_id', 'text PRIMARY KEY'],
      ['subject', 'text NOT NULL'],
      ['tool', 'text NOT NULL'],
      ['decision', 'text NOT NULL'],
      ['at_ms', 'bigint NOT NULL'],
    ],
    indexes: [
      ['gavel_usage_requests_subject', '(subject, at_ms)'],
      ['gavel_usage_requests_time', '(at_ms)'],
    ],
    privileges: ['SELECT', 'INSERT', 'DELETE'],
  },
  {
    name: 'gavel_usage_daily',
    columns: BUCKET(['day', 'text NOT NULL']),
    constraints: ['PRIMARY KEY (scope, key, day, tier)'],
    indexes: [],
    privileges: ['SELECT', 'INSERT', 'UPDATE'],
  },
  {
    name: 'gavel_usage_minute',
    columns: BUCKET(['minute', 'bigint NOT NULL']),
    constraints: ['PRIMARY KEY (scope, key, minute, tier)'],
    indexes: [['gavel_usage_minute_age', '(minute)']],
    privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  },
  {
    name: 'gavel_usage_meta',
    columns: [
      ['key', 'text PRIMARY KEY'],
      ['value', 'text NOT NULL'],
    ],
    indexes: [],
    privileges: ['SELECT', 'INSERT'],
  },
];

/**
 * Version 2: the request ids replicas have decided (idempotent Decide across replicas, engine/idempotency.ts).
 * One row per (caller, request_id), claimed in the transaction that reserves for the decision, holding
 * what a replay needs (the entry's header fields, its payload without usage and trace, its salt) and,
 * once the deciding replica's entry committed, its receipt. Pruned after the idempotency window.
 */
const REQUEST_IDS: TableSpec = {
  name: 'gavel_request_ids',
  columns: [
    ['caller', 'text NOT NULL'],
    ['request_id', 'text NOT NULL'],
    ['decision_id', 'text NOT NULL'],
    ['ledger_id', 'text NOT NULL'],
    ['at_ms', 'bigint NOT NULL'],
    ['answer', 'text NOT NULL'],
    ['seq', 'bigint'],
    ['entry_hash', 'text'],
  ],
  constraints: ['PRIMARY KEY (caller, request_id)'],
  indexes: [
    ['gavel_request_ids_age', '(at_ms)'],
    ['gavel_request_ids_ledger', '(ledger_id) WHERE seq IS NULL'],
  ],
  privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

/**
 * Version 3: approval requests shared by replicas (usage/postgres/approvals.ts). The approval's own
 * columns follow the column list (engine/approvals/columns.ts), as the embedded table does; then how
 * the row is vouched for: `version` (each change adds one, and a change applies only to the version it
 * read), the replica whose ledger recorded the change (`ledger_id`, `entry_id`), that entry's receipt
 * (`seq`, `entry_hash`) and the replica's signature over all of it (`sig`). A change is written
 * before its entry commits and sealed after; until then `previous` holds the sealed row it replaced.
 */
/** Also version 3: the signature of the replica that recorded a request id's answer, over the row and its receipt (store.ts). */
const V3_REQUEST_COLUMNS: TableSpec['columns'] = [['sig', 'text']];

const APPROVAL_PG_TYPES: Record<ApprovalColumn['kind'], string> = { text: 'text', integer: 'integer', time: 'bigint', json: 'text', state: 'text' };
const APPROVALS: TableSpec = {
  name: 'gavel_approvals',
  columns: [
    ...APPROVAL_COLUMNS.map(
      (c: ApprovalColumn) => [c.column, `${APPROVAL_PG_TYPES[c.kind]}${c.key ? ' PRIMARY KEY' : c.optional ? '' : ' NOT NULL'}`] as const,
    ),
    ['version', 'bigint NOT NULL'],
    ['ledger_id', 'text NOT NULL'],
    ['entry_id', 'text NOT NULL'],
    ['seq', 'bigint'],
    ['entry_hash', 'text'],
    ['sig', 'text'],
    ['previous', 'text'],
  ],
  indexes: [
    ['gavel_approvals_created', '(created_ms)'],
    ['gavel_approvals_open', `(expires_ms) WHERE state IN ('pending', 'approved')`],
    ['gavel_approvals_open_fingerprint', `(fingerprint, created_ms) WHERE state IN ('pending', 'approved')`],
    ['gavel_approvals_unsealed', '(ledger_id) WHERE sig IS NULL'],
  ],
  privileges: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

/**
 * The schema as the latest migration leaves it: what the health probe checks and what
 * `gavel usage migrate` recreates when a table or index was dropped. A migration that changes a
 * table changes its entry here too (test/usage/postgres-schema.test.ts compares a database
 * migrated step by step with one recreated from this); gavel_usage_charges follows the charge
 * column list (charge-columns.ts) by itself.
 */
/**
 * Also version 2: each subject's request rows numbered under its history key row (`seq`, bumped by the
 * decision that adds one; `gen`, bumped when rows are taken back or rewritten), so a replica keeps the
 * subject's recent history in memory and reads only the rows added since it last looked (store.ts).
 */
const V2_COLUMNS: Readonly<Record<string, TableSpec['columns']>> = {
  gavel_usage_keys: [
    ['seq', 'bigint NOT NULL DEFAULT 0'],
    ['gen', 'bigint NOT NULL DEFAULT 0'],
  ],
  gavel_usage_requests: [['subject_seq', 'bigint']],
};
const V2_INDEXES: Readonly<Record<string, TableSpec['indexes']>> = {
  gavel_usage_requests: [['gavel_usage_requests_subject_seq', '(subject, subject_seq)']],
};

const CURRENT: readonly TableSpec[] = [
  ...V1.map((t) => (t.name === CHARGES ? { ...t, columns: currentChargeColumns(t.columns) } : t)).map((t) => ({
    ...t,
    columns: [...t.columns, ...(V2_COLUMNS[t.name] ?? [])],
    indexes: [...t.indexes, ...(V2_INDEXES[t.name] ?? [])],
  })),
  { ...REQUEST_IDS, columns: [...REQUEST_IDS.columns, ...V3_REQUEST_COLUMNS] },
  APPROVALS,
];

/**
 * gavel_usage_charges as the column list defines it: version 1's columns in the order version 1 made
 * them (a recreated table is the same as a migrated one, column positions too), then the columns
 * added since, in list order (as their migrations' ALTER TABLE … ADD COLUMN appends them).
 */
function currentChargeColumns(v1: TableSpec['columns']): TableSpec['columns'] {
  const position = (column: string) => {
    const at = v1.findIndex(([c]) => c === column);
    return at < 0 ? v1.length : at;
  };
  return chargeColumns('shared')
    .map((c, i) => ({ at: position(c.column), i, spec: [c.column, chargeColumnDdl(c, 'shared').slice(c.column.length + 1)] as const }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((c) => c.spec);
}

/** Idempotent statements that create a table and its indexes. */
function createStatements(t: TableSpec): string[] {
  const body = [...t.columns.map(([c, d]) => `${c} ${d}`), ...(t.constraints ?? [])].join(',\n  ');
  return [`CREATE TABLE IF NOT EXISTS ${t.name} (\n  ${body}\n)`, ...t.indexes.map(([i, d]) => `CREATE INDEX IF NOT EXISTS ${i} ON ${t.name} ${d}`)];
}

/**
 * The shared usage store's schema, created and migrated by gavel itself. Each
 * migration runs once, in order, recorded in gavel_schema_version; all of them
 * run in one transaction under an advisory lock, so replicas starting at once
 * (or `gavel usage migrate` beside a rollout) apply each exactly once.
 */
const MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  { version: 1, sql: V1.flatMap(createStatements).join(';\n') },
  {
    version: 2,
    sql: [
      ...createStatements(REQUEST_IDS),
      ...Object.entries(V2_COLUMNS).flatMap(([table, columns]) => columns.map(([c, d]) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${c} ${d}`)),
      ...Object.entries(V2_INDEXES).flatMap(([table, indexes]) => indexes.map(([i, d]) => `CREATE INDEX IF NOT EXISTS ${i} ON ${table} ${d}`)),
    ].join(';\n'),
  },
  {
    version: 3,
    sql: [...createStatements(APPROVALS), ...V3_REQUEST_COLUMNS.map(([c, d]) => `ALTER TABLE ${REQUEST_IDS.name} ADD COLUMN IF NOT EXISTS ${c} ${d}`)].join(
      ';\n',
    ),
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** One constant advisory-lock key for gavel's schema changes ("gavel" in ASCII). */
const MIGRATION_LOCK = 0x676176656c;

export interface MigrationResult {
  /** The version found before (0: an empty database). */
  from: number;
  to: number;
  applied: number[];
  /** Tables and indexes of the current schema that were missing and were created again ("table gavel_usage_requests"); only `gavel usage migrate` does so. */
  created: string[];
}

export interface MigrateOptions {
  /**
   * `gavel usage migrate`: create again the tables and indexes of an up-to-date schema that were
   * dropped (their rows are gone). Without it (a replica's start), a missing table or column, or a
   * privilege the replica's role lacks, refuses the start, naming each.
   */
  repair?: boolean;
}

type Queryable = Pick<Pool | PoolClient, 'query'>;

export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrationResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Created only when absent: a replica's role needs no CREATE on the schema once it exists.
    const versioned = await client.query<{ found: boolean }>(`SELECT to_regclass('gavel_schema_version') IS NOT NULL AS found`);
    if (!versioned.rows[0]?.found) {
      await client.query('CREATE TABLE gavel_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    }
    const found = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM gavel_schema_version');
    const from = Number(found.rows[0]?.v ?? 0);
    if (from > SCHEMA_VERSION) {
      throw new GavelError(
        'config_invalid',
        `the usage store's schema is at version ${from}, newer than this gavel knows (${SCHEMA_VERSION}): upgrade gavel before pointing it at this database`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version <= from) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO gavel_schema_version (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    const created = options.repair ? await createMissing(client) : [];
    const problems = await schemaProblems(client, { privileges: !options.repair });
    if (problems.length > 0) throw unusable(problems, options.repair === true);
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION, applied, created };
  } catch (err) {
    broken = err as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(broken);
  }
}

function unusable(problems: string[], repairing: boolean): GavelError {
  const missingTable = problems.some((p) => p.startsWith('missing table'));
  const hint = repairing
    ? 'a missing column cannot be recreated without its rows: restore it from a backup'
    : missingTable
      ? "run `gavel usage migrate` to recreate missing tables (their rows are lost), and grant the replicas' role its privileges on them if it does not own them"
      : "grant the replicas' role what it lacks, or restore what is missing";
  return new GavelError('usage_unavailable', `the usage store cannot be used: ${problems.join('; ')} (${hint})`);
}

/** Creates the current schema's tables and indexes that are missing; names what it created. */
async function createMissing(client: PoolClient): Promise<string[]> {
  const objects = CURRENT.flatMap((t) => [{ what: `table ${t.name}`, name: t.name }, ...t.indexes.map(([i]) => ({ what: `index ${i}`, name: i }))]);
  const present = await client.query<{ name: string }>('SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL', [
    objects.map((o) => o.name),
  ]);
  const there = new Set(present.rows.map((r) => r.name));
  const missing = objects.filter((o) => !there.has(o.name));
  if (missing.length === 0) return [];
  for (const statement of CURRENT.flatMap(createStatements)) await client.query(statement);
  return missing.map((o) => o.what);
}

/**
 * What keeps replicas from using the store, one phrase each: a missing table, a missing column,
 * and (with `privileges`) a privilege the connected role lacks on a table. Empty when all is well.
 * One round trip, read from the catalogs, so it names every problem rather than the first.
 */
export async function schemaProblems(q: Queryable, options: { privileges: boolean }): Promise<string[]> {
  const tables = JSON.stringify(CURRENT.map((t) => ({ name: t.name, columns: t.columns.map(([c]) => c), privileges: options.privileges ? t.privileges : [] })));
  const res = await q.query<{ name: string; present: boolean; missing_columns: string[]; missing_privileges: string[]; role: string }>(
    `SELECT t.name, c.oid IS NOT NULL AS present, current_user AS role,
       ARRAY(SELECT col FROM unnest(t.columns) AS col WHERE c.oid IS NOT NULL AND NOT EXISTS (
         SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped)) AS missing_columns,
       ARRAY(SELECT p FROM unnest(t.privileges) AS p WHERE c.oid IS NOT NULL AND NOT (CASE WHEN p = 'DELETE'
         THEN has_table_privilege(c.oid, p) ELSE has_any_column_privilege(c.oid, p) END)) AS missing_privileges
     FROM json_to_recordset($1::json) AS t(name text, columns text[], privileges text[])
     LEFT JOIN LATERAL (SELECT to_regclass(t.name) AS oid) c ON true`,
    [tables],
  );
  return res.rows.flatMap((r) => {
    if (!r.present) return [`missing table ${r.name}`];
    return [
      ...r.missing_columns.map((col) => `missing column ${r.name}.${col}`),
      ...(r.missing_privileges.length > 0 ? [`role ${r.role} lacks ${r.missing_privileges.join(', ')} on ${r.name}`] : []),
    ];
  });
}

/** The health probe of a replica whose store failed: throws, naming every problem, until the store is usable again. */
export async function checkSchema(q: Queryable): Promise<void> {
  const problems = await schemaProblems(q, { privileges: true });
  if (problems.length > 0) throw new Error(problems.join('; '));
}

/** Migrates the database a URL names, ahead of a rollout (`gavel usage migrate`), and recreates what was dropped. */
export async function migrateDatabase(url: string, timeoutMs: number): Promise<MigrationResult> {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: timeoutMs, application_name: 'gavel migrate' });
  pool.on('error', () => undefined);
  try {
    return await migrate(pool, { repair: true });
  } finally {
    await pool.end().catch(() => undefined);
  }
}
