// What an import produces: herald resources (and a channel's Secret), one output file's
// worth at a time, in the namespace the user chose.
import type { DingTalkChannel, NotificationTemplate, NotificationTrigger } from '../api/generated.js';

export interface ImportOptions {
  /** Namespace of the generated resources (herald's control namespace). */
  namespace: string;
  /** argocd-notifications-secret values, to resolve `$key` references in service URLs. */
  secrets?: Record<string, string>;
  /**
   * Put the robots' real webhook URLs (which carry their access tokens) into
   * `ConversionOutput.secrets`, to be written apart from the manifests. Without it the
   * manifests hold a placeholder Secret and no token leaves the converter.
   */
  includeSecrets?: boolean;
}

export interface SecretStub {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string };
  type: 'Opaque';
  stringData: Record<string, string>;
}

/** One output file's worth: a resource (and, for a channel, its Secret with a placeholder). */
export interface ConvertedResource {
  kind: 'DingTalkChannel' | 'NotificationTemplate' | 'NotificationTrigger';
  name: string;
  /** The ConfigMap key it came from. */
  from: string;
  /** Said in the file's header comment. */
  comment?: string;
  objects: Array<DingTalkChannel | NotificationTemplate | NotificationTrigger | SecretStub>;
}

/** What an import writes: the manifests, and apart from them the Secrets with real values (only with includeSecrets). */
export interface ConversionOutput {
  resources: ConvertedResource[];
  secrets: SecretStub[];
}

