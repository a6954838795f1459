// Import rules for src/ (run by `npm run lint`; docs/architecture.md, Layout, says why). Imports
// point down the layers below and never close a circle:
//
//   app        src/*.ts (main, app, app.module, all-exceptions.filter): wiring; may import anything
//   features   every other folder of src/: auth, admin, cli, health, market-data, mcp-*, metrics-endpoint, platform-tokens
//   metrics    src/metrics: the Prometheus registry features add their own instruments to
//   clickhouse src/clickhouse: client, schema, the typed SQL binding
//   config     src/config: settings, their validation and the names they may hold (tool sets, quotas)
//   common     src/common: generic helpers that import nothing else of src/
//
// A layer imports only the layers under it. A feature imports another feature only through that
// feature's public files: its *.module.ts, *.service.ts, dto/, and the files PUBLIC names below.
// Specs are left out: they are leaves (nothing imports them) and may build any part they test.

/** Layers from the bottom up; each may import the ones before it. */
const GROUND = [
  { name: 'common', path: '^src/common/' },
  { name: 'config', path: '^src/config/' },
  { name: 'clickhouse', path: '^src/clickhouse/' },
  { name: 'metrics', path: '^src/metrics/' },
];
const FEATURE = '^src/(?!common/|config/|clickhouse/|metrics/)[^/]+/';

/** Files a feature offers other features besides its modules, services and DTOs; a new entry is a deliberate choice. */
const PUBLIC = {
  auth: ['user', 'users.repository', 'email-address', 'jwt-auth.guard', 'admin.guard', 'current-user.decorator'],
  'market-data': ['stock-tool', 'tool-registry', 'tool-call.handler', 'tool-call.metrics'],
  'mcp-keys': ['api-key', 'api-key-verifier', 'key-policy', 'last-used-tracker'],
  'mcp-metering': ['quota-exhausted.error', 'rate-limited.error'],
  'mcp-oauth': ['public-urls'],
  'mcp-usage': ['usage.interceptor', 'usage-writer', 'usage-record'],
  'platform-tokens': [],
};
const publicFiles = [
  '^src/[^/]+/[^/]+\\.(module|service)\\.ts$',
  '^src/[^/]+/dto/',
  ...Object.entries(PUBLIC).map(([feature, files]) => `^src/${feature}/(${files.map((file) => file.replaceAll('.', '\\.')).join('|')})\\.ts$`),
];

/** A ground layer must not import any layer above it. */
const groundRules = GROUND.map((layer, index) => ({
  name: `${layer.name}-imports-upward`,
  comment: `${layer.name} may import only ${GROUND.slice(0, index).map((lower) => lower.name).join(', ') || 'no other folder of src/'}`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: '^src/', pathNot: [...GROUND.slice(0, index + 1).map((lower) => lower.path)] },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: the files in it can no longer be understood, tested or moved one at a time',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...groundRules,
    {
      name: 'feature-imports-app',
      comment: 'The app wiring (src/*.ts) sits on top; no folder imports it',
      severity: 'error',
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'feature-reaches-private-file',
      comment: 'Another feature is reached through its module, services, dto/ or the files PUBLIC lists in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: `(${FEATURE})` },
      to: { path: FEATURE, pathNot: ['^$1', ...publicFiles] },
    },
  ],
  options: {
    includeOnly: '^src/',
    exclude: { path: '\\.(db-)?spec\\.ts$' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports tie files together as much as value imports do.
    tsPreCompilationDeps: true,
    // Resolves the TS ESM `./x.js` specifiers to their .ts sources.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
  },
};
