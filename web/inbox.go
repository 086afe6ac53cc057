package web

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/stegvis/stegvis/store"
)

func (s *site) inbox(c *gin.Context) {
	var out struct {
		Notifications []store.InboxItem `json:"notifications"`
	}
	status := "all"
	if c.Query("unread") == "1" {
		status = "unread"
	}
	if !who(c).Has("guide", "team_lead", "unit_manager", "case_worker", "admin") {
		s.render(c, http.StatusOK, "inbox", page{Title: s.i18n.text(s.i18n.language(c), "Inbox"), Data: out.Notifications})
		return
	}
	if err := s.call(c.Request.Context(), who(c), "GET", "/v1/notifications?status="+status, nil, &out); err != nil {
		s.failed(c, err)
		return
	}
	s.render(c, http.StatusOK, "inbox", page{Title: s.i18n.text(s.i18n.language(c), "Inbox"), Data: out.Notifications})
}

func (s *site) markRead(c *gin.Context) {
	if err := s.call(c.Request.Context(), who(c), "POST", "/v1/notifications/"+url.PathEscape(c.Param("number"))+"/read", nil, nil); err != nil {
		s.failed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/inbox")
}
