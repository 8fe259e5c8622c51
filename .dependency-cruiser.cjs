/**
 * The layering of design.md, enforced by `npm run deps` (part of `npm run check` and CI).
 * A -> B means A may import B. The domain imports nothing of ours; the mapping engine and the use
 * cases see only the domain (and the phone helpers); queues and adapters implement the domain's
 * ports; the HTTP edge reaches the world through use cases; only the composition root
 * (src/main.ts, src/wiring/) and the CLI know every module.
 */
const FRAMEWORKS = '^node_modules/(express|bullmq|ioredis|fhir-kit-client)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one; split what they share into the domain.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-inward',
      severity: 'error',
      comment: 'src/domain imports nothing of ours outside the domain.',
      from: { path: '^src/domain/' },
      to: { path: '^(src|adapters|queue|mappings)/', pathNot: '^src/domain/' },
    },
    {
      name: 'domain-no-frameworks',
      severity: 'error',
      comment: 'The domain is plain TypeScript: no HTTP, queue, Redis or FHIR client library.',
      from: { path: '^src/(domain|use-cases|mapping|phone)/' },
      to: { path: FRAMEWORKS },
    },
    {
      name: 'core-sees-only-domain',
      severity: 'error',
      comment:
        'The mapping engine, the use cases and the phone helpers talk to ports, never to adapters, queues, HTTP or wiring.',
      from: { path: '^src/(use-cases|mapping|phone)/' },
      to: { path: '^(adapters|queue|src/(http|cli|config|wiring|observability|main))' },
    },
    {
      name: 'use-cases-see-the-profile-port',
      severity: 'error',
      comment:
        'Use cases reach a mapping profile through the MappingProfile port of the domain, never the engine.',
      from: { path: '^src/use-cases/' },
      to: { path: '^src/mapping/' },
    },
    {
      name: 'mapping-not-use-cases',
      severity: 'error',
      comment: 'The mapping engine is used by use cases, not the other way round.',
      from: { path: '^src/(mapping|phone)/' },
      to: { path: '^src/use-cases/' },
    },
    {
      name: 'outer-rings-see-only-domain',
      severity: 'error',
      comment:
        'Queues and adapters implement ports of the domain; they never reach use cases, HTTP, config or each other.',
      from: { path: '^(queue|adapters)/' },
      to: { path: '^(src/(use-cases|http|cli|config|wiring|main|mapping)|queue/)', pathNot: '^queue/' },
    },
    {
      name: 'adapters-not-queue',
      severity: 'error',
      comment: 'Adapters do not depend on the queue implementation.',
      from: { path: '^adapters/' },
      to: { path: '^queue/' },
    },
    {
      name: 'queue-not-adapters',
      severity: 'error',
      comment: 'Queues do not depend on adapters: what they need from one is a domain port.',
      from: { path: '^queue/' },
      to: { path: '^adapters/' },
    },
    {
      name: 'adapter-families-apart',
      severity: 'error',
      comment: 'EHR, call-center and Redis adapters do not import one another.',
      from: { path: '^adapters/([^/]+)/' },
      to: { path: '^adapters/', pathNot: '^adapters/$1/' },
    },
    {
      name: 'http-through-use-cases',
      severity: 'error',
      comment: 'The HTTP edge reaches the outside world only through use cases.',
      from: { path: '^src/http/' },
      to: { path: '^(adapters|queue|src/(cli|config|wiring|main))' },
    },
    {
      name: 'only-the-root-wires',
      severity: 'error',
      comment: 'Only src/main.ts, src/wiring/ and the CLI may import the wiring.',
      from: { path: '^(src|adapters|queue)/', pathNot: '^src/(main\\.ts|wiring/|cli/)' },
      to: { path: '^src/(main\\.ts|wiring/)' },
    },
    {
      name: 'product-not-tests',
      severity: 'error',
      comment: 'Product code never imports tests or benchmarks.',
      from: { path: '^(src|adapters|queue)/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|var|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
