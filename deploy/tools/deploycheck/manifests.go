package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// Object is one Kubernetes manifest, decoded as JSON decodes (numbers are float64).
type Object map[string]any

// ParseManifests splits a multi-document YAML stream (helm template's output) into its
// objects; empty documents are skipped.
func ParseManifests(b []byte) ([]Object, error) {
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	var out []Object
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		raw, err := yamlv3.Marshal(&n)
		if err != nil {
			return nil, err
		}
		var o Object
		if err := yaml.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
}

// APIVersion and Kind say what the object is.
func (o Object) APIVersion() string { s, _ := o["apiVersion"].(string); return s }

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is metadata.name.
func (o Object) Name() string { s, _ := o.Get("metadata.name").(string); return s }

// Get follows a dotted path of map keys; a number picks a list element
// ("spec.template.spec.containers.0.name"). It returns nil when the path is absent.
func (o Object) Get(path string) any {
	var cur any = map[string]any(o)
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// Find returns the object of that kind and name, or nil.
func Find(objs []Object, kind, name string) Object {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	return nil
}

// Env is a container's environment: name -> value, or "secret:<name>/<key>" for a
// value taken from a Secret.
func Env(container any) map[string]string {
	out := map[string]string{}
	c, _ := container.(map[string]any)
	list, _ := c["env"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		if v, ok := m["value"].(string); ok {
			out[name] = v
			continue
		}
		if ref, ok := Object(m).Get("valueFrom.secretKeyRef").(map[string]any); ok {
			out[name] = fmt.Sprintf("secret:%v/%v", ref["name"], ref["key"])
		}
	}
	return out
}
