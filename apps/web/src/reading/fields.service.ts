import { Injectable } from '@nestjs/common';
import type { FieldView } from '@dash/domain';
import { FieldsRepository } from '@dash/infra';

/** The field catalog of a pipeline: the payload paths its sampled events carry. */
@Injectable()
export class FieldsService {
  constructor(private readonly catalog: FieldsRepository) {}

  async fields(pipelineId: string): Promise<{ items: FieldView[] }> {
    return { items: await this.catalog.list(pipelineId) };
  }
}
