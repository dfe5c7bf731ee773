import { DynamicModule, Module } from '@nestjs/common';
import { clientModule, clientModuleAsync } from '@app/platform';
import { CodegenClient } from './codegen-client';
import type { CodegenClientOptions, CodegenModuleAsyncOptions } from './codegen.types';

/** Provides one shared {@link CodegenClient} (so one circuit breaker) to the importing module. */
@Module({})
export class CodegenModule {
  /** Registers a client built from static options. */
  static forRoot(options: CodegenClientOptions): DynamicModule {
    return clientModule(CodegenModule, CodegenClient, options);
  }

  /** Registers a client whose options come from injected providers (typically the typed config). */
  static forRootAsync(options: CodegenModuleAsyncOptions): DynamicModule {
    return clientModuleAsync(CodegenModule, CodegenClient, options);
  }
}
