package web

import (
	"embed"
	"fmt"

	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// The message catalogue: every text on the pages, Swedish first (the default) and
// English. messages/active.<lang>.yaml hold them; a test checks that both languages
// have every message the templates use.
//
//go:embed messages/*.yaml
var messageFS embed.FS

// Languages the pages speak; the first is the default.
var Languages = []string{"sv", "en"}

const langCookie = "stegvis_lang"

type catalogue struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
}

func newCatalogue() (*catalogue, error) {
	b := i18n.NewBundle(language.Swedish)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	c := &catalogue{bundle: b, localizers: map[string]*i18n.Localizer{}}
	for _, l := range Languages {
		data, err := messageFS.ReadFile("messages/active." + l + ".yaml")
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(data, "active."+l+".yaml"); err != nil {
			return nil, fmt.Errorf("message catalogue %s: %w", l, err)
		}
		c.localizers[l] = i18n.NewLocalizer(b, l)
	}
	return c, nil
}

// text is message id in lang, with args as name/value pairs for its {{.Name}} fields.
// A missing message shows its id, so a gap is visible rather than blank.
func (c *catalogue) text(lang, id string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	l, ok := c.localizers[lang]
	if !ok {
		l = c.localizers[Languages[0]]
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// language is the person's choice (a cookie set by /lang/…), else Swedish.
func (c *catalogue) language(ctx *gin.Context) string {
	if l, err := ctx.Cookie(langCookie); err == nil {
		if _, ok := c.localizers[l]; ok {
			return l
		}
	}
	return Languages[0]
}

// has reports whether the catalogue has message id (in the default language).
func (c *catalogue) has(id string) bool {
	_, err := c.localizers[Languages[0]].Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}
