// End-to-end tests (make e2e): test/e2e/host/ runs on the machine itself (the image, the
// cluster's teardown); test/e2e/in-cluster/ runs inside the cluster that
// test/e2e/cluster starts. One file at a time: they share a cluster or start their own.
export default {
  files: ['build/test/e2e/**/*.test.js'],
  timeout: '20m',
  workerThreads: false,
  concurrency: 1,
  verbose: true,
};
