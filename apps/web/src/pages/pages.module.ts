import { Module } from '@nestjs/common';
import { PagesController } from './pages.controller';

/** The dashboard's HTML shell and client assets, served by the web app itself. */
@Module({ controllers: [PagesController] })
export class PagesModule {}
