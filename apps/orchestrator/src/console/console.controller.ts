import { Controller, Get, Header, Inject, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DomainError, ErrorCode } from '@app/platform';
import { Public, SkipApiThrottle } from '../auth/auth.decorators';
import { CONSOLE_ASSETS } from './console.tokens';
import type { ConsoleAssets } from './console-assets';

/**
 * The operator console: one page shell for every console URL (so `/console/deliveries/12` can
 * be pasted into a chat) and its versioned files. Public like `/docs`: the page holds no data;
 * everything it shows comes from the API with the token the operator pastes.
 */
@ApiExcludeController()
@Public()
@SkipApiThrottle()
@Controller('console')
export class ConsoleController {
  constructor(@Inject(CONSOLE_ASSETS) private readonly assets: ConsoleAssets | null) {}

  @Get('assets/:version/*path')
  asset(
    @Param('version') version: string,
    @Param('path') path: string[] | string,
    @Res() res: Response,
  ): void {
    const assets = this.built();
    const file =
      version === assets.version
        ? assets.file(Array.isArray(path) ? path.join('/') : path)
        : undefined;
    if (!file) throw new DomainError(ErrorCode.NotFound, 'no such console file');
    res
      .status(200)
      .setHeader('Content-Type', file.contentType)
      .setHeader('Cache-Control', 'public, max-age=31536000, immutable')
      .end(file.body);
  }

  @Get(['', '*path'])
  @Header('Cache-Control', 'no-cache')
  shell(@Res() res: Response): void {
    res.status(200).setHeader('Content-Type', 'text/html; charset=utf-8').end(this.built().shell);
  }

  private built(): ConsoleAssets {
    if (!this.assets) {
      throw new DomainError(ErrorCode.Unavailable, 'the console is not built: run npm run build');
    }
    return this.assets;
  }
}
