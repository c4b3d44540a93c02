// Errors that one event's data can cause (data exception, integrity constraint, program limit):
// only these are isolated and recorded per event. Anything else (a missing table, a permission)
// is the database's or the deployment's fault and must not turn a whole stream into failures.
const DATA_SQLSTATE = /^(22|23|54)/;

export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && DATA_SQLSTATE.test(code);
}
