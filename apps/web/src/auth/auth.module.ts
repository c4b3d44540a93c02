import { Module } from '@nestjs/common';
import { PipelineCacheModule } from '../pipelines/pipeline-cache.module';
import { AccessGuard } from './access';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

// Guards named in @UseGuards are built in each controller's module: exporting the cache module
// puts what AccessGuard needs in scope wherever AuthModule is imported.
@Module({
  imports: [PipelineCacheModule],
  providers: [AuthService, AuthGuard, AccessGuard],
  exports: [AuthService, AuthGuard, AccessGuard, PipelineCacheModule],
})
export class AuthModule {}
