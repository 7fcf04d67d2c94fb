import { defineConfig } from '@playwright/test';
import { CHROMIUM } from './apps/web/e2e/chromium.ts';

/**
 * Browser tests of apps/web in the machine's Chromium (never a downloaded one), WebGPU on
 * SwiftShader, against real relays the tests start. `pnpm test` builds the app first.
 */
export default defineConfig({
  testDir: 'apps/web/e2e',
  testMatch: '*.spec.ts',
  workers: 1,
  fullyParallel: false,
  timeout: 180_000,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: CHROMIUM,
    viewport: { width: 1280, height: 800 },
    trace: 'off',
  },
});
