package control

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/uvs-lb/uvs/conf"
)

// editHandlers registers the endpoints that export and change the running configuration.
func (s *API) editHandlers(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/toml")
		w.Write(conf.Export(s.o.Appliance.Config()))
	})
	mux.HandleFunc("POST /v1/edit", func(w http.ResponseWriter, r *http.Request) {
		var edits []Edit
		if !readJSON(w, r, &edits) {
			return
		}
		if err := s.edit(edits); err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, struct{}{})
	})
}

// edit applies edits to a copy of the running configuration, checks the result as a file
// is checked, and reloads the appliance with it: all of them or none.
func (s *API) edit(edits []Edit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.o.Appliance
	c := a.Config().Clone()
	for i := range edits {
		if err := applyEdit(c, &edits[i]); err != nil {
			if len(edits) > 1 {
				return fmt.Errorf("edit %d (%s): %w", i+1, edits[i].Op, err)
			}
			return err
		}
	}
	pruneMarks(c)
	nc, err := conf.Recheck("running configuration", c)
	if err != nil {
		return err
	}
	return a.Reload(nc)
}

func applyEdit(c *conf.Config, e *Edit) error {
	switch e.Op {
	case OpAddService, OpEditService, OpDeleteService:
		if e.Service == nil {
			return errors.New("no service given")
		}
		if e.Op == OpDeleteService {
			sc, err := serviceConfigOf(&e.Service.ServiceKey)
			if err != nil {
				return err
			}
			return c.DeleteService(sc)
		}
		sc, err := serviceOf(e.Service)
		if err != nil {
			return err
		}
		if e.Op == OpAddService {
			return c.AddService(sc)
		}
		return c.EditService(sc)
	case OpAddServer, OpEditServer, OpDeleteServer:
		if e.Server == nil {
			return errors.New("no real server given")
		}
		svc, err := serviceConfigOf(&e.Server.Service)
		if err != nil {
			return err
		}
		if e.Op == OpDeleteServer {
			return c.DeleteServer(svc, e.Server.Addr.Unmap(), e.Server.Port)
		}
		rs, err := serverOf(e.Server)
		if err != nil {
			return err
		}
		if e.Op == OpAddServer {
			return c.AddServer(svc, rs)
		}
		return c.EditServer(svc, rs)
	case OpClear:
		c.ClearServices()
		return nil
	case OpSetTimeouts:
		if e.Timeouts == nil {
			return errors.New("no timeouts given")
		}
		t := e.Timeouts
		c.SetTimeouts(time.Duration(t.TCP)*time.Second, time.Duration(t.TCPFin)*time.Second, time.Duration(t.UDP)*time.Second)
		return nil
	}
	return fmt.Errorf("unknown edit %q", e.Op)
}

// pruneMarks drops the [[mark]] rules whose mark no service uses any more (after ipvsadm -D
// of a firewall-mark service, or -C): the configuration refuses a rule that marks for
// nothing, and a rule without its service has nothing left to do.
func pruneMarks(c *conf.Config) {
	used := map[uint32]bool{}
	for i := range c.Services {
		used[c.Services[i].Mark] = true
	}
	kept := c.Marks[:0]
	for _, m := range c.Marks {
		if used[m.Mark] {
			kept = append(kept, m)
		}
	}
	c.Marks = kept
}
