/** The loaded console files, or null when the build has none (the console then answers 503). */
export const CONSOLE_ASSETS = Symbol('CONSOLE_ASSETS');
