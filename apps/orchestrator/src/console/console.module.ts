import { Module } from '@nestjs/common';
import { ConsoleAssets, consoleDirectory } from './console-assets';
import { ConsoleController } from './console.controller';
import { CONSOLE_ASSETS } from './console.tokens';

@Module({
  controllers: [ConsoleController],
  providers: [
    {
      provide: CONSOLE_ASSETS,
      useFactory: (): ConsoleAssets | null => {
        const directory = consoleDirectory();
        return directory === null ? null : new ConsoleAssets(directory);
      },
    },
  ],
})
export class ConsoleModule {}
