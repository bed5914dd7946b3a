package main

// The controller, wired as Argo CD's notification controller wires the engine:
// a dynamic SharedIndexInformer on Applications in one namespace (resync 60 s,
// namespace index), field-selected informers on the notifications ConfigMap and
// Secret (resync 3 min) feeding api.NewFactory, and controller.NewController with
// Argo CD's skip rule (an app whose operation finished after its last reconcile
// is not evaluated yet) and its metrics registry. Not wired, because the bench does
// not use them: AppProject informer and project-level subscriptions, self-service
// configuration, Argo CD's settings and repo-server clients.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	log "github.com/sirupsen/logrus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/controller"
)

const (
	appResyncPeriod      = 60 * time.Second // argo-cd notification_controller/controller
	settingsResyncPeriod = 3 * time.Minute  // argo-cd util/notification/k8s
)

var applicationsResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

type controllerFlags struct {
	kubeconfig, namespace, configMap, secret, logLevel string
	processors, metricsPort, burst                     int
	qps                                                float64
}

func parseControllerFlags(args []string) (controllerFlags, error) {
	var f controllerFlags
	set := flag.NewFlagSet("controller", flag.ContinueOnError)
	set.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file")
	set.StringVar(&f.namespace, "namespace", "argocd", "namespace of the Applications, the ConfigMap and the Secret")
	set.StringVar(&f.configMap, "config-map-name", "argocd-notifications-cm", "notifications ConfigMap")
	set.StringVar(&f.secret, "secret-name", "argocd-notifications-secret", "notifications Secret")
	set.StringVar(&f.logLevel, "loglevel", "info", "log level (Argo CD's default: info)")
	set.IntVar(&f.processors, "processors-count", 1, "processors (Argo CD's default: 1)")
	set.IntVar(&f.metricsPort, "metrics-port", 0, "metrics port on 127.0.0.1 (0: a free port)")
	set.Float64Var(&f.qps, "kube-qps", 0, "client-go QPS (0: client-go's default of 5, as Argo CD)")
	set.IntVar(&f.burst, "kube-burst", 0, "client-go burst (0: client-go's default of 10, as Argo CD)")
	return f, set.Parse(args)
}

// appInformer: argo-cd's newInformer for one namespace.
func appInformer(apps dynamic.ResourceInterface) cache.SharedIndexInformer {
	return cache.NewSharedIndexInformer(
		&cache.ListWatch{
			ListFunc: func(options metav1.ListOptions) (runtime.Object, error) {
				list, err := apps.List(context.TODO(), options)
				if err != nil {
					return nil, fmt.Errorf("failed to list applications: %w", err)
				}
				return list, nil
			},
			WatchFunc: func(options metav1.ListOptions) (watch.Interface, error) {
				return apps.Watch(context.TODO(), options)
			},
		},
		&unstructured.Unstructured{},
		appResyncPeriod,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
	)
}

func nestedTime(app *unstructured.Unstructured, fields ...string) (time.Time, bool) {
	raw, found, err := unstructured.NestedString(app.Object, fields...)
	if !found || err != nil {
		return time.Time{}, false
	}
	parsed, err := time.Parse(time.RFC3339, raw)
	return parsed, err == nil
}

// syncStatusRefreshed: argo-cd's isAppSyncStatusRefreshed. After an operation
// finished, Argo CD has not yet compared the app (sync and health are stale) until
// reconciledAt or observedAt is at least finishedAt.
func syncStatusRefreshed(app *unstructured.Unstructured) bool {
	phase, found, err := unstructured.NestedString(app.Object, "status", "operationState", "phase")
	if !found || err != nil {
		return true
	}
	if phase != "Failed" && phase != "Error" && phase != "Succeeded" {
		return true
	}
	finishedAt, ok := nestedTime(app, "status", "operationState", "finishedAt")
	if !ok {
		return false
	}
	reconciledAt, _ := nestedTime(app, "status", "reconciledAt")
	observedAt, _ := nestedTime(app, "status", "observedAt")
	return !(finishedAt.After(reconciledAt) && finishedAt.After(observedAt))
}

func runController(args []string) error {
	flags, err := parseControllerFlags(args)
	if err != nil {
		return err
	}
	level, err := log.ParseLevel(flags.logLevel)
	if err != nil {
		return err
	}
	log.SetLevel(level)
	// JSON as Argo CD logs; milliseconds (Argo CD: seconds) so that the bench can place
	// the "Sending notification" line between a change and the robot's receipt.
	log.SetFormatter(&log.JSONFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00"})
	log.SetOutput(os.Stdout)

	restConfig, err := clientcmd.BuildConfigFromFlags("", flags.kubeconfig)
	if err != nil {
		return err
	}
	restConfig.UserAgent = "argocd-notifications-controller (herald bench anchor)"
	restConfig.QPS = float32(flags.qps)
	restConfig.Burst = flags.burst
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "anchor_api_requests_total",
		Help: "API requests the anchor made, by verb (WATCH for watches) and resource.",
	}, []string{"verb", "resource"})
	var writes atomic.Int64
	restConfig.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return &requestCounter{next: next, byKind: requests, writes: &writes}
	})
	dynamicClient, err := dynamic.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	coreClient, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	apps := dynamicClient.Resource(applicationsResource)
	work := newActivity()
	informer := &observedInformer{SharedIndexInformer: appInformer(apps.Namespace(flags.namespace)), activity: work}
	byName := func(name string) func(*metav1.ListOptions) {
		return func(options *metav1.ListOptions) { options.FieldSelector = "metadata.name=" + name }
	}
	secrets := coreinformers.NewFilteredSecretInformer(coreClient, flags.namespace, settingsResyncPeriod, cache.Indexers{}, byName(flags.secret))
	configMaps := coreinformers.NewFilteredConfigMapInformer(coreClient, flags.namespace, settingsResyncPeriod, cache.Indexers{}, byName(flags.configMap))
	factory := api.NewFactory(api.Settings{ConfigMapName: flags.configMap, SecretName: flags.secret, InitGetVars: initGetVars}, flags.namespace, secrets, configMaps)

	metrics := controller.NewMetricsRegistry("argocd")
	metrics.MustRegister(requests, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	engine := controller.NewController(apps, informer, factory,
		controller.WithMetricsRegistry(metrics),
		controller.WithSkipProcessing(func(obj metav1.Object) (bool, string) {
			work.take(obj.GetNamespace() + "/" + obj.GetName())
			app, ok := obj.(*unstructured.Unstructured)
			if !ok {
				return false, ""
			}
			if app.GetNamespace() != flags.namespace {
				return true, "app is not in one of the application-namespaces, nor the notification controller namespace"
			}
			return !syncStatusRefreshed(app), "sync status out of date"
		}),
		controller.WithEventCallback(func(sequence controller.NotificationEventSequence) {
			if sequence.Resource == nil { // gone from the cache: the skip hook was not called
				work.take(sequence.Key)
			}
			work.finish()
		}),
	)

	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", flags.metricsPort))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	go func() { _ = http.Serve(listener, mux) }()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go informer.Run(ctx.Done())
	go secrets.Run(ctx.Done())
	go configMaps.Run(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced, informer.handlersSynced, secrets.HasSynced, configMaps.HasSynced) {
		return errors.New("timed out waiting for caches to sync")
	}
	log.WithFields(log.Fields{
		"ports":      map[string]int{"metrics": listener.Addr().(*net.TCPAddr).Port},
		"apps":       len(informer.GetStore().ListKeys()),
		"processors": flags.processors,
	}).Info("anchor started")
	go reportActivity(ctx, work, &writes)
	engine.Run(flags.processors, ctx.Done())
	return nil
}
