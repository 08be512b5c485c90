'use strict';
/**
 * esbuild plugins for the Lambda bundles (custom.esbuild.plugins in serverless.yml).
 *
 * `node:http` as CommonJS: on Node 24 an ESM `import ... from 'node:http'` builds the module's ESM facade,
 * which reads every export, and three of them (`WebSocket`, `CloseEvent`, `MessageEvent`) are getters that load Node's
 * bundled undici: about 20 ms of every cold start, for classes nothing here uses. `require('node:http')`
 * reads no export. The SDK's HTTP handler (@smithy/node-http-handler) imports `http` as ESM; this plugin
 * hands it the CommonJS module instead (the bundle's banner defines `require`). Measured by
 * `npm run bundle-report` (docs/deploy.md).
 */
const { basename, extname } = require('node:path');

const NAMESPACE = 'node-http-as-commonjs';

const nodeHttpAsCommonJs = {
  name: NAMESPACE,
  setup(build) {
    // A dynamic import() is already lazy (the cost is paid only when reached) and expects named exports, which
    // a CommonJS stand-in in its own chunk would not give it: it stays a native import.
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.namespace === NAMESPACE || args.kind === 'dynamic-import' ? { path: 'node:http', external: true } : { path: 'node:http', namespace: NAMESPACE },
    );
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: "module.exports = require('node:http');", loader: 'js' }));
  },
};

/**
 * Code splitting, one chunk directory per function. With `splitting: true` a dynamic `import()` becomes a
 * chunk file loaded only when reached, instead of code every cold start compiles: the SDK's credential
 * chain imports its SSO, INI, process and web-identity providers (and the STS, SSO and sign-in clients
 * they use) that way, and a Lambda always finds its credentials in the environment first. Each function is
 * bundled separately into the same directory, so its chunks go to `functions/<name>.chunks/`:
 * serverless-esbuild leaves every path that starts with another function's `functions/<other>.` out of a
 * function's zip, so each zip holds its own chunks and no other function's. test/packaging checks that
 * every import in every zip resolves inside it.
 */
const chunksPerFunction = {
  name: 'chunks-per-function',
  setup(build) {
    const entries = build.initialOptions.entryPoints;
    if (!Array.isArray(entries) || entries.length !== 1 || typeof entries[0] !== 'string') {
      throw new Error(`chunks-per-function expects one entry point per build (serverless-esbuild), got ${JSON.stringify(entries)}`);
    }
    const name = basename(entries[0], extname(entries[0]));
    build.initialOptions.chunkNames = `${name}.chunks/[name]-[hash]`;
  },
};

module.exports = [nodeHttpAsCommonJs, chunksPerFunction];
