import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, TracingHandle } from '@app/platform/tracing';
import { CodegenFake, GithubFake } from './fakes';
import {
  deliver,
  example,
  finished,
  RunningOrchestrator,
  RunningWorker,
  truncateAll,
} from './support/harness';
import { captureLogs } from './support/observability';
import { Stack, startStack } from './support/stack';

/** The spans from `span` up to its root, nearest first (within what the exporter holds). */
function ancestors(span: ReadableSpan, all: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(all.map((s) => [s.spanContext().spanId, s]));
  const chain: ReadableSpan[] = [];
  for (
    let parent = span.parentSpanContext && byId.get(span.parentSpanContext.spanId);
    parent;
    parent = parent.parentSpanContext && byId.get(parent.parentSpanContext.spanId)
  ) {
    chain.push(parent);
  }
  return chain;
}

// The SDK is started the way main.ts starts it, with an in-memory exporter instead of OTLP.
describe('one trace from the delivery to the Codegen request', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: TracingHandle;
  let github: GithubFake;
  let codegen: CodegenFake;
  let orch: RunningOrchestrator;
  let worker: RunningWorker;
  let stack: Stack | undefined;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'e2e', exporter, instrument: false });
    stack = await startStack({
      prefix: `${process.env.TEST_QUEUE_PREFIX}_trace`,
      codegen: { autoCompleteAfterGets: 1 },
      // The worker reads GitHub without a token here.
      worker: { GITHUB_TOKEN: undefined, CODEGEN_POLL_MAX_INTERVAL_MS: '200' },
    });
    ({ github, codegen, orch, worker } = stack);
    await truncateAll();
  });
  afterAll(async () => {
    await stack?.stop();
    await tracing?.shutdown();
  });

  it('makes the intake span an ancestor of both tasks and of the agent-run request', async () => {
    const workerLogs = captureLogs(worker.app, 'info');
    const payload = example('pull_request', (p) => p.action === 'opened');
    const repo = payload.repository.full_name as string;
    const sha = 'c'.repeat(40);
    payload.pull_request.number = 9;
    payload.number = 9;
    payload.pull_request.head.sha = sha;
    payload.pull_request.draft = false;
    github.setPullRequestFiles(repo, 9, [{ filename: 'src/app.ts' }]);
    github.setPullRequest(repo, 9, { headSha: sha });

    const res = await deliver(orch.url, 'pull_request', payload);
    expect(res.status).toBe(200);
    const analysis = await finished(res.body.result.task_id);
    const trigger = await finished(analysis.output_data.child_task_ids[0]);
    expect(trigger.status).toBe('completed');
    expect(codegen.createdRuns).toHaveLength(1);

    const spans = exporter.getFinishedSpans();
    const intake = spans.find(
      (s) => s.name === 'webhook.intake' && s.attributes['github.delivery_id'] === res.deliveryId,
    );
    expect(intake).toBeDefined();
    const traceId = intake!.spanContext().traceId;
    const taskRun = (taskId: string) =>
      spans.find((s) => s.name === 'task.run' && s.attributes['task.id'] === taskId);
    const analysisRun = taskRun(analysis.task_id);
    const triggerRun = taskRun(trigger.task_id);
    const githubCall = spans.find((s) => s.name === 'github.list_pull_request_files');
    const codegenCall = spans.find((s) => s.name === 'codegen.create_agent_run');

    for (const span of [analysisRun, triggerRun, githubCall, codegenCall]) {
      expect(span).toBeDefined();
      expect(span!.spanContext().traceId).toBe(traceId);
      expect(ancestors(span!, spans).map((s) => s.spanContext().spanId)).toContain(
        intake!.spanContext().spanId,
      );
    }
    // The analysis ran as a child of the intake, the trigger as a child of the analysis's run.
    expect(ancestors(analysisRun!, spans)[0]).toBe(intake);
    expect(ancestors(triggerRun!, spans)).toContain(analysisRun);
    expect(ancestors(codegenCall!, spans)[0]).toBe(triggerRun);
    expect(triggerRun!.attributes).toMatchObject({
      'task.type': 'codegen_trigger',
      'messaging.destination.name': 'codegen',
    });

    // The worker's log lines for the trigger task carry the same trace id.
    const lines = workerLogs.filter((l) => l.task_id === trigger.task_id);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.trace_id === traceId)).toBe(true);
  });
});
