import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../database.tokens';

/**
 * `event_ids`: the (pipeline, event id) claims the writer's statement makes, that deduplicate
 * deliveries within the window. Claims are written only by that statement (EventsRepository).
 */
@Injectable()
export class DedupRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Forgets claims received more than `hours` ago: a delivery of such an id is stored again. */
  async trimOlderThan(hours: number): Promise<void> {
    await this.pool.query(`DELETE FROM event_ids WHERE received_at < now() - make_interval(hours => $1)`, [hours]);
  }
}
