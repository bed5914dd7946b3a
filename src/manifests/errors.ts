import { HeraldError } from '../errors.js';

/** A file or directory named on the command line cannot be used. */
export class ManifestLoadError extends HeraldError {}

/** The CRDs herald validates against cannot be found or read. */
export class CrdLoadError extends HeraldError {}
