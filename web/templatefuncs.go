package web

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/stegvis/stegvis/store"
)

// formCtx and fieldCtx carry a form's or an input's name, value and error into the
// participant page's small templates.
type formCtx struct {
	P    page
	Name string
}

type fieldCtx struct {
	P                       page
	ID, Field, Type, Value  string
	Error, Min, Max, Prefix string
	Options                 []string
}

func init() {
	funcs["form"] = func(p page, name string) formCtx { return formCtx{P: p, Name: name} }
	// field describes one input of a form. kind is an input type, or for a select
	// the list of options; extra is "min|max" for an input, the message prefix of the
	// options for a select.
	funcs["field"] = func(p page, form, name string, kind any, extra string) fieldCtx {
		f := fieldCtx{P: p, ID: form + "-" + name, Field: name}
		if d, ok := p.Data.(participantData); ok && d.Form == form {
			f.Value, f.Error = d.Values[name], d.Errors[name]
		}
		switch k := kind.(type) {
		case string:
			f.Type = k
			if lo, hi, ok := strings.Cut(extra, "|"); ok {
				f.Min, f.Max = lo, hi
			}
		case nil:
		default:
			v := reflect.ValueOf(k)
			for i := range v.Len() {
				f.Options = append(f.Options, fmt.Sprint(v.Index(i).Interface()))
			}
			f.Prefix = extra
		}
		return f
	}
	funcs["list"] = func(s ...string) []string { return s }
	funcs["dict"] = func(p page, key string, rows []store.ParticipantRow) listBlock {
		return listBlock{P: p, Key: key, Rows: rows}
	}
}

// listBlock is a titled list of participants on "my day".
type listBlock struct {
	P    page
	Key  string
	Rows []store.ParticipantRow
}
