/** Types of scripts/launch.js for TypeScript callers (the e2e suites). */
export type AppName = 'web' | 'ingestor' | 'migrate';
export declare const APPS: Record<AppName, { main: string; flags: string[] }>;
export declare function nodeFlags(app: AppName): string[];
export declare function nodeArgs(app: AppName): string[];
export declare function mainOf(app: AppName): string;
