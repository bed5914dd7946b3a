// Pinned versions of the test control plane. They must match the tool modules in
// ./tools/*/go.mod (a unit test checks it), and they key the binary cache.
export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.8';
/** Prometheus for the e2e (module version v0.3MM.P is Prometheus v3.MM.P); see tools/prometheus. */
export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';
