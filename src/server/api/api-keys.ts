// The keys' rules live in accounts/ (the CLI, the API and the admin app share them); this path stays
// because the API's tests and bench/api-bench.ts import it.
export * from '../../accounts/api-keys.js';
