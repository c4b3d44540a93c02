// The answers' types come from @dash/domain, as the server's do (type-only: no server code in the bundle).
import type { EventPage, PipelineStats, PipelineView, Series, SeriesBucket } from '@dash/domain';

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

export async function api<T>(path: string): Promise<T> {
  const token = storedToken();
  let response: Response;
  try {
    response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  const body = (await response.json().catch(() => null)) as { error?: string; message?: string } | null;
  if (!response.ok) throw new ApiError(response.status, body?.error ?? 'error', body?.message ?? `HTTP ${response.status}`);
  return body as T;
}

export const getPipelines = () => api<{ items: PipelineView[] }>('/api/pipelines');
export const getPipeline = (id: string) => api<PipelineView>(`/api/pipelines/${encodeURIComponent(id)}`);
export const getStats = (id: string) => api<PipelineStats>(`/api/pipelines/${encodeURIComponent(id)}/stats`);
export const getEvents = (id: string, limit = 20) => api<EventPage>(`/api/pipelines/${encodeURIComponent(id)}/events?limit=${limit}`);

export function getSeries(id: string, bucket: SeriesBucket, from: Date, to?: Date): Promise<Series> {
  const query = new URLSearchParams({ bucket, from: from.toISOString() });
  if (to) query.set('to', to.toISOString());
  return api<Series>(`/api/pipelines/${encodeURIComponent(id)}/series?${query.toString()}`);
}
