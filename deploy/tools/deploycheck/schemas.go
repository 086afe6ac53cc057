// Package deploycheck validates deploy/: the Compose file (loaded with compose-go, the
// library `docker compose` is built on) and the Helm chart (rendered with `helm
// template`, validated with `kubeconform -strict`). `make deploy-check` runs its tests.
//
// kubeconform normally downloads JSON schemas of the Kubernetes kinds from GitHub. Here
// they are made from the Kubernetes OpenAPI document that the k8s.io/kubernetes module
// carries (api/openapi-spec/swagger.json), and the ServiceMonitor's from the
// prometheus-operator module's CRD, both fetched as plain module downloads through the
// Go module proxy, checked against pinned hashes, and converted the way kubeconform's
// own openapi2jsonschema.py converts them: standalone, strict (no property that the
// schema does not name), int-or-string and quantities as the API server reads them.
package deploycheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const refPrefix = "#/definitions/"

// objectMeta is the definition a custom resource's metadata is checked against.
const objectMeta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

// Schemas makes kubeconform's strict standalone schemas for the kinds it knows.
type Schemas struct {
	defs map[string]any    // the OpenAPI document's definitions, converted
	kind map[string]string // "apiVersion kind" -> its definition's name
	crds map[string]any    // "apiVersion kind" -> a custom resource's converted schema
}

// LoadSwagger reads a Kubernetes OpenAPI v2 document (swagger.json).
func LoadSwagger(file string) (*Schemas, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("%s: no definitions", file)
	}
	s := &Schemas{defs: map[string]any{}, kind: map[string]string{}, crds: map[string]any{}}
	for name, def := range doc.Definitions {
		s.defs[name] = convertDefinition(name, def)
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			m, _ := g.(map[string]any)
			group, _ := m["group"].(string)
			version, _ := m["version"].(string)
			kind, _ := m["kind"].(string)
			s.kind[key(apiVersion(group, version), kind)] = name
		}
	}
	return s, nil
}

// AddCRD adds the custom resources a CustomResourceDefinition (YAML) defines, one per
// served version.
func (s *Schemas) AddCRD(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var crd struct {
		Kind string `json:"kind"`
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Served bool   `json:"served"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if crd.Kind != "CustomResourceDefinition" {
		return fmt.Errorf("%s: not a CustomResourceDefinition but %q", file, crd.Kind)
	}
	n := 0
	for _, v := range crd.Spec.Versions {
		if !v.Served || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		root := convert(v.Schema.OpenAPIV3Schema, true).(map[string]any)
		// The CRD says only "metadata: object"; check it as the API server does.
		if props, ok := root["properties"].(map[string]any); ok && s.defs[objectMeta] != nil {
			props["metadata"] = map[string]any{"$ref": refPrefix + objectMeta}
		}
		s.crds[key(apiVersion(crd.Spec.Group, v.Name), crd.Spec.Names.Kind)] = root
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: no served version with a schema", file)
	}
	return nil
}

// Kinds lists the "apiVersion kind" pairs there is a schema for.
func (s *Schemas) Kinds() []string {
	var out []string
	for k := range s.kind {
		out = append(out, k)
	}
	for k := range s.crds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownKind is returned by Write for a kind without a schema.
var ErrUnknownKind = errors.New("no schema for this kind")

// Write writes the schema of one kind where kubeconform -strict -schema-location dir
// -kubernetes-version k8sVersion looks for it, and returns that file's path.
func (s *Schemas) Write(dir, k8sVersion, apiVersion, kind string) (string, error) {
	root, err := s.Schema(apiVersion, kind)
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, KubeconformPath(k8sVersion, apiVersion, kind))
	b, err := json.Marshal(root)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	return file, os.WriteFile(file, b, 0o644)
}

// Schema is the standalone strict schema of one kind: the kind's own schema with every
// definition it refers to, directly or not, under "definitions".
func (s *Schemas) Schema(apiVersion, kind string) (map[string]any, error) {
	k := key(apiVersion, kind)
	var root map[string]any
	if crd, ok := s.crds[k]; ok {
		root = deepCopy(crd).(map[string]any)
	} else if name, ok := s.kind[k]; ok {
		root = deepCopy(s.defs[name]).(map[string]any)
	} else {
		return nil, fmt.Errorf("%s %s: %w", apiVersion, kind, ErrUnknownKind)
	}
	defs := map[string]any{}
	queue := refs(root, nil)
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := defs[name]; done {
			continue
		}
		def, ok := s.defs[name]
		if !ok {
			return nil, fmt.Errorf("%s %s: refers to %s, which the document does not define", apiVersion, kind, name)
		}
		defs[name] = def
		queue = refs(def, queue)
	}
	if len(defs) > 0 {
		root["definitions"] = defs
	}
	return root, nil
}

// KubeconformPath is where kubeconform looks for a kind's strict schema below a local
// -schema-location (its default template, pkg/registry/registry.go):
// v<version>-standalone-strict/<kind>-<first part of the group>-<version>.json.
func KubeconformPath(k8sVersion, apiVersion, kind string) string {
	groupParts := strings.Split(apiVersion, "/")
	versionParts := strings.Split(groupParts[0], ".")
	suffix := "-" + strings.ToLower(versionParts[0])
	if len(groupParts) > 1 {
		suffix += "-" + strings.ToLower(groupParts[1])
	}
	return filepath.Join("v"+k8sVersion+"-standalone-strict", strings.ToLower(kind)+suffix+".json")
}

func apiVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

func key(apiVersion, kind string) string { return apiVersion + " " + kind }

// convertDefinition converts one definition of the OpenAPI document. A quantity is a
// string ("500m", "1Gi") or a number (2) in a manifest: the API server reads both.
func convertDefinition(name string, def map[string]any) any {
	if name == "io.k8s.apimachinery.pkg.api.resource.Quantity" {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	return convert(def, false)
}

// convert returns a copy of an OpenAPI schema as a strict JSON schema, walking only
// the keywords that hold schemas (a property may be called "format" or "required"):
//   - an object schema that names its properties allows no others (unless it keeps
//     unknown fields, x-kubernetes-preserve-unknown-fields);
//   - int-or-string is a string or an integer;
//   - an optional property may be null, as the API server accepts (it drops them);
//     in a CRD, so may one marked nullable.
func convert(node any, crd bool) any {
	m, ok := node.(map[string]any)
	if !ok {
		return deepCopy(node)
	}
	if m["format"] == "int-or-string" || m["x-kubernetes-int-or-string"] == true {
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch k {
		case "properties", "patternProperties", "definitions":
			if props, ok := v.(map[string]any); ok {
				c := make(map[string]any, len(props))
				for name, p := range props {
					c[name] = convert(p, crd)
				}
				out[k] = c
				continue
			}
		case "items", "additionalProperties", "not":
			if _, ok := v.(map[string]any); ok {
				out[k] = convert(v, crd)
				continue
			}
			if l, ok := v.([]any); ok && k == "items" {
				out[k] = convertAll(l, crd)
				continue
			}
		case "allOf", "anyOf", "oneOf":
			if l, ok := v.([]any); ok {
				out[k] = convertAll(l, crd)
				continue
			}
		}
		out[k] = deepCopy(v)
	}
	if crd && out["nullable"] == true {
		allowNull(out)
	}
	if props, ok := out["properties"].(map[string]any); ok {
		if _, set := out["additionalProperties"]; !set && out["x-kubernetes-preserve-unknown-fields"] != true {
			out["additionalProperties"] = false
		}
		required := map[string]bool{}
		if rs, ok := out["required"].([]any); ok {
			for _, r := range rs {
				if name, ok := r.(string); ok {
					required[name] = true
				}
			}
		}
		for name, p := range props {
			if !required[name] {
				allowNull(p)
			}
		}
	}
	return out
}

func convertAll(l []any, crd bool) []any {
	out := make([]any, len(l))
	for i, v := range l {
		out[i] = convert(v, crd)
	}
	return out
}

// allowNull adds "null" to a schema's type.
func allowNull(node any) {
	m, ok := node.(map[string]any)
	if !ok {
		return
	}
	if t, ok := m["type"].(string); ok && t != "null" {
		m["type"] = []any{t, "null"}
	}
}

// refs appends the names of the definitions node refers to.
func refs(node any, names []string) []string {
	switch n := node.(type) {
	case map[string]any:
		if r, ok := n["$ref"].(string); ok && strings.HasPrefix(r, refPrefix) {
			names = append(names, strings.TrimPrefix(r, refPrefix))
		}
		for _, v := range n {
			names = refs(v, names)
		}
	case []any:
		for _, v := range n {
			names = refs(v, names)
		}
	}
	return names
}

func deepCopy(node any) any {
	switch n := node.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, v := range n {
			out[k] = deepCopy(v)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = deepCopy(v)
		}
		return out
	default:
		return n
	}
}
