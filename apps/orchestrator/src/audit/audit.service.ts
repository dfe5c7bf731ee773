import { Injectable } from '@nestjs/common';
import { DomainError, ErrorCode } from '@app/platform';
import { AuditLogRepository } from '@app/persistence';
import { toAuditRecord } from './audit.mapper';
import { AuditRecordDto, ListAuditQuery } from './dto/audit.dto';

@Injectable()
export class AuditService {
  constructor(private readonly records: AuditLogRepository) {}

  async list(query: ListAuditQuery): Promise<AuditRecordDto[]> {
    const since = query.since === undefined ? undefined : new Date(query.since);
    const until = query.until === undefined ? undefined : new Date(query.until);
    if (since && until && since.getTime() > until.getTime()) {
      throw new DomainError(ErrorCode.InvalidInput, 'invalid request', [
        'since must not be later than until',
      ]);
    }
    const rows = await this.records.listPage(
      {
        type: query.type,
        actor: query.actor,
        since,
        until,
        targets: query.target === undefined ? undefined : [...new Set(query.target.split(','))],
      },
      { limit: query.limit, offset: query.offset },
    );
    return rows.map(toAuditRecord);
  }
}
