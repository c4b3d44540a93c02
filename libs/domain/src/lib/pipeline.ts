export type PipelineSource =
  | { type: 'webhook' }
  | {
      type: 'poll';
      url: string;
      intervalSeconds: number;
      headers?: Record<string, string>;
      itemsPath?: string;
      cursor?: { param: string; path: string };
    };

export interface EventPaths {
  eventIdPath: string;
  eventTimePath: string;
  eventTypePath: string;
}

export const DEFAULT_EVENT_PATHS: EventPaths = {
  eventIdPath: 'id',
  eventTimePath: 'timestamp',
  eventTypePath: 'type',
};

/** Broadcast to every node over the NestJS Redis transport when a pipeline changes. */
export const PIPELINE_CHANGED = 'pipeline.changed';
export interface PipelineChanged {
  /** The deployment's key prefix: deployments sharing one Redis ignore each other's changes. */
  scope: string;
  pipelineId: string;
  change: 'created' | 'updated' | 'deleted' | 'secret_rotated';
}
