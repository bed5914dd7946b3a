// Manifests on disk: loading with positions, offline validation against the CRDs.
export { loadManifests, parseManifests, formatPath, type FieldPath, type FileProblem, type LoadResult, type Manifest, type ScalarPosition } from './load.js';
export { applyDefaults, defaultCrdDirectory, loadKindSchemas, validateSchema, type KindSchema, type Schema, type SchemaIssue } from './schema.js';
export { checkValidationRules, type RuleResults } from './rules.js';
export { checkManifests, formatFinding, type CheckReport, type Finding } from './check.js';
export { CrdLoadError, ManifestLoadError } from './errors.js';
