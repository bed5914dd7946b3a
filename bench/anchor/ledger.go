package main

// anchor ledger: for each Application read (one JSON object a line), prints the
// annotations the engine would leave on it after notifying its current state: the
// engine's own destinations (ConfigMap subscriptions and subscribe annotations),
// trigger evaluation and NotificationsState. The bench pre-seeds its Applications
// with them, so that a cold start sends nothing, as herald's ledger does for herald.

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/controller"
	"github.com/argoproj/notifications-engine/pkg/subscriptions"
)

func runLedger(args []string) error {
	set := flag.NewFlagSet("ledger", flag.ContinueOnError)
	configMapFile := set.String("configmap", "", "the notifications ConfigMap, as JSON")
	namespace := set.String("namespace", "argocd", "the ConfigMap's namespace")
	if err := set.Parse(args); err != nil {
		return err
	}
	raw, err := os.ReadFile(*configMapFile)
	if err != nil {
		return err
	}
	var configMap corev1.ConfigMap
	if err := json.Unmarshal(raw, &configMap); err != nil {
		return err
	}
	configMap.Namespace = *namespace
	secret := &corev1.Secret{Data: map[string][]byte{}}
	config, err := api.ParseConfig(&configMap, secret)
	if err != nil {
		return err
	}
	getVars, err := initGetVars(config, &configMap, secret)
	if err != nil {
		return err
	}
	engine, err := api.NewAPI(*config, getVars)
	if err != nil {
		return err
	}

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		app := &unstructured.Unstructured{}
		if err := json.Unmarshal(in.Bytes(), &app.Object); err != nil {
			return err
		}
		state := controller.NewStateFromRes(app)
		destinations := config.GetGlobalDestinations(app.GetLabels())
		destinations.Merge(subscriptions.NewAnnotations(app.GetAnnotations()).GetDestinations(config.DefaultTriggers, config.ServiceDefaultTriggers))
		for trigger, targets := range destinations.Dedup() {
			results, err := engine.RunTrigger(trigger, app.Object)
			if err != nil {
				return err
			}
			for _, result := range results {
				for _, target := range targets {
					state.SetAlreadyNotified(false, config.Namespace, trigger, result, target, result.Triggered)
				}
			}
		}
		annotations, err := state.Persist(app)
		if err != nil {
			return err
		}
		line, err := json.Marshal(map[string]string{subscriptions.NotifiedAnnotationKey(): annotations[subscriptions.NotifiedAnnotationKey()]})
		if err != nil {
			return err
		}
		if _, err := out.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return in.Err()
}
