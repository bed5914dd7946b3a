// Configuration files of the node's components. Every path points into the run's folder,
// so that two runs share nothing and a run leaves nothing in the machine's own folders.
import { NODE_IP, NODE_NAME, POD_CIDR, BRIDGE } from './network.js';

export function containerdConfig(options: { dir: string; socket: string; cniConfDir: string; pauseImage: string }): string {
  const { dir, socket, cniConfDir, pauseImage } = options;
  return `# containerd (Debian's 1.6) for herald's e2e node
version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  disable_apparmor = true
  enable_selinux = false
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which a sandboxed root may lack
  # (here: "write /proc/self/oom_score_adj: permission denied"); then runc fails every
  # sandbox with "can't get final child's PID from pipe". Restricted, no container gets
  # a score below containerd's own, as in rootless or nested setups.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniConfDir}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
`;
}

/** bridge + host-local for the pods (containerd adds loopback itself). */
export function cniConfig(ipamDataDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'herald-e2e',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          // No masquerading: the namespace has no way out, and nothing should look for one.
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: ipamDataDir,
            ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export function kubeletConfig(options: {
  cgroupRoot: string;
  socket: string;
  caFile: string;
  healthzPort: number;
  port: number;
  podLogsDir: string;
  resolvConf: string;
}): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine mounts cgroup v1 only; kubelet 1.35+ refuses it unless told (KEP-5573).
failCgroupV1: false
cgroupDriver: cgroupfs
# Every pod's cgroup lives below the run's own, so the reaper finds every container.
cgroupRoot: ${options.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
containerRuntimeEndpoint: unix://${options.socket}
imageServiceEndpoint: unix://${options.socket}
address: ${NODE_IP}
port: ${options.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${options.healthzPort}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: ${options.caFile}
authorization:
  mode: AlwaysAllow
clusterDomain: cluster.local
resolvConf: ${options.resolvConf}
podLogsDir: ${options.podLogsDir}
failSwapOn: false
protectKernelDefaults: false
serializeImagePulls: false
# A test node must not evict or collect images because the build machine's disk is busy.
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusReportFrequency: 10s
syncFrequency: 10s
`;
}

export function kubeProxyConfig(options: { kubeconfig: string; healthzPort: number; metricsPort: number }): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: ${options.kubeconfig}
hostnameOverride: ${NODE_NAME}
mode: iptables
clusterCIDR: ${POD_CIDR}
healthzBindAddress: 127.0.0.1:${options.healthzPort}
metricsBindAddress: 127.0.0.1:${options.metricsPort}
# Zero: leave the machine-wide conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
  minSyncPeriod: 1s
  syncPeriod: 30s
`;
}
