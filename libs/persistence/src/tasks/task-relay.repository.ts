import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { TaskType } from '@app/domain';

/** A task the relay may hand (again) to Bull. */
export interface RelayCandidate {
  taskId: string;
  taskType: TaskType;
  attemptsLeft: number;
}

/**
 * The outbox side of `workflow_tasks`: which stored tasks have been handed to Bull, and the
 * relay's scans for tasks that never were, whose job vanished, or whose worker is gone. Ending a
 * task whose lease expired is the task lifecycle's (`TaskLifecycleRepository.requeueExpired`).
 */
@Injectable()
export class TaskRelayRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Marks tasks as handed to Bull; only those still pending change. */
  async markQueued(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE workflow_tasks SET status = 'queued', updated_at = now()
       WHERE task_id = ANY($1::uuid[]) AND status = 'pending'`,
      [taskIds],
    );
  }

  /** Pending tasks older than `olderThanMs`: committed but never handed to Bull. */
  async listStalePending(olderThanMs: number, limit: number): Promise<RelayCandidate[]> {
    return this.candidates(
      `status = 'pending' AND updated_at < now() - ($1::int * interval '1 millisecond')`,
      olderThanMs,
      limit,
    );
  }

  /** Queued tasks not touched for a while; the relay checks their jobs still exist in Redis. */
  async listQuietQueued(olderThanMs: number, limit: number): Promise<RelayCandidate[]> {
    return this.candidates(
      `status = 'queued' AND updated_at < now() - ($1::int * interval '1 millisecond')`,
      olderThanMs,
      limit,
    );
  }

  /** Running tasks whose lease passed: their worker is gone. */
  async listExpiredLeases(limit: number): Promise<RelayCandidate[]> {
    return this.candidates(
      `status = 'running' AND lease_expires_at < now() - ($1::int * interval '1 millisecond')`,
      0,
      limit,
    );
  }

  /** Records that the relay looked at these tasks, so the next pass starts with others. */
  async touch(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.dataSource.query(
      `UPDATE workflow_tasks SET updated_at = now() WHERE task_id = ANY($1::uuid[])`,
      [taskIds],
    );
  }

  /**
   * The task's type and the GitHub installation of its event (null: none, or no event), for the
   * GitHub budget gate in front of a task's run.
   */
  async githubScopeOf(
    taskId: string,
  ): Promise<{ taskType: TaskType; installationId: number | null } | null> {
    const rows: Array<{ task_type: TaskType; installation_id: string | null }> =
      await this.dataSource.query(
        `SELECT t.task_type, e.installation_id
           FROM workflow_tasks t
           LEFT JOIN webhook_events e ON e.id = t.webhook_event_id
          WHERE t.task_id = $1`,
        [taskId],
      );
    const row = rows[0];
    if (!row) return null;
    return {
      taskType: row.task_type,
      installationId: row.installation_id === null ? null : Number(row.installation_id),
    };
  }

  private async candidates(where: string, ageMs: number, limit: number): Promise<RelayCandidate[]> {
    const rows: Array<{
      task_id: string;
      task_type: TaskType;
      retry_count: number;
      max_retries: number;
    }> = await this.dataSource.query(
      `SELECT task_id, task_type, retry_count, max_retries FROM workflow_tasks
         WHERE ${where} ORDER BY updated_at LIMIT $2`,
      [ageMs, limit],
    );
    return rows.map((r) => ({
      taskId: r.task_id,
      taskType: r.task_type,
      attemptsLeft: Math.max(1, r.max_retries + 1 - r.retry_count),
    }));
  }
}
