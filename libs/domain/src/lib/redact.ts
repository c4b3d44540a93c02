import type { PipelineSource } from './pipeline';

/**
 * A pipeline source as a viewer may see it: a poll source's request headers (an upstream
 * `Authorization`, API keys) and the credentials its URL can carry (user info, query string,
 * fragment) are the admin's alone. A viewer still sees where the data comes from.
 */
export function sourceForViewer(source: PipelineSource): PipelineSource {
  if (source.type !== 'poll') return source;
  const { headers: _headers, ...rest } = source;
  return { ...rest, url: urlForViewer(source.url) };
}

/** The URL without user info, query string and fragment. */
export function urlForViewer(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '';
  }
}
