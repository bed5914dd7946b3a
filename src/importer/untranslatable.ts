// The one error both translators (expr → CEL, Go templates → nunjucks) throw for a
// construct they cannot translate; callers turn it into a reported problem.
export class Untranslatable extends Error {}
