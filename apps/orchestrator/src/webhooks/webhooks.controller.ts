import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { WebhookAcceptedDto } from './dto/webhook-accepted.dto';
import { WebhookIntakeService } from './webhook-intake.service';

@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly intake: WebhookIntakeService) {}

  /** GitHub deliveries: the body is read raw here, so the signature covers the exact bytes. */
  @Post('github')
  @HttpCode(200)
  receive(@Req() req: Request): Promise<WebhookAcceptedDto> {
    return this.intake.receive(req);
  }
}
