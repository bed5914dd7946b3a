import test from 'ava';
import { UsageError, controllerConfig } from '../../src/config.js';

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
});
