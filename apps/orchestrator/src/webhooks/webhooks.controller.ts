import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Public, SkipApiThrottle } from '../auth/auth.decorators';
import { ApiErrors } from '../docs/api-errors.decorator';
import { clientAddressOf } from '../common/request-facts';
import type { Request, Response } from 'express';
import { WebhookAcceptedDoc } from './dto/webhook-accepted.dto';
import { sendJson } from '../common/send-json';
import { WebhookIntakeService } from './webhook-intake.service';

@ApiTags('webhooks')
@ApiSecurity('github-signature')
@Public()
@SkipApiThrottle()
@Controller('api/v1/webhooks')
export class WebhooksController {
  constructor(private readonly intake: WebhookIntakeService) {}

  /** GitHub deliveries: the body is read raw here, so the signature covers the exact bytes. */
  @Post('github')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Receive a GitHub delivery',
    description:
      'Verified with HMAC-SHA256 over the raw body (X-Hub-Signature-256, any configured secret), ' +
      'stored with its tasks in one transaction, then answered; no bearer token. Requests that fail ' +
      'verification are limited per client address (429); verified deliveries never are.',
  })
  @ApiHeader({
    name: 'X-GitHub-Delivery',
    required: true,
    description: 'Unique delivery id (the replay guard)',
  })
  @ApiHeader({
    name: 'X-GitHub-Event',
    required: true,
    description: 'Event name, e.g. pull_request',
  })
  @ApiHeader({
    name: 'X-Hub-Signature-256',
    required: true,
    description: '`sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret',
  })
  @ApiBody({
    description:
      'The GitHub payload (application/json, or application/x-www-form-urlencoded with a payload field)',
    schema: { type: 'object', additionalProperties: true },
  })
  @ApiOkResponse({ type: WebhookAcceptedDoc })
  @ApiErrors(
    {
      status: 400,
      error: 'invalid webhook headers',
      details: ['X-GitHub-Delivery header is required'],
    },
    {
      status: 401,
      error: 'invalid signature',
      description: 'Missing or wrong X-Hub-Signature-256',
    },
    { status: 409, error: 'delivery 72d3162e-cc78-11e3-81ab-4c9367dc0958 was already received' },
    { status: 413, error: 'payload exceeds the limit of 1048576 bytes' },
    {
      status: 429,
      error: 'too many unverified webhook requests from this address',
      description:
        'Too many failed deliveries, or unverified bytes in flight, from this client address; see Retry-After',
    },
    {
      status: 503,
      error: 'storage unavailable; the delivery was not stored',
      description:
        'PostgreSQL unavailable (the delivery was not stored), storing cancelled by PostgreSQL at INTAKE_STORE_TIMEOUT_MS ("storage did not answer in time; the delivery was not stored"), no answer from PostgreSQL 1 s after that (the delivery may still be stored: redelivering is safe), or too many unverified bytes in flight from all clients; see Retry-After',
    },
  )
  async receive(@Req() req: Request, @Res() res: Response): Promise<void> {
    sendJson(res, 200, await this.intake.receive(req, () => clientAddressOf(req)));
  }
}
