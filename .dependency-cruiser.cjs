/**
 * The dependency rules of src/, checked by `npm run lint` (depcruise). Type-only imports count:
 * a cycle through types is still a cycle in the design.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import in one direction only, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'http-edge-only-from-the-edge',
      severity: 'error',
      comment:
        'src/server/ is the HTTP edge: only the edge itself, the route files of each domain, the composition root, the CLI and the entry point import it. Services, repositories and storage never do.',
      from: { path: '^src/', pathNot: ['^src/server/', '\\.routes\\.ts$', '^src/cli/', '^src/main\\.ts$', '^src/composition\\.ts$'] },
      to: { path: '^src/server/' },
    },
    {
      name: 'routes-not-from-the-domain',
      severity: 'error',
      comment: 'A route file is HTTP: services and repositories never import one.',
      from: { path: '^src/', pathNot: ['^src/server/', '\\.routes\\.ts$', '^src/cli/', '^src/main\\.ts$', '^src/composition\\.ts$'] },
      to: { path: '\\.routes\\.ts$' },
    },
    {
      name: 'route-files-not-from-the-app-builder',
      severity: 'error',
      comment: 'Domain route files use HTTP helpers, never the app builder that registers them.',
      from: { path: '\\.routes\\.ts$' },
      to: { path: '^src/server/app\\.ts$' },
    },
    {
      name: 'cli-builds-no-http-server',
      severity: 'error',
      comment: 'The CLI works on the services; it never builds the HTTP app (serve goes through main/runtime).',
      from: { path: '^src/cli/', pathNot: '^src/cli/serve\\.ts$' },
      to: { path: '^src/server/app\\.ts$' },
    },
    {
      name: 'migrations-are-frozen',
      severity: 'error',
      comment: 'A migration never imports application code other than the dialect name type.',
      from: { path: '^src/storage/migrations/' },
      to: { path: '^src/', pathNot: ['^src/storage/migrations/', '^src/storage/database\\.ts$'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
