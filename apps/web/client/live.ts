import type { AlertUpdated, BreakdownRequest, BreakdownUpdated, ClientToServerEvents, DataUpdated, PipelineStats, ServerToClientEvents } from '@dash/domain';
import { io, type Socket } from 'socket.io-client';
import { CommandPacer } from './pacer';

export type ConnectionState = 'connecting' | 'syncing' | 'live' | 'reconnecting' | 'unauthorized';

/** What a page learns about one pipeline: a snapshot (subscribe ack) or an update. */
export interface Change {
  stats: PipelineStats;
  /** Events added since the figure shown before (0 for the first snapshot). */
  delta: number;
  /** The first figure this page shows for the pipeline. */
  initial: boolean;
  source: 'snapshot' | 'update';
  /** Intake to storage of the newest event (update's emittedAt minus its receivedAt), when known. */
  lagMs: number | null;
}

/**
 * The figure shown for one pipeline. Versions are monotonic per pipeline: an update whose
 * version is not newer than the one shown is dropped; a snapshot (taken on every
 * (re)subscribe) replaces the figure unless it is older, so the count never goes backwards.
 */
export class PipelineFigure {
  stats: PipelineStats | null = null;
  /** When the server last confirmed this figure (browser clock, ms). */
  confirmedAt = 0;
  lagMs: number | null = null;

  apply(stats: PipelineStats, source: Change['source'], emittedAt?: string): Change | null {
    const shown = this.stats;
    if (shown && (source === 'update' ? stats.version <= shown.version : stats.version < shown.version)) return null;
    this.stats = stats;
    this.confirmedAt = Date.now();
    if (emittedAt && stats.lastEvent) this.lagMs = Date.parse(emittedAt) - Date.parse(stats.lastEvent.receivedAt);
    return { stats, delta: shown ? stats.count - shown.count : 0, initial: !shown, source, lagMs: this.lagMs };
  }
}

type Listener = (change: Change) => void;

/** The breakdown a page follows for a pipeline; `key` is learnt from the subscribe acknowledgement. */
interface FollowedBreakdown {
  request: BreakdownRequest;
  listener: (update: BreakdownUpdated) => void;
  key: string | null;
}
type Live = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * One socket for the page. On every (re)connection it subscribes to each pipeline again and
 * takes the acknowledgement's stats as the truth; it says `live` only once those are in.
 */
export class LiveConnection {
  state: ConnectionState = 'connecting';
  private readonly socket: Live;
  private readonly figures = new Map<string, PipelineFigure>();
  private readonly listeners = new Map<string, Listener>();
  private readonly breakdowns = new Map<string, FollowedBreakdown>();
  private readonly stateListeners: Array<(state: ConnectionState) => void> = [];
  /** When the socket was last known to be live (for "stale since"). */
  lastLiveAt = 0;
  /** Subscribes leave at a pace the server accepts (it disconnects a socket sending too many). */
  private readonly pacer = new CommandPacer();

  constructor(token: string) {
    this.socket = io({ transports: ['websocket'], auth: { token }, reconnectionDelay: 400, reconnectionDelayMax: 3000, timeout: 8000 });
    this.socket.on('connect', () => void this.resubscribe());
    this.socket.on('disconnect', (reason) => {
      this.lastLiveAt = Date.now();
      this.setState('reconnecting');
      // A server-side disconnect is not retried by socket.io itself.
      if (reason === 'io server disconnect') setTimeout(() => this.socket.connect(), 500);
    });
    this.socket.on('connect_error', (error) => {
      if (error.message === 'unauthorized') {
        this.setState('unauthorized');
        this.socket.disconnect();
      } else if (this.state !== 'connecting') this.setState('reconnecting');
    });
    this.socket.on('data_updated', (update: DataUpdated) => this.receive(update.pipelineId, update, 'update', update.emittedAt));
    this.socket.on('breakdown_updated', (update: BreakdownUpdated) => {
      const followed = this.breakdowns.get(update.pipelineId);
      if (followed && followed.key === update.key) followed.listener(update);
    });
  }

  /**
   * Follows one breakdown of a watched pipeline (null: none), replacing the one followed before:
   * the server then sends its `breakdown_updated` as events are stored.
   */
  followBreakdown(pipelineId: string, request: BreakdownRequest | null, listener: (update: BreakdownUpdated) => void = () => undefined): void {
    const previous = this.breakdowns.get(pipelineId);
    if (previous && request && JSON.stringify(previous.request) === JSON.stringify(request)) {
      previous.listener = listener;
      return;
    }
    this.breakdowns.delete(pipelineId);
    if (previous && this.socket.connected) void this.pacer.slot().then(() => this.socket.emit('unsubscribe', { pipelineId, breakdown: previous.request }));
    if (!request) return;
    this.breakdowns.set(pipelineId, { request, listener, key: null });
    if (this.socket.connected && this.listeners.has(pipelineId)) void this.subscribe(pipelineId);
  }

  /** Alert state and notification changes of the pipelines this page follows (see alerts.ts). */
  onAlertUpdated(listener: (update: AlertUpdated) => void): void {
    this.socket.on('alert_updated', listener);
  }

  /**
   * Calls `listener` when the server says one of this pipeline's lists changed (failures recorded
   * or discarded, a delivery refused), and once the socket is live again after a loss, since
   * notices sent meanwhile were missed. The page must `watch` the pipeline (that joins its room).
   */
  onListChanged(list: 'failures' | 'rejections', pipelineId: string, listener: () => void): void {
    const heard = (update: { pipelineId: string }) => {
      if (update.pipelineId === pipelineId) listener();
    };
    if (list === 'failures') this.socket.on('failures_updated', heard);
    else this.socket.on('rejections_updated', heard);
    let lost = false;
    this.onState((state) => {
      if (state === 'reconnecting') lost = true;
      else if (state === 'live' && lost) {
        lost = false;
        listener();
      }
    });
  }

  onState(listener: (state: ConnectionState) => void): void {
    this.stateListeners.push(listener);
    listener(this.state);
  }

  figure(pipelineId: string): PipelineFigure {
    let figure = this.figures.get(pipelineId);
    if (!figure) this.figures.set(pipelineId, (figure = new PipelineFigure()));
    return figure;
  }

  /** Follows a pipeline; the listener hears every accepted snapshot and update. */
  watch(pipelineId: string, listener: Listener): void {
    this.listeners.set(pipelineId, listener);
    if (this.socket.connected) void this.subscribe(pipelineId);
  }

  close(): void {
    this.socket.close();
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    if (state === 'live') this.lastLiveAt = Date.now();
    for (const listener of this.stateListeners) listener(state);
  }

  private async resubscribe(): Promise<void> {
    this.setState('syncing');
    const results = await Promise.all([...this.listeners.keys()].map((id) => this.subscribe(id)));
    if (!this.socket.connected) return;
    if (results.every(Boolean)) this.setState('live');
    else setTimeout(() => void (this.socket.connected && this.resubscribe()), 2000);
  }

  private async subscribe(pipelineId: string): Promise<boolean> {
    try {
      await this.pacer.slot();
      const followed = this.breakdowns.get(pipelineId);
      const ack = await this.socket.timeout(10_000).emitWithAck('subscribe', followed ? { pipelineId, breakdown: followed.request } : { pipelineId });
      // A refusal is a definite answer (the page shows the REST error); only silence is retried.
      if (!ack.ok) {
        // A breakdown refused (not a dimension any more, say): the pipeline is still followed without it.
        if (!followed || this.breakdowns.get(pipelineId) !== followed) return true;
        this.breakdowns.delete(pipelineId);
        return this.subscribe(pipelineId);
      }
      if (followed && this.breakdowns.get(pipelineId) === followed) followed.key = ack.breakdownKey ?? null;
      this.receive(pipelineId, ack.stats, 'snapshot');
      return true;
    } catch {
      return false;
    }
  }

  private receive(pipelineId: string, stats: PipelineStats, source: Change['source'], emittedAt?: string): void {
    const change = this.figure(pipelineId).apply(stats, source, emittedAt);
    if (change) this.listeners.get(pipelineId)?.(change);
  }
}

export const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'connecting…',
  syncing: 'syncing…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'token rejected',
};
