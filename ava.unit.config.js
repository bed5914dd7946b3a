// Unit tests: pure code, no control plane, run from the compiled output.
export default {
  files: ['build/test/unit/**/*.test.js'],
  timeout: '60s',
  workerThreads: false,
};
