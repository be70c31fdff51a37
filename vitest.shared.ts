// Shared Vitest settings: every package resolves workspace packages to their TypeScript
// sources through the "kloset-source" export condition, so tests never need a build.
import { defineConfig } from 'vitest/config';

const conditions = ['kloset-source', 'node', 'import', 'default'];

export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['kloset-source'] } },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The JSON report lets tools/test.sh print one closing line for the whole suite.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    // Stray AWS_* variables of the machine must not decide a test: each test builds its own config.
    env: {
      AWS_CA_BUNDLE: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
  },
});
