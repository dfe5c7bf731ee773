import { DynamicModule, Module } from '@nestjs/common';
import { CodegenClient } from './codegen-client';
import type { CodegenClientOptions, CodegenModuleAsyncOptions } from './codegen.types';

/** Provides one shared {@link CodegenClient} (so one circuit breaker) to the importing module. */
@Module({})
export class CodegenModule {
  /** Registers a client built from static options. */
  static forRoot(options: CodegenClientOptions): DynamicModule {
    return {
      module: CodegenModule,
      global: false,
      providers: [{ provide: CodegenClient, useFactory: () => new CodegenClient(options) }],
      exports: [CodegenClient],
    };
  }

  /** Registers a client whose options come from injected providers (typically the typed config). */
  static forRootAsync(options: CodegenModuleAsyncOptions): DynamicModule {
    return {
      module: CodegenModule,
      global: false,
      imports: options.imports ?? [],
      providers: [
        {
          provide: CodegenClient,
          // `never[]` keeps the factory's own parameter types; Nest supplies them from `inject`.
          useFactory: async (...deps: unknown[]) =>
            new CodegenClient(await options.useFactory(...(deps as never[]))),
          inject: options.inject ?? [],
        },
      ],
      exports: [CodegenClient],
    };
  }
}
