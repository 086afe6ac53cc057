package web

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// The org chart's and the input check's refusals (the rule constants of
// api/orgcheck.go, api/input.go and textcheck) have their own message in each
// catalogue, so a refused handover or a NUL in a form speaks the page's language.
func TestEveryOrgChartAndInputRuleIsInTheCatalogues(t *testing.T) {
	cat, err := newCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, file := range []string{"../api/orgcheck.go", "../api/input.go", "../textcheck/textcheck.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || len(spec.Names) != 1 || len(spec.Values) != 1 || !strings.HasPrefix(strings.ToLower(spec.Names[0].Name), "rule") {
				return true
			}
			lit, ok := spec.Values[0].(*ast.BasicLit)
			if !ok {
				return true
			}
			rule, _ := strconv.Unquote(lit.Value)
			rules++
			for _, lang := range Languages {
				if got := cat.text(lang, "Rule: "+rule); got == "Rule: "+rule {
					t.Errorf("%s catalogue lacks the rule %q (%s)", lang, rule, file)
				}
			}
			return true
		})
	}
	if rules != 13 {
		t.Fatalf("found %d rules, want the 13 of orgcheck.go (9), input.go (1) and textcheck.go (3)", rules)
	}
	// A refusal is shown translated, with its values, and a JSON path at its form field.
	fail := &apiFailure{Status: 422}
	_ = json.Unmarshal([]byte(`{"error":{"fields":[
		{"field":"guideId","message":"\"g-x\" is not in the org chart; active guides of arbetsmarknad: g-anna, g-karim",
		 "rule":"%q is not in the org chart; active guides of %s: %s","args":["g-x","arbetsmarknad","g-anna, g-karim"]},
		{"field":"subGoals[1]","message":"holds the control character NUL (U+0000) at byte 2; remove it (this field is one line) and send it again",
		 "rule":"holds the control character %s at byte %s; remove it (this field is one line) and send it again","args":["NUL (U+0000)","2"]}]}}`), &fail.body)
	sv := fail.Fields(cat, "sv")
	if got := sv["guideId"]; got != `"g-x" finns inte i organisationen; aktiva jobbguider i arbetsmarknad: g-anna, g-karim` {
		t.Errorf("Swedish: %q", got)
	}
	if got := sv["subGoals"]; got != "innehåller styrtecknet NUL (U+0000) vid byte 2; ta bort det (fältet är en rad) och skicka igen" {
		t.Errorf("a refused sub-goal is not shown at the subGoals field: %v", sv)
	}
}
