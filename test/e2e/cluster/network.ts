// The node's network, private to the run's network namespace: nothing here is routed
// anywhere else (the namespace has no interface but loopback and this bridge).
export const NODE_NAME = 'herald-e2e';
export const BRIDGE = 'cni0';
export const POD_CIDR = '10.244.0.0/24';
/** The bridge's address: the node's InternalIP, where pods reach the host side. */
export const NODE_IP = '10.244.0.1';
export const SERVICE_CIDR = '10.0.0.0/24';
export const KUBERNETES_SERVICE_IP = '10.0.0.1';
