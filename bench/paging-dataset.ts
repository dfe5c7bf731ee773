import { Client } from 'pg';

/**
 * The paging bench's dataset: `rows` events, one a second up to now, and one task each, with
 * realistic spreads of event types, repositories, statuses and task types; ANALYZEd.
 */
export async function fillPagingDataset(url: string, rows: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO webhook_events
         (delivery_id, event_type, action, repository, installation_id, sender_login, payload,
          headers, processed, created_at, updated_at)
       SELECT 'paging-' || g,
              (ARRAY['pull_request','pull_request','pull_request','check_run','check_suite',
                     'push','ping','installation'])[1 + g % 8],
              'opened', 'octo-org/repo-' || (g % 200), 1000 + g % 5, 'octocat',
              jsonb_build_object('action', 'opened', 'number', g % 5000,
                                 'repository', jsonb_build_object('full_name', 'octo-org/repo-' || (g % 200))),
              '{"x-github-event":"pull_request"}'::jsonb,
              g % 20 <> 0,
              now() - (($1::int - g) * interval '1 second'),
              now() - (($1::int - g) * interval '1 second')
         FROM generate_series(1, $1::int) AS g`,
      [rows],
    );
    await client.query(
      `INSERT INTO workflow_tasks
         (task_id, webhook_event_id, task_type, status, repository, pr_number, commit_sha,
          completed_at, created_at, updated_at)
       SELECT gen_random_uuid(), e.id,
              (ARRAY['pull_request_analysis','pull_request_analysis','check_failure_analysis',
                     'check_suite_failure_analysis','push_analysis','codegen_trigger'])[1 + e.id % 6],
              s.status, e.repository, (e.id % 5000)::int, md5(e.id::text),
              CASE WHEN s.status IN ('completed','failed','cancelled') THEN e.created_at END,
              e.created_at, e.created_at
         FROM webhook_events e
         CROSS JOIN LATERAL (SELECT CASE
                WHEN e.id % 100 < 85 THEN 'completed'
                WHEN e.id % 100 < 90 THEN 'failed'
                WHEN e.id % 100 < 93 THEN 'cancelled'
                WHEN e.id % 100 < 98 THEN 'queued'
                WHEN e.id % 100 < 99 THEN 'running'
                ELSE 'pending' END AS status) s`,
    );
    await client.query('ANALYZE webhook_events');
    await client.query('ANALYZE workflow_tasks');
  } finally {
    await client.end();
  }
}
