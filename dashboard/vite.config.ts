/// <reference types="vitest/config" />
// Builds the landing page (index.html, no script) and the dashboard (app.html) into the
// gateway's package, which serves them (services/gateway/parley_gateway/web/pages.py).
import { resolve } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(import.meta.dirname, "../services/gateway/parley_gateway/web/dist"),
    emptyOutDir: true,
    // No inline scripts or styles anywhere: the pages' CSP allows only our own files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        landing: resolve(import.meta.dirname, "index.html"),
        app: resolve(import.meta.dirname, "app.html"),
      },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
