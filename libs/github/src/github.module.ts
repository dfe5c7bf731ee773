import { DynamicModule, Module } from '@nestjs/common';
import { GithubClient } from './github-client';
import type { GithubClientOptions, GithubModuleAsyncOptions } from './github.types';

/** Provides one shared {@link GithubClient} (so one circuit breaker) to the importing module. */
@Module({})
export class GithubModule {
  /** Registers a client built from static options. */
  static forRoot(options: GithubClientOptions): DynamicModule {
    return {
      module: GithubModule,
      global: false,
      providers: [{ provide: GithubClient, useFactory: () => new GithubClient(options) }],
      exports: [GithubClient],
    };
  }

  /** Registers a client whose options come from injected providers (typically the typed config). */
  static forRootAsync(options: GithubModuleAsyncOptions): DynamicModule {
    return {
      module: GithubModule,
      global: false,
      imports: options.imports ?? [],
      providers: [
        {
          provide: GithubClient,
          // `never[]` keeps the factory's own parameter types; Nest supplies them from `inject`.
          useFactory: async (...deps: unknown[]) =>
            new GithubClient(await options.useFactory(...(deps as never[]))),
          inject: options.inject ?? [],
        },
      ],
      exports: [GithubClient],
    };
  }
}
