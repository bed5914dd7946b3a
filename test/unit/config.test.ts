import test from 'ava';
import { controllerConfig, controllerFlags } from '../../src/config.js';
import { flagsHelp, parseFlags, UsageError, type FlagSpec } from '../../src/flags.js';

test('defaults follow the design: control namespace argocd, ports 8080/8081/9001, leader election on', (t) => {
  const config = controllerConfig([], {});
  t.is(config.controlNamespace, 'argocd');
  t.is(config.webhookPort, 8080);
  t.is(config.healthPort, 8081);
  t.is(config.metricsPort, 9001);
  t.true(config.leaderElection);
  t.deepEqual(config.namespaces, []);
  t.is(config.webhookSecretName, 'argocd-secret');
  t.is(config.webhookSecretNamespace, 'argocd');
  t.true(Object.isFrozen(config));
});

test('flags win over the environment; booleans, lists and context pairs parse', (t) => {
  const config = controllerConfig(
    ['--control-namespace=ops', '--namespaces', 'a, b', '--no-leader-election', '--context', 'env=prod', '--argocd-url', 'https://cd.example.com/', '--webhook-port', 'off'],
    { HERALD_CONTROL_NAMESPACE: 'ignored', HERALD_LOG_LEVEL: 'debug', HERALD_CONTEXT: 'team=x' },
  );
  t.is(config.controlNamespace, 'ops');
  t.deepEqual(config.namespaces, ['a', 'b']);
  t.false(config.leaderElection);
  t.is(config.logLevel, 'debug');
  t.deepEqual({ ...config.context }, { argocdUrl: 'https://cd.example.com', env: 'prod' });
  t.is(config.webhookPort, undefined);
});

test('bad flags are usage errors that say what is wrong', (t) => {
  t.throws(() => controllerConfig(['--bogus'], {}), { instanceOf: UsageError, message: 'unknown flag --bogus' });
  t.throws(() => controllerConfig(['--metrics-port', 'x'], {}), { instanceOf: UsageError, message: /--metrics-port must be an integer/ });
  t.throws(() => controllerConfig(['--log-level', 'loud'], {}), { instanceOf: UsageError, message: /--log-level/ });
  t.throws(() => controllerConfig(['--context', 'novalue'], {}), { instanceOf: UsageError, message: /key=value/ });
  t.throws(() => controllerConfig(['--control-namespace'], {}), { instanceOf: UsageError, message: /needs a value/ });
  t.throws(() => controllerConfig(['--decision-write-delay', '10001'], {}), { instanceOf: UsageError, message: /--decision-write-delay must be .*10000/ });
  t.throws(() => controllerConfig(['--decision-write-delay', '-1'], {}), { instanceOf: UsageError, message: /--decision-write-delay/ });
});

test('--decision-write-delay: 1000 ms by default, 0 writes every decision before it is sent', (t) => {
  t.is(controllerConfig([], {}).decisionWriteDelayMs, 1000);
  t.is(controllerConfig(['--decision-write-delay=0'], {}).decisionWriteDelayMs, 0);
  t.is(controllerConfig([], { HERALD_DECISION_WRITE_DELAY: '250' }).decisionWriteDelayMs, 250);
});

test('booleans: --flag, --no-flag, --flag=false and the environment; the last one given wins', (t) => {
  t.false(controllerConfig(['--leader-election=false'], {}).leaderElection);
  t.false(controllerConfig(['--leader-election', '--no-leader-election'], {}).leaderElection);
  t.true(controllerConfig(['--no-leader-election', '--leader-election'], {}).leaderElection);
  t.false(controllerConfig([], { HERALD_LEADER_ELECTION: 'false' }).leaderElection);
  t.true(controllerConfig(['--leader-election=yes'], { HERALD_LEADER_ELECTION: 'false' }).leaderElection);
  t.throws(() => controllerConfig(['--leader-election=maybe'], {}), { instanceOf: UsageError, message: '--leader-election must be true or false, got "maybe"' });
  t.throws(() => controllerConfig([], { HERALD_LEADER_ELECTION: 'maybe' }), { instanceOf: UsageError, message: /HERALD_LEADER_ELECTION/ });
  t.throws(() => controllerConfig(['--no-workers'], {}), { instanceOf: UsageError, message: 'unknown flag --no-workers' });
});

test('every controller flag has its environment twin HERALD_<NAME>, a placeholder unless boolean, and a line in --help', (t) => {
  const help = flagsHelp(controllerFlags);
  for (const spec of controllerFlags) {
    t.is(spec.env, `HERALD_${spec.name.toUpperCase().replaceAll('-', '_')}`);
    t.regex(help, new RegExp(`--${spec.name}${spec.value ? ` ${spec.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : ''}\n[^]*?\[env ${spec.env}\]`));
  }
  t.throws(() => controllerConfig(['stray'], {}), { instanceOf: UsageError, message: 'unexpected argument "stray"' });
  t.throws(() => controllerConfig(['--namespaces', '--workers', '2'], {}), { instanceOf: UsageError, message: /--namespaces needs a value/ });
  t.deepEqual(controllerConfig(['--namespaces=-x'], {}).namespaces, ['-x']);
});

test('the CLI shares the parser: short aliases (grouped too), repeatable values, defaults, positionals', (t) => {
  const specs: FlagSpec[] = [
    { name: 'filename', short: 'f', value: 'FILE', repeatable: true, help: 'files' },
    { name: 'quiet', short: 'q', help: 'quiet' },
    { name: 'output', short: 'o', value: 'DIR', default: '-', help: 'out' },
  ];
  const args = parseFlags(['a', '-qf', 'x.yaml', '--filename=y.yaml', 'b'], specs);
  t.deepEqual(args.positionals, ['a', 'b']);
  t.deepEqual(args.flags.get('filename'), ['x.yaml', 'y.yaml']);
  t.true(args.has('quiet'));
  t.false(args.has('help'));
  t.is(args.one('output'), '-');
  t.false(parseFlags(['--quiet=false'], specs).has('quiet'));
  t.true(parseFlags(['-h'], specs).has('help'));
  t.throws(() => parseFlags(['--output'], specs), { instanceOf: UsageError, message: /--output needs a value/ });
  t.throws(() => parseFlags(['-x'], specs), { instanceOf: UsageError, message: "unknown flag -x" });
  t.regex(flagsHelp(specs), /^ {2}-f, --filename FILE\n {8}files \(repeatable\)$/m);
});

test('first sight: record and 600 s by default; --on-first-sight and its environment twin; anything else is a usage error', (t) => {
  const defaults = controllerConfig([], {});
  t.is(defaults.onFirstSight, 'record');
  t.is(defaults.firstSightWindowSeconds, 600);
  t.is(controllerConfig(['--on-first-sight=send'], {}).onFirstSight, 'send');
  t.is(controllerConfig([], { HERALD_ON_FIRST_SIGHT: 'send' }).onFirstSight, 'send');
  t.is(controllerConfig(['--on-first-sight', 'record'], { HERALD_ON_FIRST_SIGHT: 'send' }).onFirstSight, 'record', 'the flag wins');
  t.is(controllerConfig([], { HERALD_FIRST_SIGHT_WINDOW: '0' }).firstSightWindowSeconds, 0);
  t.throws(() => controllerConfig(['--on-first-sight=Send'], {}), { instanceOf: UsageError, message: /--on-first-sight must be record or send, got "Send"/ });
  t.throws(() => controllerConfig(['--first-sight-window=-1'], {}), { instanceOf: UsageError });
});
