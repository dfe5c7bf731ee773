import type { DynamicModule, InjectionToken, Type } from '@nestjs/common';

/** How a client module gets its options from injected providers (typically the typed config). */
export interface ClientModuleAsyncOptions<Options> {
  /** Modules whose providers `inject` needs. */
  imports?: Array<Type | DynamicModule>;
  /** Builds the client options. */
  useFactory: (...args: never[]) => Options | Promise<Options>;
  /** Tokens whose instances are passed to `useFactory`, in order. */
  inject?: InjectionToken[];
}

/**
 * The dynamic module of an outbound client: one shared instance (so one circuit breaker) of
 * `client`, provided and exported under its class, to the importing module only.
 */
export function clientModule<Options, Client>(
  module: Type,
  client: new (options: Options) => Client,
  options: Options,
): DynamicModule {
  return {
    module,
    global: false,
    providers: [{ provide: client, useFactory: () => new client(options) }],
    exports: [client],
  };
}

/** {@link clientModule} with options built from injected providers. */
export function clientModuleAsync<Options, Client>(
  module: Type,
  client: new (options: Options) => Client,
  options: ClientModuleAsyncOptions<Options>,
): DynamicModule {
  return {
    module,
    global: false,
    imports: options.imports ?? [],
    providers: [
      {
        provide: client,
        // `never[]` keeps the factory's own parameter types; Nest supplies them from `inject`.
        useFactory: async (...deps: unknown[]) =>
          new client(await options.useFactory(...(deps as never[]))),
        inject: options.inject ?? [],
      },
    ],
    exports: [client],
  };
}
