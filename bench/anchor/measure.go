package main

// What the bench needs to measure the anchor, none of it in Argo CD: API requests
// counted by verb and resource, and "busy"/"idle" log lines like herald's, from a
// mirror of the engine's work queue kept outside the engine (the informer handed to
// the engine marks a key pending before the engine's own handler queues it; the
// engine's skip hook, which it calls first when it takes a key, clears it).

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	log "github.com/sirupsen/logrus"
	"k8s.io/client-go/tools/cache"
)

// ---- API requests ------------------------------------------------------------------

type requestCounter struct {
	next   http.RoundTripper
	byKind *prometheus.CounterVec
	writes *atomic.Int64
}

func resourceOf(path string) string {
	segments := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segments) - 1; i > 0; i-- {
		switch segments[i] {
		case "applications", "configmaps", "secrets", "events", "leases":
			return segments[i]
		}
	}
	return "other"
}

func (c *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	verb := req.Method
	if verb == http.MethodGet && req.URL.Query().Get("watch") == "true" {
		verb = "WATCH"
	}
	c.byKind.WithLabelValues(verb, resourceOf(req.URL.Path)).Inc()
	if verb != http.MethodGet && verb != "WATCH" {
		c.writes.Add(1)
	}
	return c.next.RoundTrip(req)
}

// ---- the work-queue mirror ----------------------------------------------------------

type activity struct {
	mu       sync.Mutex
	pending  map[string]struct{}
	taken    atomic.Int64
	finished atomic.Int64
}

func newActivity() *activity { return &activity{pending: map[string]struct{}{}} }

func (a *activity) mark(obj any) {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return
	}
	a.mu.Lock()
	a.pending[key] = struct{}{}
	a.mu.Unlock()
}

func (a *activity) take(key string) {
	a.taken.Add(1)
	a.mu.Lock()
	delete(a.pending, key)
	a.mu.Unlock()
}

func (a *activity) finish() { a.finished.Add(1) }

func (a *activity) depth() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// observedInformer is the Application informer as handed to the engine: the engine's
// Add/Update handlers (which queue the key) run after the key was marked pending.
type observedInformer struct {
	cache.SharedIndexInformer
	activity     *activity
	registration cache.ResourceEventHandlerRegistration
}

// handlersSynced: the engine's handler has been given every object of the initial list.
func (i *observedInformer) handlersSynced() bool {
	return i.registration != nil && i.registration.HasSynced()
}

func (i *observedInformer) AddEventHandler(handler cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	registration, err := i.SharedIndexInformer.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, isInInitialList bool) {
			i.activity.mark(obj)
			handler.OnAdd(obj, isInInitialList)
		},
		UpdateFunc: func(old, new any) {
			i.activity.mark(new)
			handler.OnUpdate(old, new)
		},
		DeleteFunc: handler.OnDelete,
	})
	i.registration = registration
	return registration, err
}

// reportActivity logs "busy" when work appears and "idle" once nothing has been pending
// or in processing for two samples in a row (20 ms apart), with the highest queue depth
// since the last idle line, items processed and API writes so far.
func reportActivity(ctx context.Context, a *activity, writes *atomic.Int64) {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	busy := true
	quietSamples := 0
	maxDepth := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		depth := a.depth()
		if depth > maxDepth {
			maxDepth = depth
		}
		working := depth > 0 || a.taken.Load() != a.finished.Load()
		if working {
			quietSamples = 0
			if !busy {
				busy = true
				log.WithField("queueDepth", depth).Info("busy")
			}
			continue
		}
		quietSamples++
		if busy && quietSamples >= 2 {
			busy = false
			log.WithFields(log.Fields{
				"maxAppQueueDepth":     maxDepth,
				"maxDispatcherBacklog": 0,
				"processed":            a.finished.Load(),
				"apiWrites":            writes.Load(),
			}).Info("idle")
			maxDepth = 0
		}
	}
}
