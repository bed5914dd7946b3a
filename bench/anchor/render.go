package main

// anchor render: what the anchor would send for one Application, without a cluster:
// every trigger of the ConfigMap evaluated, and for each that fires, its templates
// rendered for the webhook service (method, path, body). The bench uses it to check
// the anchor's configuration; docs/performance.md shows how.

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/templates"
)

func readJSONFile(path string, into any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

func runRender(args []string) error {
	set := flag.NewFlagSet("render", flag.ContinueOnError)
	configMapFile := set.String("configmap", "", "the notifications ConfigMap, as JSON")
	secretFile := set.String("secret", "", "the notifications Secret, as JSON (stringData or data)")
	service := set.String("service", "dingtalk", "destination service")
	recipient := set.String("recipient", "", "destination recipient")
	if err := set.Parse(args); err != nil {
		return err
	}
	var configMap corev1.ConfigMap
	if err := readJSONFile(*configMapFile, &configMap); err != nil {
		return err
	}
	secret := &corev1.Secret{Data: map[string][]byte{}}
	if *secretFile != "" {
		if err := readJSONFile(*secretFile, secret); err != nil {
			return err
		}
		if secret.Data == nil {
			secret.Data = map[string][]byte{}
		}
		for k, v := range secret.StringData {
			secret.Data[k] = []byte(v)
		}
	}
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var app map[string]any
	if err := json.Unmarshal(raw, &app); err != nil {
		return err
	}
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
	formatter, err := templates.NewService(config.Templates)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(config.Triggers))
	for name := range config.Triggers {
		names = append(names, name)
	}
	sort.Strings(names)
	destination := services.Destination{Service: *service, Recipient: *recipient}
	for _, name := range names {
		results, err := engine.RunTrigger(name, app)
		if err != nil {
			return fmt.Errorf("trigger %s: %w", name, err)
		}
		for _, result := range results {
			fmt.Printf("trigger %s condition %s: fires=%v oncePer=%q\n", name, result.Key, result.Triggered, result.OncePer)
			if !result.Triggered {
				continue
			}
			vars := getVars(app, destination)
			vars["serviceType"] = destination.Service
			vars["recipient"] = destination.Recipient
			notification, err := formatter.FormatNotification(vars, result.Templates...)
			if err != nil {
				return fmt.Errorf("templates of %s: %w", name, err)
			}
			for service, webhook := range notification.Webhook {
				var parsed any
				if err := json.Unmarshal([]byte(webhook.Body), &parsed); err != nil {
					return fmt.Errorf("the %s body for %s is not JSON: %w\n%s", name, service, err, webhook.Body)
				}
				fmt.Printf("  %s %s path %s\n  %s\n", service, webhook.Method, webhook.Path, webhook.Body)
			}
		}
	}
	return nil
}
