import type {
  AlertChannel,
  AlertChannelView,
  AlertCondition,
  AlertInput,
  AlertList,
  AlertView,
  Breakdown,
  ClusterNode,
  FieldView,
  GroupedSeries,
  EventPage,
  FailureView,
  PipelineSource,
  PipelineStats,
  PipelineView,
  Rejection,
  ReplayResult,
  Series,
  SeriesBucket,
  StoredEvent,
  ViewerTokenInfo,
  NotificationView,
} from '@dash/domain';

// The answers' shapes are the server's own (libs/domain): re-exported for the pages.
export type { AlertChannel, AlertChannelView, AlertCondition, AlertInput, AlertList, AlertView, NotificationView, Breakdown, ClusterNode, FailureView, FieldView, GroupedSeries, PipelineSource, PipelineView, Rejection, Series, SeriesBucket, ViewerTokenInfo };

const TOKEN_KEY = 'dash.token';
let memoryToken: string | null = null;

/** The token kept in this browser (localStorage, or memory where storage is blocked). */
export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

export function storeToken(token: string | null): void {
  memoryToken = token;
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage blocked: memory only for this page
  }
}

/** A `?token=` in the address is kept, then removed from the address bar (and from history). */
export function adoptTokenFromUrl(): void {
  const url = new URL(location.href);
  const token = url.searchParams.get('token');
  if (token === null) return;
  if (token.trim()) storeToken(token.trim());
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A GET answered `429 rate_limited` is tried again up to this many times. */
const READ_RETRIES = 5;
/** The longest wait honoured from a Retry-After; a later time is waited for in several tries. */
const MAX_RETRY_WAIT_MS = 10_000;
/**
 * Until when this page's reads hold back: one 429 pauses all of them (the limit is per token, so
 * every read of the page would meet it), rather than each read finding it out on its own.
 */
let readsPausedUntil = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The wait a 429 asks for: its Retry-After (seconds), bounded, plus jitter so retries do not return as one burst. */
function retryWait(response: Response): number {
  const seconds = Number(response.headers.get('retry-after'));
  const asked = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000;
  return Math.min(asked, MAX_RETRY_WAIT_MS) + Math.random() * 500;
}

export async function api<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const token = storedToken();
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  // Only reads are retried: they change nothing, so a second try is always safe.
  for (let attempt = 0; ; attempt++) {
    if (method === 'GET' && readsPausedUntil > Date.now()) await sleep(readsPausedUntil - Date.now() + Math.random() * 250);
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached.');
    }
    if (response.status !== 429 || method !== 'GET' || attempt === READ_RETRIES) break;
    void response.body?.cancel();
    readsPausedUntil = Math.max(readsPausedUntil, Date.now() + retryWait(response));
  }
  // 204 (delete) has no body.
  const answer = (response.status === 204 ? null : await response.json().catch(() => null)) as { error?: string; message?: string } | null;
  if (!response.ok) throw new ApiError(response.status, answer?.error ?? 'error', answer?.message ?? `HTTP ${response.status}`);
  return answer as T;
}

export const getPipelines = () => api<{ items: PipelineView[] }>('/api/pipelines');
export const getPipeline = (id: string) => api<PipelineView>(`/api/pipelines/${encodeURIComponent(id)}`);
export const getStats = (id: string) => api<PipelineStats>(`/api/pipelines/${encodeURIComponent(id)}/stats`);
const pipelinePath = (id: string, rest = '') => `/api/pipelines/${encodeURIComponent(id)}${rest}`;

export interface EventsQuery {
  limit?: number;
  before?: string;
  type?: string;
  /** `<path>=<value>` payload filters (AND). */
  where?: string[];
  /** The events stored under this exact id. */
  eventId?: string;
}

export function getEvents(id: string, limit = 20, query: EventsQuery = {}): Promise<EventPage> {
  const params = new URLSearchParams({ limit: String(query.limit ?? limit) });
  if (query.before) params.set('before', query.before);
  if (query.type) params.set('type', query.type);
  if (query.eventId) params.set('eventId', query.eventId);
  for (const filter of query.where ?? []) params.append('where', filter);
  return api<EventPage>(pipelinePath(id, `/events?${params.toString()}`));
}

// A filtered read follows a search the server stopped at its work bound (10 000 events a request) this many times.
export const MAX_SEARCH_REQUESTS = 10;

/**
 * A page of events, filtered or not: a search the server stops at its work bound (`partial`) is
 * followed from its `next` until the page holds `limit` events, the search reaches the oldest
 * event, `wanted()` turns false (the reader asked for something else) or after
 * MAX_SEARCH_REQUESTS requests. The answer is still `partial` then: more may match further back,
 * from `next`.
 */
export async function searchEvents(id: string, limit: number, query: EventsQuery, wanted: () => boolean = () => true): Promise<EventPage> {
  const items: StoredEvent[] = [];
  let before = query.before;
  for (let request = 1; ; request++) {
    const page = await getEvents(id, limit - items.length, { ...query, before });
    items.push(...page.items);
    if (!page.partial || !page.next || items.length >= limit || request === MAX_SEARCH_REQUESTS || !wanted()) return { items, next: page.next, partial: page.partial };
    before = page.next;
  }
}

/**
 * One event by its exact id (`?eventId=`), searched from `before`: no item, and `partial` with a
 * `next`, when none of the events searched has that id but older ones were not searched.
 */
export async function findEvent(id: string, eventId: string, before?: string, wanted?: () => boolean): Promise<EventPage> {
  const page = await searchEvents(id, 1, { eventId, before }, wanted);
  // Checked here too, so a server that ignores the parameter never shows the wrong event.
  const items = page.items.filter((event) => event.id === eventId);
  if (items.length > 0 || !page.partial) return { items, next: null, partial: false };
  return { items, next: page.next, partial: true };
}

export interface PipelineInput {
  name?: string;
  source?: PipelineSource;
  eventIdPath?: string;
  eventTimePath?: string;
  eventTypePath?: string;
  dimensions?: string[];
  measures?: string[];
}

export const createPipeline = (input: PipelineInput) => api<PipelineView & { signingSecret: string }>('/api/pipelines', 'POST', input);
export const updatePipeline = (id: string, input: PipelineInput) => api<PipelineView>(pipelinePath(id), 'PATCH', input);
export const deletePipeline = (id: string) => api<null>(pipelinePath(id), 'DELETE');
export const rotateSecret = (id: string) => api<{ signingSecret: string }>(pipelinePath(id, '/rotate-secret'), 'POST');

export const getFailures = (id: string) => api<{ items: FailureView[]; total: number }>(pipelinePath(id, '/failures?limit=50'));
export const replayFailures = (id: string) => api<ReplayResult>(pipelinePath(id, '/failures/replay'), 'POST');
export const discardFailure = (id: string, failureId: string) => api<null>(pipelinePath(id, `/failures/${encodeURIComponent(failureId)}`), 'DELETE');

export const getRejections = (id: string) => api<{ items: Rejection[] }>(pipelinePath(id, '/rejections'));

/** An alert as created or changed: with its signing secret when it has just got one (shown once). */
export type SavedAlert = AlertView & { signingSecret?: string };

const alertPath = (id: string, alertId?: string) => pipelinePath(id, alertId === undefined ? '/alerts' : `/alerts/${encodeURIComponent(alertId)}`);
export const getAlerts = (id: string) => api<AlertList>(alertPath(id));
export const createAlert = (id: string, input: AlertInput) => api<SavedAlert>(alertPath(id), 'POST', input);
export const updateAlert = (id: string, alertId: string, input: Partial<AlertInput>) => api<SavedAlert>(alertPath(id, alertId), 'PATCH', input);
export const deleteAlert = (id: string, alertId: string) => api<null>(alertPath(id, alertId), 'DELETE');

export const getTokens = () => api<{ items: ViewerTokenInfo[] }>('/api/tokens');
export const createToken = (pipelines: string[], label?: string) => api<{ id: string; token: string }>('/api/tokens', 'POST', label ? { pipelines, label } : { pipelines });
export const revokeToken = (id: string) => api<null>(`/api/tokens/${encodeURIComponent(id)}`, 'DELETE');

export type ClusterNodeView = ClusterNode;

export const getCluster = () => api<{ nodes: ClusterNode[] }>('/api/cluster');

let adminProbe: Promise<boolean> | null = null;

/**
 * Whether the kept token is the admin token. The API has no "who am I" route; an admin-only
 * read answers it (a viewer gets 403). Only decides which controls to show: the API enforces.
 */
export function isAdmin(): Promise<boolean> {
  const token = storedToken();
  if (!token || token.startsWith('dash_vt_')) return Promise.resolve(false);
  adminProbe ??= api('/api/cluster').then(
    () => true,
    () => false,
  );
  return adminProbe;
}

export function getSeries(id: string, bucket: SeriesBucket, from: Date, to?: Date): Promise<Series> {
  const query = new URLSearchParams({ bucket, from: from.toISOString() });
  if (to) query.set('to', to.toISOString());
  return api<Series>(`/api/pipelines/${encodeURIComponent(id)}/series?${query.toString()}`);
}

export const getFields = (id: string) => api<{ items: FieldView[] }>(pipelinePath(id, '/fields'));

/** What a breakdown reads: `where` holds `<path>=<value>` filters on declared dimensions. */
export interface BreakdownQuery {
  by: string;
  from: Date;
  to?: Date;
  /** A declared measure's path. */
  measure?: string;
  where?: string[];
  limit?: number;
}

function breakdownParams(query: BreakdownQuery): URLSearchParams {
  const params = new URLSearchParams({ from: query.from.toISOString() });
  if (query.to) params.set('to', query.to.toISOString());
  if (query.limit) params.set('limit', String(query.limit));
  for (const filter of query.where ?? []) params.append('where', filter);
  return params;
}

export function getBreakdown(id: string, query: BreakdownQuery): Promise<Breakdown> {
  const params = breakdownParams(query);
  params.set('by', query.by);
  if (query.measure) params.set('measure', query.measure);
  return api<Breakdown>(pipelinePath(id, `/breakdown?${params.toString()}`));
}

/** The series of the top values of `by`; `measure` is `sum:<path>` (or min, max). */
export function getGroupedSeries(id: string, bucket: SeriesBucket, query: BreakdownQuery): Promise<GroupedSeries> {
  const params = breakdownParams(query);
  params.set('bucket', bucket);
  params.set('groupBy', query.by);
  if (query.measure) params.set('measure', query.measure);
  return api<GroupedSeries>(pipelinePath(id, `/series?${params.toString()}`));
}
