import { DynamicModule, Module } from '@nestjs/common';
import { clientModule, clientModuleAsync } from '@app/platform';
import { GithubClient } from './github-client';
import type { GithubClientOptions, GithubModuleAsyncOptions } from './github.types';

/** Provides one shared {@link GithubClient} (so one circuit breaker) to the importing module. */
@Module({})
export class GithubModule {
  /** Registers a client built from static options. */
  static forRoot(options: GithubClientOptions): DynamicModule {
    return clientModule(GithubModule, GithubClient, options);
  }

  /** Registers a client whose options come from injected providers (typically the typed config). */
  static forRootAsync(options: GithubModuleAsyncOptions): DynamicModule {
    return clientModuleAsync(GithubModule, GithubClient, options);
  }
}
