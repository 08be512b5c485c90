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
const NAMESPACE = 'node-http-as-commonjs';

const nodeHttpAsCommonJs = {
  name: NAMESPACE,
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.namespace === NAMESPACE ? { path: 'node:http', external: true } : { path: 'node:http', namespace: NAMESPACE },
    );
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({ contents: "module.exports = require('node:http');", loader: 'js' }));
  },
};

module.exports = [nodeHttpAsCommonJs];
