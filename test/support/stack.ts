import { CodegenFake, CodegenFakeOptions, GithubFake, GithubFakeOptions } from '../fakes';
import { exampleRepositories } from './example-repositories';
import {
  closeDb,
  CODEGEN_TOKEN,
  RunningOrchestrator,
  RunningWorker,
  startOrchestrator,
  startWorker,
} from './harness';

export type Env = Record<string, string | undefined>;

/** The token the worker sends GitHub unless the suite's fake asks for its own. */
export const GITHUB_TOKEN = 'ghp_test_token';

export interface StackOptions<W extends Env | false, C extends CodegenFakeOptions | false> {
  /** This stack's Bull prefix under the run's (`${TEST_QUEUE_PREFIX}_<suffix>`). */
  prefix: string;
  /** Settings both apps get, on top of the test defaults. */
  env?: Env;
  /** The orchestrator's own settings. */
  orchestrator?: Env;
  /**
   * The worker's own settings; it is already pointed at both fakes with their tokens and polls
   * Codegen every 100-150 ms. `false`: no worker.
   */
  worker?: W;
  /** The GitHub fake; its `token` is the one the worker sends. */
  github?: GithubFakeOptions;
  /**
   * The Codegen fake; by default it knows the example payloads' repositories. `false`: none, and
   * the worker has no Codegen token (it runs in dry-run mode).
   */
  codegen?: C;
}

export interface Stack<
  W extends Env | false = Env,
  C extends CodegenFakeOptions | false = CodegenFakeOptions,
> {
  github: GithubFake;
  codegen: C extends false ? undefined : CodegenFake;
  orch: RunningOrchestrator;
  worker: W extends false ? undefined : RunningWorker;
  /** Stops the apps, then the fakes, and closes the assertion pool. */
  stop(): Promise<void>;
}

/**
 * The GitHub and Codegen fakes, an orchestrator and (unless `worker: false`) a worker wired to
 * them, all in this process on the run's database and Redis.
 */
export async function startStack<
  W extends Env | false = Env,
  C extends CodegenFakeOptions | false = CodegenFakeOptions,
>(options: StackOptions<W, C>): Promise<Stack<W, C>> {
  const github = await GithubFake.start(options.github);
  const codegenOptions: CodegenFakeOptions | undefined =
    options.codegen === false ? undefined : options.codegen;
  const codegen =
    options.codegen === false
      ? undefined
      : await CodegenFake.start({
          token: CODEGEN_TOKEN,
          repositories: exampleRepositories(),
          ...codegenOptions,
        });
  let orch: RunningOrchestrator | undefined;
  let worker: RunningWorker | undefined;
  const stop = async (): Promise<void> => {
    await worker?.close();
    await orch?.close();
    await github.stop();
    await codegen?.stop();
    await closeDb();
  };
  try {
    const shared = { QUEUE_PREFIX: options.prefix, ...options.env };
    orch = await startOrchestrator({ ...shared, ...options.orchestrator });
    if (options.worker !== false) {
      worker = await startWorker({
        ...shared,
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: options.github?.token ?? GITHUB_TOKEN,
        ...(codegen && {
          CODEGEN_BASE_URL: codegen.url,
          CODEGEN_TOKEN: codegenOptions?.token ?? CODEGEN_TOKEN,
          CODEGEN_POLL_INTERVAL_MS: '100',
          CODEGEN_POLL_MAX_INTERVAL_MS: '150',
        }),
        ...options.worker,
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    github,
    codegen: codegen as Stack<W, C>['codegen'],
    orch,
    worker: worker as Stack<W, C>['worker'],
    stop,
  };
}

/**
 * {@link startStack} in the enclosing `describe`'s beforeAll, stopped in its afterAll. The
 * returned object is filled in once beforeAll has run.
 */
export function useStack<
  W extends Env | false = Env,
  C extends CodegenFakeOptions | false = CodegenFakeOptions,
>(options: StackOptions<W, C>): Stack<W, C> {
  const stack = {} as Stack<W, C>;
  beforeAll(async () => {
    Object.assign(stack, await startStack(options));
  });
  afterAll(async () => {
    await stack.stop?.();
  });
  return stack;
}
