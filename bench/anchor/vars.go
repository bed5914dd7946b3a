package main

// The variables templates and trigger conditions see, as Argo CD provides them
// (argo-cd util/notification/settings initGetVars and util/notification/expression
// Spawn): app, context (with notificationType), secrets, and the helper namespaces
// time, strings, sync and repo. repo's two helpers that ask Argo CD's repo-server
// fail here: the bench has no repo-server and its templates do not call them.

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"

	giturls "github.com/chainguard-dev/git-urls"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
)

func timeHelpers() map[string]any {
	return map[string]any{
		"Parse": func(value string) time.Time {
			parsed, err := time.Parse(time.RFC3339, value)
			if err != nil {
				panic(err)
			}
			return parsed
		},
		"Now":         time.Now,
		"Nanosecond":  time.Nanosecond,
		"Microsecond": time.Microsecond,
		"Millisecond": time.Millisecond,
		"Second":      time.Second,
		"Minute":      time.Minute,
		"Hour":        time.Hour,
		"Layout":      time.Layout,
		"ANSIC":       time.ANSIC,
		"UnixDate":    time.UnixDate,
		"RubyDate":    time.RubyDate,
		"RFC822":      time.RFC822,
		"RFC822Z":     time.RFC822Z,
		"RFC850":      time.RFC850,
		"RFC1123":     time.RFC1123,
		"RFC1123Z":    time.RFC1123Z,
		"RFC3339":     time.RFC3339,
		"RFC3339Nano": time.RFC3339Nano,
		"Kitchen":     time.Kitchen,
		"Stamp":       time.Stamp,
		"StampMilli":  time.StampMilli,
		"StampMicro":  time.StampMicro,
		"StampNano":   time.StampNano,
	}
}

func stringHelpers() map[string]any {
	return map[string]any{
		"ReplaceAll": strings.ReplaceAll,
		"ToUpper":    strings.ToUpper,
		"ToLower":    strings.ToLower,
	}
}

// syncHelpers: GetInfoItem reads one entry of status.operationState.operation.info.
func syncHelpers() map[string]any {
	return map[string]any{
		"GetInfoItem": func(app map[string]any, name string) string {
			status, _ := app["status"].(map[string]any)
			state, _ := status["operationState"].(map[string]any)
			operation, _ := state["operation"].(map[string]any)
			items, _ := operation["info"].([]any)
			for _, raw := range items {
				item, _ := raw.(map[string]any)
				if item["name"] == name {
					value, _ := item["value"].(string)
					return value
				}
			}
			return ""
		},
	}
}

var dotGit = regexp.MustCompile(`\.git$`)

func repoHelpers() map[string]any {
	return map[string]any{
		"RepoURLToHTTPS": func(raw string) string {
			parsed, err := giturls.Parse(raw)
			if err != nil {
				panic(err)
			}
			parsed.Scheme = "https"
			parsed.User = nil
			return parsed.String()
		},
		"FullNameByRepoURL": func(raw string) string {
			parsed, err := giturls.Parse(raw)
			if err != nil {
				panic(err)
			}
			segments := []string{}
			for _, segment := range strings.Split(dotGit.ReplaceAllString(parsed.Path, ""), "/") {
				if segment != "" {
					segments = append(segments, segment)
				}
			}
			if len(segments) < 2 {
				return strings.Join(segments, "/")
			}
			return segments[0] + "/" + segments[1]
		},
		"QueryEscape":       url.QueryEscape,
		"GetCommitMetadata": func(string) any { panic(errNoRepoServer) },
		"GetAppDetails":     func() any { panic(errNoRepoServer) },
	}
}

var errNoRepoServer = errors.New("anchor has no Argo CD repo-server")

// initGetVars is api.Settings.InitGetVars: called by the engine whenever the
// ConfigMap or Secret changed, it returns the per-send variable builder.
func initGetVars(_ *api.Config, configMap *corev1.ConfigMap, secret *corev1.Secret) (api.GetVars, error) {
	context := map[string]string{}
	if raw, ok := configMap.Data["context"]; ok {
		if err := yaml.Unmarshal([]byte(raw), &context); err != nil {
			return nil, err
		}
	}
	shared := map[string]any{"time": timeHelpers(), "strings": stringHelpers(), "sync": syncHelpers()}
	return func(app map[string]any, dest services.Destination) map[string]any {
		withType := map[string]string{"notificationType": dest.Service}
		for k, v := range context {
			withType[k] = v
		}
		vars := map[string]any{"app": app, "context": withType, "secrets": secret.Data, "repo": repoHelpers()}
		for k, v := range shared {
			vars[k] = v
		}
		return vars
	}, nil
}
