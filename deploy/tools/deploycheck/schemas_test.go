package deploycheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestKubeconformPath(t *testing.T) {
	for _, c := range []struct{ apiVersion, kind, want string }{
		{"v1", "Service", "v1.35.4-standalone-strict/service-v1.json"},
		{"apps/v1", "Deployment", "v1.35.4-standalone-strict/deployment-apps-v1.json"},
		{"autoscaling/v2", "HorizontalPodAutoscaler", "v1.35.4-standalone-strict/horizontalpodautoscaler-autoscaling-v2.json"},
		{"networking.k8s.io/v1", "Ingress", "v1.35.4-standalone-strict/ingress-networking-v1.json"},
		{"monitoring.coreos.com/v1", "ServiceMonitor", "v1.35.4-standalone-strict/servicemonitor-monitoring-v1.json"},
		{"monitoring.coreos.com/v1", "PrometheusRule", "v1.35.4-standalone-strict/prometheusrule-monitoring-v1.json"},
	} {
		if got := KubeconformPath("1.35.4", c.apiVersion, c.kind); got != filepath.FromSlash(c.want) {
			t.Errorf("%s %s: %s, want %s", c.apiVersion, c.kind, got, c.want)
		}
	}
}

// The conversion on a small document: strictness, optional nulls, int-or-string,
// quantities, and only the definitions a kind needs.
func TestSchemaConversion(t *testing.T) {
	doc := `{"definitions": {
	  "x.Thing": {"type": "object", "required": ["spec"],
	    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
	      "spec": {"$ref": "#/definitions/x.Spec"}},
	    "x-kubernetes-group-version-kind": [{"group": "example.org", "version": "v1", "kind": "Thing"}]},
	  "x.Spec": {"type": "object", "properties": {
	      "port": {"$ref": "#/definitions/x.IntOrString"},
	      "memory": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
	      "labels": {"type": "object", "additionalProperties": {"type": "string"}},
	      "format": {"type": "string"}}},
	  "x.IntOrString": {"type": "string", "format": "int-or-string"},
	  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
	  "x.Unused": {"type": "object", "properties": {}}
	}}`
	file := filepath.Join(t.TempDir(), "swagger.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSwagger(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Schema("example.org/v1", "Thing")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type": "object", "required": ["spec"], "additionalProperties": false,
	  "properties": {"apiVersion": {"type": ["string", "null"]}, "kind": {"type": ["string", "null"]},
	    "spec": {"$ref": "#/definitions/x.Spec"}},
	  "x-kubernetes-group-version-kind": [{"group": "example.org", "version": "v1", "kind": "Thing"}],
	  "definitions": {
	    "x.Spec": {"type": "object", "additionalProperties": false, "properties": {
	      "port": {"$ref": "#/definitions/x.IntOrString"},
	      "memory": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
	      "labels": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
	      "format": {"type": ["string", "null"]}}},
	    "x.IntOrString": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
	    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]}}}`
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(roundTrip(t, got), w) {
		b, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("converted:\n%s", b)
	}
	if _, err := s.Schema("example.org/v1", "Other"); err == nil {
		t.Error("a schema for an unknown kind")
	}
}

func roundTrip(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
