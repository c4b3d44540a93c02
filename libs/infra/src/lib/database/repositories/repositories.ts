import { BreakdownsRepository } from './breakdowns.repository';
import { DedupRepository } from './dedup.repository';
import { DimensionsRepository } from './dimensions.repository';
import { EventsRepository } from './events.repository';
import { FailuresRepository } from './failures.repository';
import { FieldsRepository } from './fields.repository';
import { PipelinesRepository } from './pipelines.repository';
import { StatsRepository } from './stats.repository';
import { StorageRepository } from './storage.repository';
import { TokensRepository } from './tokens.repository';

/** Every repository, provided and exported by DatabaseModule. */
export const REPOSITORIES = [BreakdownsRepository, DedupRepository, DimensionsRepository, EventsRepository, FailuresRepository, FieldsRepository, PipelinesRepository, StatsRepository, StorageRepository, TokensRepository];
