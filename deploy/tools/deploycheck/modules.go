package deploycheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is a Go module whose files the check reads; it is downloaded into the module
// cache with `go mod download`, not built or required by go.mod.
type Module struct {
	Path, Version string
	// Sum is the module's go.sum hash: the download must be exactly this one.
	Sum string
}

var (
	// Kubernetes carries the API's OpenAPI document, api/openapi-spec/swagger.json.
	// The chart is validated against this version, the oldest that upstream still
	// supports; a zip of 19 MB, once per module cache.
	Kubernetes = Module{Path: "k8s.io/kubernetes", Version: "v1.35.4", Sum: "h1:o/8dBC/pHVpYoGV4OAIytAlNPZbdYVTXJHoYvXC4qzM="}
	// PrometheusOperator carries the CustomResourceDefinitions of its kinds,
	// example/prometheus-operator-crd/*.yaml.
	PrometheusOperator = Module{Path: "github.com/prometheus-operator/prometheus-operator", Version: "v0.94.1", Sum: "h1:QEIb2wenPH+SdMN1xMf8l4Pmj00YYXXI6HlbLlQWkww="}
)

// KubernetesVersion is the Kubernetes release the chart is validated against, as
// kubeconform and helm --kube-version take it.
func KubernetesVersion() string { return strings.TrimPrefix(Kubernetes.Version, "v") }

// Dir downloads the module (through GOPROXY, checked against GOSUMDB and Sum) unless
// the module cache has it, and returns its directory there.
func (m Module) Dir() (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", m.Path+"@"+m.Version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", m.Path, m.Version, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v %s", m.Path, m.Version, err, stderr.String())
	}
	if info.Sum != m.Sum {
		return "", fmt.Errorf("%s@%s has hash %s, not the pinned %s", m.Path, m.Version, info.Sum, m.Sum)
	}
	return info.Dir, nil
}

// LoadSchemas makes the schemas of every Kubernetes kind and of the Prometheus
// Operator's ServiceMonitor and PrometheusRule.
func LoadSchemas() (*Schemas, error) {
	k8s, err := Kubernetes.Dir()
	if err != nil {
		return nil, err
	}
	s, err := LoadSwagger(filepath.Join(k8s, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		return nil, err
	}
	po, err := PrometheusOperator.Dir()
	if err != nil {
		return nil, err
	}
	for _, crd := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		if err := s.AddCRD(filepath.Join(po, "example", "prometheus-operator-crd", crd)); err != nil {
			return nil, err
		}
	}
	return s, nil
}
