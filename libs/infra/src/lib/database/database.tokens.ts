/** The `pg` pool for hot paths and plain SQL (repositories), provided by DatabaseModule. */
export const PG_POOL = Symbol('PG_POOL');
/** The storage mode the database was migrated with (`native` or `timescale`), read from it at start. */
export const STORAGE_MODE = Symbol('STORAGE_MODE');
