import { MigrationInterface, QueryRunner } from 'typeorm';

/** Events, tasks, executions and installations, with an index for every documented filter. */
export class InitialSchema1764374400000 implements MigrationInterface {
  name = 'InitialSchema1764374400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhook_events (
        id bigserial PRIMARY KEY,
        delivery_id varchar(64) NOT NULL,
        event_type varchar(64) NOT NULL,
        action varchar(64),
        source varchar(32) NOT NULL DEFAULT 'github',
        received_via varchar(16) NOT NULL DEFAULT 'webhook',
        repository varchar(255),
        installation_id bigint,
        sender_login varchar(255),
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}'::jsonb,
        processed boolean NOT NULL DEFAULT false,
        processing_started_at timestamptz,
        processing_completed_at timestamptz,
        error_message text,
        retry_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_webhook_events_delivery_id UNIQUE (delivery_id),
        CONSTRAINT ck_webhook_events_received_via CHECK (received_via IN ('webhook', 'recovered', 'replayed'))
      )`);
    await q.query(`CREATE INDEX ix_webhook_events_type_id ON webhook_events (event_type, id DESC)`);
    await q.query(
      `CREATE INDEX ix_webhook_events_processed_id ON webhook_events (processed, id DESC)`,
    );
    await q.query(
      `CREATE INDEX ix_webhook_events_repository_id ON webhook_events (repository, id DESC)`,
    );
    await q.query(`CREATE INDEX ix_webhook_events_created_at ON webhook_events (created_at)`);

    await q.query(`
      CREATE TABLE workflow_tasks (
        id bigserial PRIMARY KEY,
        task_id uuid NOT NULL,
        webhook_event_id bigint REFERENCES webhook_events (id) ON DELETE CASCADE,
        parent_task_id bigint REFERENCES workflow_tasks (id) ON DELETE SET NULL,
        task_type varchar(64) NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending',
        priority integer NOT NULL DEFAULT 0,
        repository varchar(255),
        pr_number integer,
        branch varchar(255),
        commit_sha varchar(64),
        config jsonb NOT NULL DEFAULT '{}'::jsonb,
        input_data jsonb NOT NULL DEFAULT '{}'::jsonb,
        output_data jsonb,
        started_at timestamptz,
        completed_at timestamptz,
        error_message text,
        retry_count integer NOT NULL DEFAULT 0,
        max_retries integer NOT NULL DEFAULT 3,
        claim_token uuid,
        lease_expires_at timestamptz,
        codegen_task_id varchar(128),
        codegen_task_url text,
        dedupe_key varchar(512),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_workflow_tasks_task_id UNIQUE (task_id),
        CONSTRAINT ck_workflow_tasks_status
          CHECK (status IN ('pending', 'queued', 'running', 'completed', 'failed', 'cancelled'))
      )`);
    await q.query(`CREATE INDEX ix_workflow_tasks_status_id ON workflow_tasks (status, id DESC)`);
    await q.query(`CREATE INDEX ix_workflow_tasks_type_id ON workflow_tasks (task_type, id DESC)`);
    await q.query(
      `CREATE INDEX ix_workflow_tasks_repository_id ON workflow_tasks (repository, id DESC)`,
    );
    await q.query(`CREATE INDEX ix_workflow_tasks_event ON workflow_tasks (webhook_event_id)`);
    await q.query(`CREATE INDEX ix_workflow_tasks_parent ON workflow_tasks (parent_task_id)`);
    await q.query(`CREATE INDEX ix_workflow_tasks_created_at ON workflow_tasks (created_at)`);
    // The relay and reconciler scan only live tasks; keep that scan small.
    await q.query(`
      CREATE INDEX ix_workflow_tasks_live ON workflow_tasks (status, updated_at)
      WHERE status IN ('pending', 'queued', 'running')`);
    // One live agent-triggering task per (repository, PR, head SHA, trigger kind).
    await q.query(`
      CREATE UNIQUE INDEX uq_workflow_tasks_live_dedupe ON workflow_tasks (dedupe_key)
      WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'queued', 'running', 'completed')`);

    await q.query(`
      CREATE TABLE task_executions (
        id bigserial PRIMARY KEY,
        execution_id uuid NOT NULL,
        task_id bigint NOT NULL REFERENCES workflow_tasks (id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        status varchar(16) NOT NULL,
        started_at timestamptz NOT NULL,
        completed_at timestamptz,
        duration_ms integer,
        worker_id varchar(128) NOT NULL,
        queue_name varchar(64) NOT NULL,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_task_executions_execution_id UNIQUE (execution_id)
      )`);
    await q.query(`CREATE INDEX ix_task_executions_task_id ON task_executions (task_id, id DESC)`);
    await q.query(`CREATE INDEX ix_task_executions_created_at ON task_executions (created_at)`);

    await q.query(`
      CREATE TABLE github_installations (
        id bigint PRIMARY KEY,
        account_login varchar(255),
        account_type varchar(32),
        repository_selection varchar(16),
        last_action varchar(32) NOT NULL,
        suspended boolean NOT NULL DEFAULT false,
        deleted_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE github_installation_repositories (
        installation_id bigint NOT NULL REFERENCES github_installations (id) ON DELETE CASCADE,
        repository varchar(255) NOT NULL,
        removed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (installation_id, repository)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE github_installation_repositories`);
    await q.query(`DROP TABLE github_installations`);
    await q.query(`DROP TABLE task_executions`);
    await q.query(`DROP TABLE workflow_tasks`);
    await q.query(`DROP TABLE webhook_events`);
  }
}
