import { Module } from '@nestjs/common';
import { PipelineCacheModule } from '../pipelines/pipeline-cache.module';
import { AccessGuard } from './access';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { RequestLimits } from './request-limits';

// Guards named in @UseGuards are built in each controller's module: exporting the cache module
// puts what AccessGuard needs in scope wherever AuthModule is imported.
@Module({
  imports: [PipelineCacheModule],
  providers: [AuthService, AuthGuard, AccessGuard, RequestLimits],
  exports: [AuthService, AuthGuard, AccessGuard, RequestLimits, PipelineCacheModule],
})
export class AuthModule {}
