// Argo CD notifications ConfigMap → herald resources.
export { convertNotificationsConfigMap, MIGRATION_SECTION, type ConversionOutput, type ConvertedResource, type ImportOptions, type ImportResult, type SecretStub } from './convert.js';
export { exprToCel, type ExprTranslation } from './expr/index.js';
export { goTemplateToNunjucks, type TemplateTranslation } from './gotemplate/index.js';
export { parseLabelSelector, type SelectorResult } from './selector.js';
export { ROBOT_URL_PLACEHOLDER } from './services.js';
