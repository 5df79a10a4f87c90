import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/** The API's paths, proxied to a running workflows-svc by `npm run dev -w @wf/web`. */
const API = ['/auth', '/workflows', '/executions', '/events', '/stats', '/recent-runs', '/openapi.json', '/hooks'];

export default defineConfig({
  plugins: [react()],
  build: {
    // workflows-svc serves this folder; compiled browser tests go to dist/test.
    outDir: 'dist/app',
    emptyOutDir: true,
    // The polyfill would be an inline script, which the page's CSP refuses.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: { proxy: Object.fromEntries(API.map((path) => [path, { target: process.env.API_URL ?? 'http://localhost:3000' }])) },
  test: { include: ['test/unit/**/*.test.ts'], environment: 'node' },
});
