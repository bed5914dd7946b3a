// Integration tests: need the control plane that test/support/run-integration starts
// (it exports HERALD_TEST_KUBECONFIG). Each file gets its own namespace.
export default {
  files: ['build/test/integration/**/*.test.js'],
  timeout: '5m',
  workerThreads: false,
  concurrency: 2,
  verbose: true,
};
