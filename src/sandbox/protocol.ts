// Messages between the operator and its render processes (JSON over the IPC channel).
import type { NotificationTemplateSpec } from '../api/generated.js';
import type { BudgetReason, RenderLimits } from '../templates/limits.js';
import type { RenderedNotification, TemplateContext } from '../templates/types.js';

/** What a render process is started with (its first argument, as JSON). */
export type ChildOptions = Pick<RenderLimits, 'maxOutputBytes' | 'memoryMiB'>;

export interface RenderRequest {
  id: number;
  /** Identifies this spec (e.g. namespace/name/uid@generation): the process compiles it once. */
  key?: string;
  spec: NotificationTemplateSpec;
  context: TemplateContext;
}

export type RenderFailure =
  | { kind: 'budget'; reason: BudgetReason; message: string }
  | { kind: 'render'; field: string; message: string; line?: number }
  | { kind: 'compile'; message: string }
  | { kind: 'other'; message: string };

export type ChildMessage =
  | { ready: true }
  | { id: number; ok: true; rendered: RenderedNotification }
  | { id: number; ok: false; failure: RenderFailure };
