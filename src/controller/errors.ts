import { HeraldError } from '../errors.js';

/** A fired condition names a template that is missing or not Ready. */
export class TemplateNotUsable extends HeraldError {}

/** herald could not write its annotations on an Application (retried with backoff). */
export class AnnotationWriteError extends HeraldError {}
