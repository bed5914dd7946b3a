// Integration tests: need the control plane that test/support/run-integration starts
// (it exports HERALD_TEST_KUBECONFIG). Each file gets its own namespace.
export default {
  files: ['build/test/integration/**/*.test.js'],
  // delivery-outbox keeps the robot down for a real five minutes (issue 13 must-show 6).
  timeout: '10m',
  workerThreads: false,
  concurrency: 2,
  verbose: true,
};
