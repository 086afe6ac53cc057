package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/calendar"
)

// The participant page's forms, each posting to the API Update of the same name.
// Their inputs are named as the API's fields, so a field error the API returns lands
// next to the input it concerns.
var forms = map[string][]string{
	"meetings":      {"kind", "outcome", "occurredAt", "nextReviewAt", "note"},
	"mapping":       {"recordedAt", "adaptationNeeds", "interestsAndExperience", "ownView", "motivation", "health", "workCapacity"},
	"plan":          {"signedAt", "mainActivity", "day", "from", "to", "subGoals", "followUpAt"},
	"deepened-plan": {"signedAt", "summary"},
	"steps":         {"step", "passedAt"},
	"pause":         {"reason", "from", "note"},
	"resume":        {"at"},
	"transfer":      {"toUnit", "note"},
	"exit":          {"reason", "at", "note"},
	"guide":         {"guideId", "handoverNote"},
}

// timeFields are datetime-local inputs (local Stockholm time, no offset).
var timeFields = map[string]bool{"occurredAt": true, "recordedAt": true, "signedAt": true, "passedAt": true, "from": true, "at": true}

func (s *site) record(c *gin.Context) {
	action, id := c.Param("action"), c.Param("id")
	fields, ok := forms[action]
	if !ok {
		c.Status(http.StatusNotFound)
		return
	}
	values := map[string]string{}
	for _, f := range fields {
		values[f] = strings.TrimSpace(c.PostForm(f))
	}
	body := map[string]any{}
	for _, f := range fields {
		v := values[f]
		if v == "" {
			continue
		}
		switch {
		case action == "plan" && (f == "day" || f == "from" || f == "to"):
			continue // the weekly schedule, below
		case action == "plan" && f == "subGoals":
			var goals []string
			for _, g := range strings.Split(v, "\n") {
				if g = strings.TrimSpace(g); g != "" {
					goals = append(goals, g)
				}
			}
			body[f] = goals
		case f == "step":
			n, err := strconv.Atoi(v)
			if err != nil {
				s.showParticipant(c, http.StatusUnprocessableEntity, action, values, map[string]string{f: s.i18n.text(s.i18n.language(c), "NotANumber")}, "")
				return
			}
			body[f] = n
		case timeFields[f] && !(action == "plan" && f == "from"):
			body[f] = localTime(v)
		default:
			body[f] = v
		}
	}
	if action == "plan" {
		if _, ok := body["subGoals"]; !ok {
			body["subGoals"] = []string{}
		}
		body["weeklySchedule"] = []map[string]string{}
		if values["day"] != "" || values["from"] != "" || values["to"] != "" {
			body["weeklySchedule"] = []map[string]string{{"day": values["day"], "from": values["from"], "to": values["to"]}}
		}
	}
	err := s.call(c.Request.Context(), who(c), "POST", "/v1/participants/"+url.PathEscape(id)+"/"+action, body, nil)
	var f *apiFailure
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/participants/"+url.PathEscape(id)+"?done="+action+"#timeline")
	case errors.As(err, &f) && (f.Status == http.StatusUnprocessableEntity || f.Status == http.StatusBadRequest || f.Status == http.StatusConflict):
		errs := f.Fields(s.i18n, s.i18n.language(c))
		if len(errs) == 0 {
			errs["_form"] = f.Error()
		}
		s.showParticipant(c, f.Status, action, values, errs, "")
	default:
		s.failed(c, err)
	}
}

// localTime turns a datetime-local value ("2026-11-23T09:30") into a time with the
// Stockholm offset, which the API wants; a date passes as it is.
func localTime(v string) string {
	if t, err := time.ParseInLocation("2006-01-02T15:04", v, calendar.Stockholm); err == nil {
		return t.Format(time.RFC3339)
	}
	return v
}
