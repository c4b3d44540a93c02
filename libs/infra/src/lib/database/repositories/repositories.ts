import { EventsRepository } from './events.repository';
import { FailuresRepository } from './failures.repository';
import { StatsRepository } from './stats.repository';

/** Every repository, provided and exported by DatabaseModule. */
export const REPOSITORIES = [EventsRepository, FailuresRepository, StatsRepository];
