import { DynamicModule, Global, Module } from '@nestjs/common';
import type { DashConfig } from './config';

/** Injection token of the validated configuration. */
export const DASH_CONFIG = Symbol('DASH_CONFIG');

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: DashConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: DASH_CONFIG, useValue: config }], exports: [DASH_CONFIG] };
  }
}
