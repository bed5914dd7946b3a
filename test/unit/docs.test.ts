// The user documentation against the code, without a cluster (docs/README.md, "How the
// docs stay true"): command lines, paths, Makefile targets, links, the generated
// resource reference, flags, annotations, reasons, and herald manifests.
// test/integration/docs.test.ts applies the manifests and kubectl lines against the
// real API server.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ANNOTATIONS } from '../../src/api/groups.js';
import { EventReasons, Reasons } from '../../src/api/reasons.js';
import { ChannelReasons } from '../../src/channels/errors.js';
import { controllerFlags } from '../../src/config.js';
import { repoRoot } from '../support/controlplane/install.js';
import {
  checkBlockLines,
  commandWords,
  heraldLineProblems,
  runHeraldLine,
  runsOffline,
  scratchCheckout,
  shellBlocks,
} from '../support/docs/checks.js';
import { anchors, codeBlocks, docFiles, links, YAML_LANGS, type CodeBlock } from '../support/docs/markdown.js';
import { fieldRows, generateResourcesDoc, loadCrds } from '../support/docs/resources.js';

const files = docFiles();
const blocks: CodeBlock[] = files.flatMap((file) => codeBlocks(file));
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const where = (b: { file: string; line: number }) => `${b.file}:${b.line}`;

test('the docs exist: both READMEs, the index, the guides and the reference pages of issue 8', (t) => {
  for (const file of [
    'README.md', 'README.zh-CN.md', 'docs/README.md', 'docs/user-guide.md', 'docs/troubleshooting.md',
    'docs/reference/resources.md', 'docs/reference/annotations.md', 'docs/reference/flags.md',
  ]) {
    t.true(files.includes(file), file);
  }
  t.true(blocks.length > 30, `${blocks.length} code blocks`);
});

test('every shell line names a known command, and its commands, subcommands, flags, paths and make targets exist', (t) => {
  const problems: string[] = [];
  const counts: Record<string, number> = {};
  for (const block of shellBlocks(blocks)) {
    for (const check of checkBlockLines(block)) {
      counts[check.kind] = (counts[check.kind] ?? 0) + 1;
      for (const problem of check.problems) problems.push(`${where(check.line)}: ${check.line.text}\n    ${problem}`);
    }
  }
  t.log(`command lines checked: ${Object.entries(counts).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  t.deepEqual(problems, []);
  t.true((counts.herald ?? 0) >= 10 && (counts.kubectl ?? 0) >= 10 && (counts.make ?? 0) >= 2, JSON.stringify(counts));
});

test('the line checker catches unknown commands, subcommands, flags, targets and paths (so the check above can fail)', (t) => {
  const check = (text: string) => checkBlockLines({ file: 'x.md', line: 1, lang: 'sh', text, partial: false }).flatMap((c) => c.problems);
  t.deepEqual(check('herald check config/samples/'), []);
  t.regex(check('herald chek config/samples/').join(), /no command "chek"/);
  t.regex(check('herald template render app-sync-change guestbook --stdout').join(), /expected `herald template notify/);
  t.regex(check('herald trigger run on-deployed guestbook --bogus').join(), /has no flag --bogus/);
  t.regex(check('herald controller --webhook-prot 8080').join(), /has no flag --webhook-prot/);
  t.deepEqual(check('herald controller --no-leader-election --log-level=debug'), []);
  t.regex(check('make demoo').join(), /no target demoo/);
  t.regex(check('kubectl apply -f config/sample/').join(), /config\/sample\/ does not exist/);
  t.deepEqual(check('herald import cm.yaml -o out/ 2>/dev/null\nkubectl apply -f out/'), []);
  t.regex(check('herald import cm.yaml -o out/\nkubectl apply -f outt/').join(), /outt\/ does not exist/);
  t.regex(check('rm -rf /').join(), /unknown command "rm"/);
});

test('herald lines that need no cluster run for real and exit 0 (check, import, template notify / trigger run with -f)', async (t) => {
  let ran = 0;
  // Blocks run two at a time; the lines of one block in order, in the block's own scratch checkout.
  const queue = shellBlocks(blocks);
  const runBlock = async (block: CodeBlock) => {
    const workdir = scratchCheckout();
    try {
      for (const check of checkBlockLines(block)) {
        const words = commandWords(check.line.words);
        // A line followed by `echo "exit $?"` shows a non-zero exit on purpose (cli.md's own test compares it).
        if (!runsOffline(words, workdir) || check.line.text.includes('$?')) continue;
        const result = await runHeraldLine(check.line, workdir);
        ran++;
        t.is(result.status, 0, `${where(check.line)}: ${check.line.text}\n${result.stdout}\n${result.stderr}`);
      }
    } finally {
      workdir.dispose();
    }
  };
  await Promise.all([0, 1].map(async () => {
    for (let block = queue.shift(); block; block = queue.shift()) await runBlock(block);
  }));
  t.log(`${ran} herald lines run`);
  t.true(ran >= 6, `${ran} herald lines run`);
});

test('every herald manifest in a YAML block passes `herald check`; every YAML block parses; partial blocks are marked and counted', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-docs-yaml-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let checked = 0;
  let partial = 0;
  const manifestFiles: Array<{ block: CodeBlock; file: string }> = [];
  for (const [index, block] of blocks.filter((b) => YAML_LANGS.has(b.lang)).entries()) {
    const docs = parseAllDocuments(block.text);
    for (const doc of docs) t.deepEqual(doc.errors.map(String), [], `${where(block)} is not valid YAML`);
    if (block.partial) {
      partial++;
      continue;
    }
    const objects = docs.map((doc) => doc.toJS() as { apiVersion?: string; kind?: string } | null);
    for (const object of objects) {
      t.true(typeof object?.apiVersion === 'string' && typeof object?.kind === 'string', `${where(block)}: a YAML block that is not a whole manifest needs <!-- partial --> before it`);
    }
    if (!objects.some((o) => o?.apiVersion?.startsWith('herald.gitops.dev/'))) continue;
    const file = join(dir, `block-${index}.yaml`);
    writeFileSync(file, block.text);
    manifestFiles.push({ block, file });
  }
  // One `herald check` over all of them; each problem line names its file, so its block.
  const result = spawnSync(process.execPath, [join(repoRoot, 'build/src/main.js'), 'check', ...manifestFiles.map((f) => f.file)], { encoding: 'utf8', timeout: 60_000 });
  checked = manifestFiles.length;
  const named = (text: string) => manifestFiles.reduce((out, f) => out.split(f.file).join(where(f.block)), text);
  t.is(result.status, 0, named(`${result.stdout}${result.stderr}`));
  t.regex(result.stdout, new RegExp(`in ${checked} files checked, no errors`));
  t.log(`${checked} herald manifest blocks checked, ${partial} partial blocks`);
  t.true(checked >= 5, `${checked}`);
});

/** A link's file and anchor problems, or undefined when it resolves. */
function linkProblem(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http:, https:, mailto:
  const [path, anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
  if (!existsSync(join(repoRoot, resolved))) return `${target}: ${resolved} does not exist`;
  if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
    return `${target}: ${resolved} has no heading #${anchor} (has: ${[...anchors(resolved)].join(', ')})`;
  }
  return undefined;
}

test('every relative link and #anchor in the docs resolves', (t) => {
  const problems: string[] = [];
  let count = 0;
  for (const file of files) {
    for (const link of links(file)) {
      count++;
      const problem = linkProblem(file, link.target);
      if (problem) problems.push(`${where(link)}: ${problem}`);
    }
  }
  t.log(`${count} links checked`);
  t.deepEqual(problems, []);
  // The checker itself can fail.
  t.truthy(linkProblem('README.md', 'docs/nope.md'));
  t.truthy(linkProblem('README.md', 'docs/install.md#no-such-heading'));
  t.is(linkProblem('README.md', 'docs/install.md#without-the-prometheus-operator'), undefined);
});

test('docs/README.md links every page under docs/', (t) => {
  const index = links('docs/README.md').map((link) => normalize(join('docs', link.target.split('#')[0]!)));
  for (const file of files.filter((f) => f.startsWith('docs/') && f !== 'docs/README.md')) {
    t.true(index.includes(file), `docs/README.md does not link ${file}`);
  }
});

test('docs/reference/resources.md is what `make generate-docs` makes from crds/ and covers every field', (t) => {
  const committed = read('docs/reference/resources.md');
  t.is(committed, generateResourcesDoc(), 'docs/reference/resources.md is stale: run `make generate-docs`');
  const crds = loadCrds();
  t.deepEqual(crds.map((crd) => crd.spec.names.kind), ['NotificationTrigger', 'NotificationTemplate', 'DingTalkChannel']);
  for (const crd of crds) {
    for (const row of fieldRows(crd)) t.true(committed.includes(`| \`${row.path}\` |`), `${crd.spec.names.kind} ${row.path}`);
  }
  // The fields DESIGN §2 promises are among them.
  for (const path of ['spec.conditions[].when', 'spec.conditions[].oncePer', 'spec.dingtalk.at.initiator', 'spec.webhook.signSecretRef.key', 'spec.subscriptions[].selector', 'spec.mentions.<key>.userId', 'status.lastSentTime']) {
    t.true(committed.includes(`| \`${path}\` |`), path);
  }
});

test('docs/reference/flags.md lists exactly the flags of src/config.ts with their environment variables and defaults', (t) => {
  const rows = read('docs/reference/flags.md')
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => line.split('|').slice(1, 4).map((cell) => cell.trim().replace(/^`|`$/g, '')));
  t.deepEqual(
    rows.map(([flag, env, def]) => ({ flag, env, def })),
    controllerFlags.map((spec) => ({ flag: `--${spec.name}`, env: spec.env, def: spec.default ?? '' })),
  );
});

test('docs/reference/annotations.md names every annotation herald uses; every herald.gitops.dev/… name in the docs is real', (t) => {
  const page = read('docs/reference/annotations.md');
  for (const value of Object.values(ANNOTATIONS)) t.true(page.includes(`\`${value}`), value);
  const allowed = [/^v1alpha1$/, /^outbox$/, /^notified$/, /^subscribe\.(<trigger>|[a-z0-9][a-z0-9.-]*[a-z0-9])$/];
  const problems: string[] = [];
  for (const file of files) {
    for (const match of read(file).matchAll(/herald\.gitops\.dev\/([A-Za-z0-9.<>_-]*[A-Za-z0-9>_])/g)) {
      if (!allowed.some((re) => re.test(match[1]!))) problems.push(`${file}: herald.gitops.dev/${match[1]}`);
    }
  }
  t.deepEqual(problems, []);
});

test('docs/troubleshooting.md explains every condition, Event and channel error reason, and errcodes 130101, 310000, 300001', (t) => {
  const page = read('docs/troubleshooting.md');
  const names = new Set([...Object.values(Reasons), ...Object.values(EventReasons), ...Object.values(ChannelReasons)]);
  for (const name of names) t.true(page.includes(`\`${name}\``), name);
  for (const code of ['130101', '310000', '300001']) t.true(page.includes(`\`${code}\``), code);
  for (const event of ['NotificationSent', 'NotificationFailed', 'SubscriptionInvalid']) t.regex(page, new RegExp(`\\| \`${event}\` \\|`));
});

test('herald lines in the docs: the checker and `--help` agree on the commands', (t) => {
  // Every command `herald --help` lists appears in some doc line, so none is undocumented.
  const main = spawnSync(process.execPath, [join(repoRoot, 'build/src/main.js'), '--help'], { encoding: 'utf8' }).stdout;
  const commands = [...main.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  t.true(commands.length >= 5, main);
  const used = new Set(
    shellBlocks(blocks).flatMap((block) => checkBlockLines(block).filter((c) => c.kind === 'herald').map((c) => commandWords(c.line.words)[1])),
  );
  for (const command of commands) t.true(used.has(command), `no doc shows \`herald ${command}\``);
  t.deepEqual(heraldLineProblems(['herald', 'trigger', 'run', 'x', 'y', '-n', 'argocd', '--channel', 'c']), []);
});
