package hub

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// siteRoutes mounts the site API: the registered sites and their time
// zones, in which users' start and end dates sent as calendar days are
// read (hub/lifecycle dates.go). Admin only (s.admin: an admin token or a
// console admin's session; a supervisor's session is 403).
func (s *Server) siteRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/sites", s.admin(s.apiListSites))
	mux.Handle("PUT /api/v1/sites/{name}", s.admin(s.apiPutSite))
}

// apiSite is a site as the API shows it.
type apiSite struct {
	Name     string    `json:"name"`
	TimeZone string    `json:"timeZone"`
	Created  time.Time `json:"created"`
}

func toAPISite(st store.Site) apiSite {
	return apiSite{Name: st.Name, TimeZone: st.TimeZone, Created: st.Created}
}

// apiListSites lists the registered sites by name.
func (s *Server) apiListSites(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	sites, err := s.st.ListSites(r.Context())
	if err != nil {
		return err
	}
	out := make([]apiSite, 0, len(sites))
	for _, st := range sites {
		out = append(out, toAPISite(st))
	}
	writeAPIJSON(w, http.StatusOK, map[string]any{"sites": out})
	return nil
}

// errSiteZone says what a PUT of a site takes.
var errSiteZone = errors.New(`send {"timeZone": ZONE}: the site's IANA time zone name, such as Europe/Berlin or America/Los_Angeles (UTC for UTC)`)

// apiPutSite registers the site named in the path with the body's time
// zone, {"timeZone": "Europe/Berlin"} (201), or changes the zone of the
// registered site of that name, compared case-insensitively (200). Either
// way the users of the site with calendar-day dates are redated and the
// live sessions at its kiosks decided again, in one step (see
// lifecycle.Engine.PutSite); the reply counts what moved. A zone that is
// not an IANA name is 400 and changes nothing.
func (s *Server) apiPutSite(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var req struct {
		TimeZone *string `json:"timeZone"`
	}
	if !readAPIJSON(w, r, apiBodyLimit, &req) {
		return nil
	}
	name := r.PathValue("name")
	if strings.TrimSpace(name) == "" {
		return errors.Join(errBadRequest, errors.New("name the site in the path: PUT /api/v1/sites/NAME"))
	}
	if req.TimeZone == nil || strings.TrimSpace(*req.TimeZone) == "" {
		// Not UTC by default: a misnamed field must not move every date.
		return errors.Join(errBadRequest, errSiteZone)
	}
	// Only a new name is held to store.Hidden: a site registered before
	// the rule refused a character its name holds (a variation selector)
	// keeps its name, and its time zone can still be changed.
	newName := true
	if strings.ContainsFunc(name, store.Hidden) {
		switch _, err := s.st.GetSiteByName(r.Context(), strings.TrimSpace(name)); {
		case err == nil:
			newName = false
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	if err := errors.Join(checkText("site name", name, newName), checkText("timeZone", *req.TimeZone, true)); err != nil {
		return err
	}
	ch, err := s.engine.PutSite(r.Context(), a, lifecycle.SiteZone{Name: name, TimeZone: *req.TimeZone})
	if err != nil {
		return err
	}
	out := struct {
		apiSite
		PreviousTimeZone *string `json:"previousTimeZone,omitempty"`
		UsersRedated     int     `json:"usersRedated"`
		SessionsEnded    int     `json:"sessionsEnded"`
	}{apiSite: toAPISite(ch.Site), UsersRedated: len(ch.UsersRedated), SessionsEnded: len(ch.SessionsEnded)}
	status := http.StatusCreated
	if !ch.Created {
		status, out.PreviousTimeZone = http.StatusOK, &ch.Before
	}
	writeAPIJSON(w, status, out)
	return nil
}
