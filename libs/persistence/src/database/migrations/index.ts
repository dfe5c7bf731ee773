import { InitialSchema1764374400000 } from './1764374400000-initial-schema';
import { AuditLog1795910400000 } from './1795910400000-audit-log';
import { WebhookPayloadLz41795913100000 } from './1795913100000-webhook-payload-lz4';
import { DeliveryRecovery1795920000000 } from './1795920000000-delivery-recovery';
import { DedupeHoldsFailedRuns1795930000000 } from './1795930000000-dedupe-holds-failed-runs';
import { AgentRunRequested1795940000000 } from './1795940000000-agent-run-requested';
import { ConsoleLookups1796168478869 } from './1796168478869-console-lookups';
import { RevokedTokens1796168835391 } from './1796168835391-revoked-tokens';
import { AgentTrust1796169400136 } from './1796169400136-agent-trust';
import { AgentRunOutcomes1796300000000 } from './1796300000000-agent-run-outcomes';
import { PartitionedWebhookEvents1796400000000 } from './1796400000000-partitioned-webhook-events';
import { ExclusiveRuns1796500000000 } from './1796500000000-exclusive-runs';
import { WebhookPayloadDigests1796600000000 } from './1796600000000-webhook-payload-digests';

/** Every migration, in order. An array, not a glob: bundlers and compiled output break globs. */
export const MIGRATIONS = [
  InitialSchema1764374400000,
  AuditLog1795910400000,
  WebhookPayloadLz41795913100000,
  DeliveryRecovery1795920000000,
  DedupeHoldsFailedRuns1795930000000,
  AgentRunRequested1795940000000,
  ConsoleLookups1796168478869,
  RevokedTokens1796168835391,
  AgentTrust1796169400136,
  AgentRunOutcomes1796300000000,
  PartitionedWebhookEvents1796400000000,
  ExclusiveRuns1796500000000,
  WebhookPayloadDigests1796600000000,
];
